// qemu-img's words for every refusal of measure, assembled without a C
// library. Each line that qemu prints through error_report() starts with
// "qemu-img: "; hints (error_append_hint) do not.
#include "instar/engine/measure.h"
#include "measure/measure_internal.h"

namespace instar {

namespace {

class Writer {
 public:
  Writer(char* out, size_t capacity) : out_(out), capacity_(capacity) {}

  void Put(char c) {
    if (length_ + 1 < capacity_) out_[length_] = c;
    ++length_;
  }
  void Put(const char* text) {
    for (; *text != '\0'; ++text) Put(*text);
  }
  void Put(MeasureText text) {
    for (size_t i = 0; i < text.length; ++i) Put(text.data[i]);
  }
  void PutNumber(uint64_t value) {
    char digits[20];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    while (n > 0) Put(digits[--n]);
  }
  // "qemu-img: " + the pieces + "\n"
  template <typename... Pieces>
  void Line(Pieces... pieces) {
    Put("qemu-img: ");
    (Put(pieces), ...);
    Put('\n');
  }

  size_t Finish() {
    if (capacity_ > 0) out_[length_ < capacity_ ? length_ : capacity_ - 1] = '\0';
    return length_;
  }

 private:
  char* out_;
  size_t capacity_;
  size_t length_ = 0;
};

MeasureText FormatName(const MeasureError& error) {
  const char* name = ImageFormatName(error.target);
  size_t n = 0;
  while (name[n] != '\0') ++n;
  return MeasureText{name, n};
}

// strerror() of the errno qemu would have seen for an engine failure.
const char* ErrnoText(StatusCode code) {
  switch (code) {
    case StatusCode::kNotSupported:
      return "Operation not supported";
    case StatusCode::kNoSpace:
      return "Cannot allocate memory";
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return "Invalid argument";
    default:
      return "Input/output error";
  }
}

void InvalidOptions(Writer& w, const MeasureError& error) {
  w.Line("Invalid options for file format '", FormatName(error), "'");
}

}  // namespace

size_t FormatMeasureError(const MeasureError& error, char* out, size_t capacity) {
  Writer w(out, capacity);
  const MeasureText s = error.subject;
  const MeasureText v = error.value;
  switch (error.kind) {
    case MeasureErrorKind::kNone:
      break;
    case MeasureErrorKind::kInvalidOptionList:
      w.Line("Invalid option list: ", s);
      break;
    case MeasureErrorKind::kImageSizeSyntax:
      if (!error.version.AtLeast(8, 0)) {
        w.Line("Invalid image size specified. You may use k, M, G, T, P or E suffixes for");
        w.Line("kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
      } else if (!error.version.AtLeast(10, 1)) {
        w.Line("Invalid image size specified: '", s, "'.");
      } else {
        w.Line("Invalid image size specified: '", s, "'");
      }
      break;
    case MeasureErrorKind::kImageSizeRange:
      w.Line("Invalid image size specified. Must be between 0 and 9223372036854775807.");
      break;
    case MeasureErrorKind::kUnknownFormat:
      w.Line("Unknown file format '", s, "'");
      break;
    case MeasureErrorKind::kNoImageCreation:
      w.Line("Format driver '", FormatName(error), "' does not support image creation");
      break;
    case MeasureErrorKind::kInvalidParameter:
      w.Line("Invalid parameter '", s, "'");
      InvalidOptions(w, error);
      break;
    case MeasureErrorKind::kExpectsBool:
      w.Line("Parameter '", s, "' expects 'on' or 'off'");
      InvalidOptions(w, error);
      break;
    case MeasureErrorKind::kExpectsNumber:
      w.Line("Parameter '", s, "' expects a number");
      InvalidOptions(w, error);
      break;
    case MeasureErrorKind::kNumberTooLarge:
      w.Line("Value '", v, "' is too large for parameter '", s, "'");
      InvalidOptions(w, error);
      break;
    case MeasureErrorKind::kExpectsSize:
      w.Line("Parameter '", s, "' expects a non-negative number below 2^64");
      w.Put(
          "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
          "and exabytes, respectively.\n");
      InvalidOptions(w, error);
      break;
    case MeasureErrorKind::kSizeOutOfRange:
      w.Line("Value '", v, "' is out of range for parameter '", s, "'");
      InvalidOptions(w, error);
      break;
    case MeasureErrorKind::kMeasureUnsupported:
      w.Line("Block driver '", FormatName(error), "' does not support size measurement");
      break;
    case MeasureErrorKind::kClusterSize:
      w.Line("Cluster size must be a power of two between 512 and 2048k");
      break;
    case MeasureErrorKind::kExtendedL2ClusterSize:
      w.Line("Extended L2 entries are only supported with cluster sizes of at least 16384 bytes");
      break;
    case MeasureErrorKind::kCompatLevel:
      w.Line("Invalid compatibility level: '", v, "'");
      break;
    case MeasureErrorKind::kRefcountWidth:
      w.Line("Refcount width must be a power of two and may not exceed 64 bits");
      break;
    case MeasureErrorKind::kRefcountNeedsV3:
      w.Line(
          "Different refcount widths than 16 bits require compatibility level 1.1 or above "
          "(use compat=1.1 or greater)");
      break;
    case MeasureErrorKind::kInvalidEnumValue:
      w.Line("invalid parameter value: ", v);
      break;
    case MeasureErrorKind::kEnumNotAccepted:
      w.Line("Parameter '", s, "' does not accept value '", v, "'");
      break;
    case MeasureErrorKind::kKeySecretRequired:
      w.Line("Parameter '", s, "key-secret' is required for cipher");
      break;
    case MeasureErrorKind::kNoSecret:
      w.Line("No secret with id '", v, "'");
      break;
    case MeasureErrorKind::kUnexpectedParameter:
      w.Line("Parameter '", s, "' is unexpected");
      break;
    case MeasureErrorKind::kImageTooLarge:
      w.Line("The image size is too large (try using a larger cluster size)");
      break;
    case MeasureErrorKind::kImageTooLargeForFormat:
      w.Line("The image size is too large for file format '", FormatName(error), "'");
      break;
    case MeasureErrorKind::kSourceLength:
      w.Line(error.detail, ": ", ErrnoText(error.source_code));
      break;
    case MeasureErrorKind::kBlockStatus:
      w.Line("Unable to get block status: ", ErrnoText(error.source_code));
      break;
    case MeasureErrorKind::kVmdkBackingFormat:
      w.Line("backing_file must be a vmdk image");
      break;
    case MeasureErrorKind::kVmdkCompat6HwVersion:
      w.Line("compat6 cannot be enabled with hwversion set");
      break;
    case MeasureErrorKind::kVmdkFlatBacking:
      w.Line("Flat image can't have backing file");
      break;
    case MeasureErrorKind::kVmdkFlatZeroedGrain:
      w.Line("Flat image can't enable zeroed grain");
      break;
    case MeasureErrorKind::kVhdxImageTooLarge:
      w.Line("Image size too large; max of 64TB");
      break;
    case MeasureErrorKind::kVhdxLogSizeTooLarge:
      w.Line("Log size must be smaller than 4 GB");
      break;
    case MeasureErrorKind::kVhdxLogSizeMultiple:
      w.Line("Log size must be a multiple of 1 MB");
      break;
    case MeasureErrorKind::kVhdxBlockSizeMultiple:
      w.Line("Block size must be a multiple of 1 MB");
      break;
    case MeasureErrorKind::kVhdxBlockSizePowerOfTwo:
      w.Line("Block size must be a power of two");
      break;
    case MeasureErrorKind::kNotSupported:
      w.Line(error.detail);
      break;
  }
  return w.Finish();
}

size_t FormatHexSuffixWarning(MeasureText value, char* out, size_t capacity) {
  Writer w(out, capacity);
  w.Line("warning: Using a multiplier suffix on hex numbers is deprecated: ", value);
  return w.Finish();
}

namespace measure_internal {

Status MeasureFailure(MeasureError* error, MeasureErrorKind kind, const char* status_message) {
  error->kind = kind;
  return Status::InvalidArgument(status_message);
}

Status SourceFailure(MeasureError* error, MeasureErrorKind kind, const Status& cause) {
  error->kind = kind;
  error->source_code = cause.code();
  return cause;
}

Status NotSupportedFailure(MeasureError* error, const char* reason) {
  error->kind = MeasureErrorKind::kNotSupported;
  error->detail = reason;
  return Status::NotSupported(reason);
}

}  // namespace measure_internal

}  // namespace instar
