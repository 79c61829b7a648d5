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
  bool substituted = !status.has_argument();
  for (const char* p = status.message(); *p != '\0'; ++p) {
    if (!substituted && p[0] == '{' && p[1] == '}') {
      AppendDecimal(status.argument());
      substituted = true;
      ++p;
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
