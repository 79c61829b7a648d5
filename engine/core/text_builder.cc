#include "instar/engine/text_builder.h"

namespace instar {

TextBuilder& TextBuilder::Append(char c) {
  ++needed_;
  if (length_ + 1 < capacity_) {
    buffer_[length_++] = c;
    buffer_[length_] = '\0';
  }
  return *this;
}

TextBuilder& TextBuilder::Append(const char* text, size_t length) {
  for (size_t i = 0; i < length; ++i) Append(text[i]);
  return *this;
}

TextBuilder& TextBuilder::Append(const char* text) {
  for (; *text != '\0'; ++text) Append(*text);
  return *this;
}

TextBuilder& TextBuilder::AppendDecimal(uint64_t value) {
  char digits[20];
  size_t count = 0;
  do {
    digits[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (count > 0) Append(digits[--count]);
  return *this;
}

TextBuilder& TextBuilder::AppendHex(uint64_t value) {
  if (value != 0) Append("0x");
  return AppendHexDigits(value);
}

TextBuilder& TextBuilder::AppendHexDigits(uint64_t value) {
  char digits[16];
  size_t count = 0;
  do {
    const uint32_t d = static_cast<uint32_t>(value & 0xf);
    digits[count++] = static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
    value >>= 4;
  } while (value != 0);
  while (count > 0) Append(digits[--count]);
  return *this;
}

TextBuilder& TextBuilder::Append(const Status& status) {
  // Placeholders are filled in order from the numbers With() gave; the
  // text of "{s}" does not take a number. One without a value stays as
  // it is.
  const uint64_t numbers[] = {status.argument(), status.second_argument()};
  size_t next = 0;
  const size_t count = !status.has_argument() ? 0 : (status.has_second_argument() ? 2 : 1);
  for (const char* p = status.message(); *p != '\0'; ++p) {
    if (p[0] == '{' && p[1] == 's' && p[2] == '}' && status.has_text()) {
      Append(status.text(), status.text_length());
      p += 2;
      continue;
    }
    if (p[0] == '{' && p[1] == '}' && next < count) {
      const uint64_t value = numbers[next];
      if (next == 0 && status.argument_signed() && static_cast<int64_t>(value) < 0) {
        Append('-');
        AppendDecimal(~value + 1);
      } else {
        AppendDecimal(value);
      }
      ++next;
      ++p;
      continue;
    }
    if (p[0] == '{' && p[1] == 'x' && p[2] == '}' && next < count) {
      AppendHexDigits(numbers[next]);
      ++next;
      p += 2;
      continue;
    }
    Append(*p);
  }
  return *this;
}

size_t BoundedLength(const char* text, size_t max) {
  size_t n = 0;
  while (n < max && text[n] != '\0') ++n;
  return n;
}

}  // namespace instar
