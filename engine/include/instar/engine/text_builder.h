// TextBuilder: text composed in a fixed buffer, freestanding.
//
// Every message the engine and the guest spell out goes through here: the
// text of a Status, qemu-img's error lines for measure, qemu's qcow2
// corruption events, and the one line a guest operation leaves for the user
// ("Could not open 'x': ..."). There is no heap and no C library to lean
// on, and the buffer is whatever the caller has.
//
// Appends past the capacity are cut off, never written out of bounds, and
// the text is NUL-terminated whenever the buffer has room for the NUL
// (capacity > 0; the buffer may be null when the capacity is 0). length()
// is what the buffer holds; needed() is what was appended, cut or not, like
// snprintf's return value, so a first pass with capacity 0 sizes a buffer.
#ifndef INSTAR_ENGINE_TEXT_BUILDER_H_
#define INSTAR_ENGINE_TEXT_BUILDER_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/status.h"

namespace instar {

class TextBuilder {
 public:
  // `capacity` includes the terminating NUL.
  TextBuilder(char* buffer, size_t capacity) : buffer_(buffer), capacity_(capacity) {
    if (capacity_ > 0) buffer_[0] = '\0';
  }
  TextBuilder(const TextBuilder&) = delete;
  TextBuilder& operator=(const TextBuilder&) = delete;

  TextBuilder& Append(char c);
  // A NUL-terminated string.
  TextBuilder& Append(const char* text);
  TextBuilder& Append(const char* text, size_t length);
  // `value` in decimal ("%" PRIu64).
  TextBuilder& AppendDecimal(uint64_t value);
  // `value` as printf's "%#" PRIx64 writes it: "0x1f", and "0" for zero.
  TextBuilder& AppendHex(uint64_t value);
  // `value` in lowercase hex without a prefix ("%" PRIx64).
  TextBuilder& AppendHexDigits(uint64_t value);
  // The message of `status` with its placeholders filled (status.h).
  TextBuilder& Append(const Status& status);

  void Clear() {
    length_ = 0;
    needed_ = 0;
    if (capacity_ > 0) buffer_[0] = '\0';
  }
  // The text; "" when the capacity is 0.
  const char* c_str() const { return capacity_ > 0 ? buffer_ : ""; }
  size_t length() const { return length_; }
  size_t needed() const { return needed_; }
  bool empty() const { return length_ == 0; }

 private:
  char* buffer_;
  size_t capacity_;
  size_t length_ = 0;  // written, below capacity_
  size_t needed_ = 0;  // appended
};

// Length of a NUL-terminated string, reading at most `max` bytes.
size_t BoundedLength(const char* text, size_t max);

}  // namespace instar

#endif  // INSTAR_ENGINE_TEXT_BUILDER_H_
