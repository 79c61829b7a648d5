// TextBuilder: builds a message in a fixed buffer, freestanding.
//
// Operations compose the one line the user sees ("Could not open 'x': ...")
// here. Appends past the capacity are cut off, never written out of
// bounds; the text is always NUL-terminated.
#ifndef INSTAR_GUEST_TEXT_BUILDER_H_
#define INSTAR_GUEST_TEXT_BUILDER_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/status.h"

namespace instar::guest {

class TextBuilder {
 public:
  // `capacity` includes the terminating NUL and must be at least 1.
  TextBuilder(char* buffer, size_t capacity) : buffer_(buffer), capacity_(capacity) {
    buffer_[0] = '\0';
  }

  TextBuilder& Append(const char* text);
  TextBuilder& Append(const char* text, size_t length);
  TextBuilder& AppendDecimal(uint64_t value);
  // The message of `status`, its argument in place of "{}".
  TextBuilder& Append(const Status& status);

  void Clear() {
    length_ = 0;
    buffer_[0] = '\0';
  }
  const char* c_str() const { return buffer_; }
  size_t length() const { return length_; }
  bool empty() const { return length_ == 0; }

 private:
  char* buffer_;
  size_t capacity_;
  size_t length_ = 0;
};

// Length of a NUL-terminated string, reading at most `max` bytes.
size_t BoundedLength(const char* text, size_t max);

}  // namespace instar::guest

#endif  // INSTAR_GUEST_TEXT_BUILDER_H_
