// Status and Result<T>: how every engine and guest function reports failure.
//
// The engine runs freestanding (no exceptions, no heap), so errors are values.
// A Status is a code from a small set plus a message a user can act on
// ("not a vhdx image (bad signature)"). Messages are string literals with
// static storage: a Status never owns memory and is cheap to copy. A message
// may carry one number, given with With(): the first "{}" in the literal
// stands for it, and FormatStatusMessage() writes the finished text
// ("Unsupported qcow2 version {}" with 4 -> "Unsupported qcow2 version 4");
// With(a, b) gives two, "{x}" prints one in hex and WithText() gives the
// text of a "{s}": enough to say what qemu says with a printf format.
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

// The errno of a qemu driver that fails with a bare error number and no
// message of its own: qemu then says "Could not open '<file>': <strerror>"
// (bdrv_open_driver()), and instar, to say the same, marks its Status with
// the errno (Status::QemuErrno()); the Status keeps instar's own message
// for logs and tests.
enum class QemuErrno : uint8_t {
  kNone = 0,
  kEPERM,    // Operation not permitted
  kEIO,      // Input/output error
  kENOMEM,   // Cannot allocate memory
  kEINVAL,   // Invalid argument
  kEFBIG,    // File too large
  kENOTSUP,  // Operation not supported
};

// strerror() of `error` as glibc words it ("Invalid argument"); "" for kNone.
const char* QemuErrnoText(QemuErrno error);

// strerror(error_number) as glibc words it; nullptr for a number glibc
// has no name for (engine/core/strerror.cc).
const char* GlibcStrError(int error_number);
class TextBuilder;
// GlibcStrError(), or glibc's "Unknown error N" for a number it has no
// name for.
void AppendStrError(TextBuilder& w, int error_number);

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

  // This status with `argument` for the first placeholder of its message,
  // and `second` for the second. A placeholder is "{}" (decimal), "{x}"
  // (hex without "0x", as "%" PRIx64) or "{s}" (the text of WithText()).
  constexpr Status With(uint64_t argument) const {
    Status s = *this;
    s.argument_ = argument;
    s.has_argument_ = true;
    return s;
  }
  constexpr Status With(uint64_t argument, uint64_t second) const {
    Status s = With(argument);
    s.second_argument_ = second;
    s.has_second_argument_ = true;
    return s;
  }
  // The same with a signed first argument, for a value qemu prints as a C
  // int or int64_t ("Max Table Entries too large (-1)").
  constexpr Status WithSigned(int64_t argument) const {
    Status s = With(static_cast<uint64_t>(argument));
    s.argument_signed_ = true;
    return s;
  }
  // `text` (not NUL-terminated) for the "{s}" of the message: a name the
  // image gave ("Bitmap 'b0' doesn't satisfy the constraints"). The text is
  // not copied: it must outlive the Status. For a QemuErrno() status the
  // text is instead the line qemu's driver printed (error_report()) before
  // it failed, printed before the "Could not open" line.
  constexpr Status WithText(const char* text, size_t length) const {
    Status s = *this;
    s.text_ = text;
    s.text_length_ = text != nullptr ? length : 0;
    return s;
  }
  // WithText() of a copy of `text`, cut at kMaxCopiedText bytes, for text
  // whose memory is about to be reused (a reader's buffer, an arena a
  // failed open gives back). The copy lives in one static buffer: only the
  // latest copied text is kept, enough for the one error an operation
  // reports (the engine runs one operation at a time).
  Status WithTextCopy(const char* text, size_t length) const;
  static constexpr size_t kMaxCopiedText = 1024;
  // This status as qemu's driver fails: with `error` and no message.
  constexpr Status QemuErrno(::instar::QemuErrno error) const {
    Status s = *this;
    s.qemu_errno_ = error;
    return s;
  }

  constexpr bool ok() const { return code_ == StatusCode::kOk; }
  constexpr StatusCode code() const { return code_; }
  // The literal, never null ("" for Ok); may hold a "{}" placeholder.
  constexpr const char* message() const { return message_; }
  constexpr bool has_argument() const { return has_argument_; }
  constexpr uint64_t argument() const { return argument_; }
  constexpr bool argument_signed() const { return argument_signed_; }
  constexpr bool has_second_argument() const { return has_second_argument_; }
  constexpr uint64_t second_argument() const { return second_argument_; }
  constexpr bool has_text() const { return text_ != nullptr; }
  constexpr const char* text() const { return text_ != nullptr ? text_ : ""; }
  constexpr size_t text_length() const { return text_length_; }
  // kNone unless QemuErrno() marked it.
  constexpr ::instar::QemuErrno qemu_errno() const { return qemu_errno_; }

  constexpr Status(StatusCode code, const char* message)
      : code_(code), message_(message != nullptr ? message : "") {}

 private:
  StatusCode code_ = StatusCode::kOk;
  bool has_argument_ = false;
  bool argument_signed_ = false;
  bool has_second_argument_ = false;
  ::instar::QemuErrno qemu_errno_ = ::instar::QemuErrno::kNone;
  const char* message_ = "";
  uint64_t argument_ = 0;
  uint64_t second_argument_ = 0;
  const char* text_ = nullptr;
  size_t text_length_ = 0;
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
