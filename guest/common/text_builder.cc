#include "instar/guest/text_builder.h"

namespace instar::guest {

TextBuilder& TextBuilder::Append(const char* text, size_t length) {
  for (size_t i = 0; i < length && length_ + 1 < capacity_; ++i) buffer_[length_++] = text[i];
  buffer_[length_] = '\0';
  return *this;
}

TextBuilder& TextBuilder::Append(const char* text) {
  while (*text != '\0' && length_ + 1 < capacity_) buffer_[length_++] = *text++;
  buffer_[length_] = '\0';
  return *this;
}

TextBuilder& TextBuilder::Append(const Status& status) {
  char text[256];
  const size_t length = FormatStatusMessage(status, text, sizeof(text));
  return Append(text, length);
}

TextBuilder& TextBuilder::AppendDecimal(uint64_t value) {
  char digits[20];
  size_t count = 0;
  do {
    digits[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  char ordered[20];
  for (size_t i = 0; i < count; ++i) ordered[i] = digits[count - 1 - i];
  return Append(ordered, count);
}

size_t BoundedLength(const char* text, size_t max) {
  size_t n = 0;
  while (n < max && text[n] != '\0') ++n;
  return n;
}

}  // namespace instar::guest
