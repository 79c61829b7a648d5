#include "vmdk/vmdk_text.h"

#include "instar/engine/bytes.h"

namespace instar::vmdk {

void TextSource::Fill(uint64_t i) {
  window_start_ = AlignDown(i, kWindowBytes);
  window_length_ = 0;
  if (!status_.ok()) return;
  uint64_t n = length_ - window_start_;
  if (n > kWindowBytes) n = kWindowBytes;
  uint64_t file_offset;
  if (!CheckedAdd(offset_, window_start_, &file_offset)) {
    status_ = Status::Corruption("vmdk descriptor offset overflows");
    return;
  }
  Status read = device_->Read(file_offset, window_, static_cast<size_t>(n));
  if (!read.ok()) {
    status_ = read;
    return;
  }
  window_length_ = n;
}

uint64_t TextSource::StrLen() {
  if (!have_strlen_) {
    uint64_t i = 0;
    while (i < length_ && At(i) != 0) ++i;
    strlen_ = i;
    have_strlen_ = true;
  }
  return strlen_;
}

uint64_t FindText(TextSource& text, uint64_t from, uint64_t end, const char* needle,
                  size_t needle_length) {
  if (end < needle_length) return kNotFound;
  for (uint64_t i = from; i + needle_length <= end; ++i) {
    size_t k = 0;
    while (k < needle_length && text.At(i + k) == static_cast<uint8_t>(needle[k])) ++k;
    if (k == needle_length) return i;
  }
  return kNotFound;
}

uint64_t NextLine(TextSource& text, uint64_t pos, uint64_t end) {
  while (pos < end) {
    if (text.At(pos) == '\n') return pos + 1;
    ++pos;
  }
  return end;
}

namespace {

int HexDigit(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

size_t PrintHex32(uint32_t value, char* out) {
  char reversed[8];
  size_t digits = 0;
  do {
    reversed[digits++] = "0123456789abcdef"[value & 0xf];
    value >>= 4;
  } while (value != 0);
  for (size_t i = 0; i < digits; ++i) out[i] = reversed[digits - 1 - i];
  return digits;
}

bool ScanHex32(TextSource& text, uint64_t pos, uint64_t end, uint32_t* out) {
  while (pos < end && IsCSpace(text.At(pos))) ++pos;
  bool negative = false;
  if (pos < end && (text.At(pos) == '+' || text.At(pos) == '-')) {
    negative = text.At(pos) == '-';
    ++pos;
  }
  uint64_t value = 0;
  bool any = false;
  bool saturated = false;
  if (pos < end && text.At(pos) == '0') {
    any = true;
    ++pos;
    if (pos < end && (text.At(pos) == 'x' || text.At(pos) == 'X')) ++pos;
  }
  while (pos < end && HexDigit(text.At(pos)) >= 0) {
    any = true;
    const uint64_t digit = static_cast<uint64_t>(HexDigit(text.At(pos)));
    if (value > (UINT64_MAX - digit) / 16) saturated = true;
    if (!saturated) value = value * 16 + digit;
    ++pos;
  }
  if (!any) return false;
  if (saturated) {
    value = UINT64_MAX;  // strtoul's ULONG_MAX, whatever the sign
  } else if (negative) {
    value = 0 - value;
  }
  *out = static_cast<uint32_t>(value);
  return true;
}

uint64_t ExtentLineScanner::SkipSpace(TextSource& text, uint64_t pos, uint64_t end) {
  if (pos >= space_run_start_ && pos < space_run_end_) return space_run_end_;
  const uint64_t start = pos;
  while (pos < end && IsCSpace(text.At(pos))) ++pos;
  if (pos > start) {
    space_run_start_ = start;
    space_run_end_ = pos;
  }
  return pos;
}

ExtentLine ExtentLineScanner::Scan(TextSource& text, uint64_t pos, uint64_t end) {
  pos = SkipSpace(text, pos, end);
  if (have_memo_ && memo_start_ == pos) return memo_;
  const uint64_t first_word = pos;
  ExtentLine line;

  // Each step returns the line as far as it matched, like sscanf.
  auto finish = [&](int matches) {
    line.matches = matches;
    have_memo_ = true;
    memo_start_ = first_word;
    memo_ = line;
    return line;
  };
  // %10s after its leading whitespace skip (already done by the caller).
  auto scan_word = [&](char* word) {
    size_t n = 0;
    while (n < 10 && pos < end && !IsCSpace(text.At(pos)))
      word[n++] = static_cast<char>(text.At(pos++));
    word[n] = '\0';
  };
  // %lld; false on a matching failure.
  auto scan_int64 = [&](int64_t* out) {
    bool negative = false;
    if (text.At(pos) == '+' || text.At(pos) == '-') {
      negative = text.At(pos) == '-';
      ++pos;
    }
    if (pos >= end || text.At(pos) < '0' || text.At(pos) > '9') return false;
    uint64_t magnitude = 0;
    const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
    while (pos < end && text.At(pos) >= '0' && text.At(pos) <= '9') {
      const uint64_t digit = text.At(pos) - '0';
      if (magnitude > (limit - digit) / 10) {
        magnitude = limit;  // strtoll saturates
      } else {
        magnitude = magnitude * 10 + digit;
      }
      ++pos;
    }
    *out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
    return true;
  };

  if (pos >= end) return finish(-1);
  scan_word(line.access);
  pos = SkipSpace(text, pos, end);
  if (pos >= end || !scan_int64(&line.sectors)) return finish(1);
  pos = SkipSpace(text, pos, end);
  if (pos >= end) return finish(2);
  scan_word(line.type);
  pos = SkipSpace(text, pos, end);
  if (pos >= end || text.At(pos) != '"') return finish(3);
  ++pos;
  line.name_start = pos;
  while (line.name_length < 511 && pos < end) {
    const uint8_t c = text.At(pos);
    if (c == '\n' || c == '\r' || c == '"') break;
    ++line.name_length;
    ++pos;
  }
  if (line.name_length == 0) return finish(3);
  if (pos >= end || text.At(pos) != '"') return finish(4);
  ++pos;
  pos = SkipSpace(text, pos, end);
  if (pos >= end || !scan_int64(&line.flat_offset)) return finish(4);
  return finish(5);
}

}  // namespace instar::vmdk
