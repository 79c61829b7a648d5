// Status and Result<T>: how every engine and guest function reports failure.
//
// The engine runs freestanding (no exceptions, no heap), so errors are values.
// A Status is a code from a small set plus a message a user can act on
// ("not a vhdx image (bad signature)"). Messages are string literals with
// static storage: a Status never owns memory and is cheap to copy. A message
// may carry one number, given with With(): the first "{}" in the literal
// stands for it, and FormatStatusMessage() writes the finished text
// ("Unsupported qcow2 version {}" with 4 -> "Unsupported qcow2 version 4").
//
// Both types are [[nodiscard]]: ignoring one is a compile error under -Werror.
// Use INSTAR_RETURN_IF_ERROR and INSTAR_ASSIGN_OR_RETURN to propagate.
#ifndef INSTAR_ENGINE_STATUS_H_
#define INSTAR_ENGINE_STATUS_H_

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

namespace instar {

enum class StatusCode : uint8_t {
  kOk = 0,
  kCorruption = 1,       // the image contradicts its own format
  kNotSupported = 2,     // valid, but a feature we do not handle
  kInvalidArgument = 3,  // the caller asked for something impossible
  kIOError = 4,          // the host could not serve a call
  kOutOfRange = 5,       // a value or offset beyond a hard limit
  kNoSpace = 6,          // the arena or a result buffer is full
};

// The code's name as printed in logs and tests ("Corruption").
const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  constexpr Status() = default;

  static constexpr Status Ok() { return Status(); }
  static constexpr Status Corruption(const char* message) {
    return Status(StatusCode::kCorruption, message);
  }
  static constexpr Status NotSupported(const char* message) {
    return Status(StatusCode::kNotSupported, message);
  }
  static constexpr Status InvalidArgument(const char* message) {
    return Status(StatusCode::kInvalidArgument, message);
  }
  static constexpr Status IOError(const char* message) {
    return Status(StatusCode::kIOError, message);
  }
  static constexpr Status OutOfRange(const char* message) {
    return Status(StatusCode::kOutOfRange, message);
  }
  static constexpr Status NoSpace(const char* message) {
    return Status(StatusCode::kNoSpace, message);
  }

  // This status with `argument` for the "{}" of its message.
  constexpr Status With(uint64_t argument) const {
    Status s = *this;
    s.argument_ = argument;
    s.has_argument_ = true;
    return s;
  }

  constexpr bool ok() const { return code_ == StatusCode::kOk; }
  constexpr StatusCode code() const { return code_; }
  // The literal, never null ("" for Ok); may hold a "{}" placeholder.
  constexpr const char* message() const { return message_; }
  constexpr bool has_argument() const { return has_argument_; }
  constexpr uint64_t argument() const { return argument_; }

  constexpr Status(StatusCode code, const char* message)
      : code_(code), message_(message != nullptr ? message : "") {}

 private:
  StatusCode code_ = StatusCode::kOk;
  bool has_argument_ = false;
  const char* message_ = "";
  uint64_t argument_ = 0;
};

// Writes the message of `status` into `out` (capacity `size` > 0, always
// NUL-terminated, cut short when too long), with its argument in decimal
// in place of the first "{}". Returns the length written.
size_t FormatStatusMessage(const Status& status, char* out, size_t size);

// Either a T or a non-ok Status. T is stored inline; there is no allocation.
template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_reference_v<T>, "Result<T&> is not supported; use Result<T*>");

 public:
  // Implicit on purpose: `return value;` and `return Status::Corruption(...)`.
  constexpr Result(const T& value) : has_value_(true) { new (&value_) T(value); }
  constexpr Result(T&& value) : has_value_(true) { new (&value_) T(std::move(value)); }
  constexpr Result(Status status) : status_(status) {
    if (status_.ok()) status_ = Status(StatusCode::kInvalidArgument, "ok status without a value");
  }

  Result(const Result& other) : status_(other.status_), has_value_(other.has_value_) {
    if (has_value_) new (&value_) T(other.value_);
  }
  Result& operator=(const Result&) = delete;
  ~Result() {
    if (has_value_) value_.~T();
  }

  constexpr bool ok() const { return has_value_; }
  constexpr Status status() const { return status_; }

  // Only valid when ok().
  T& value() & { return value_; }
  const T& value() const& { return value_; }
  T&& value() && { return std::move(value_); }
  T* operator->() { return &value_; }
  const T* operator->() const { return &value_; }
  T& operator*() & { return value_; }
  const T& operator*() const& { return value_; }

 private:
  Status status_;
  bool has_value_ = false;
  union {
    T value_;
  };
};

}  // namespace instar

#define INSTAR_STATUS_CONCAT_INNER_(a, b) a##b
#define INSTAR_STATUS_CONCAT_(a, b) INSTAR_STATUS_CONCAT_INNER_(a, b)

// Returns the Status of `expr` from the enclosing function when it is not ok.
#define INSTAR_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    const ::instar::Status instar_status_ = (expr);  \
    if (!instar_status_.ok()) return instar_status_; \
  } while (0)

// `INSTAR_ASSIGN_OR_RETURN(auto x, ComputeX());` declares x from a Result, or
// returns its Status from the enclosing function.
#define INSTAR_ASSIGN_OR_RETURN(lhs, expr) \
  INSTAR_ASSIGN_OR_RETURN_IMPL_(INSTAR_STATUS_CONCAT_(instar_result_, __LINE__), lhs, expr)
#define INSTAR_ASSIGN_OR_RETURN_IMPL_(result, lhs, expr) \
  auto result = (expr);                                  \
  if (!result.ok()) return result.status();              \
  lhs = std::move(result).value()

#endif  // INSTAR_ENGINE_STATUS_H_
