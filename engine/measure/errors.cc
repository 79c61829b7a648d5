// qemu-img's words for every refusal of measure, assembled without a C
// library. Each line that qemu prints through error_report() starts with
// "qemu-img: "; hints (error_append_hint) do not.
#include "instar/engine/measure.h"
#include "instar/engine/measure_dialect.h"
#include "instar/engine/text_builder.h"
#include "measure/measure_internal.h"

namespace instar {

namespace {

void Put(TextBuilder& w, const char* text) { w.Append(text); }
void Put(TextBuilder& w, MeasureText text) { w.Append(text.data, text.length); }

// "qemu-img: " + the pieces + "\n"
template <typename... Pieces>
void Line(TextBuilder& w, Pieces... pieces) {
  w.Append("qemu-img: ");
  (Put(w, pieces), ...);
  w.Append('\n');
}

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

void InvalidOptions(TextBuilder& w, const MeasureError& error) {
  Line(w, "Invalid options for file format '", FormatName(error), "'");
}

}  // namespace

size_t FormatMeasureError(const MeasureError& error, char* out, size_t capacity) {
  TextBuilder w(out, capacity);
  const MeasureText s = error.subject;
  const MeasureText v = error.value;
  switch (error.kind) {
    case MeasureErrorKind::kNone:
      break;
    case MeasureErrorKind::kInvalidOptionList:
      Line(w, "Invalid option list: ", s);
      break;
    case MeasureErrorKind::kImageSizeSyntax:
      switch (MeasureDialectFor(error.version).image_size_error) {
        case ImageSizeErrorWording::kSuffixList:
          Line(w, "Invalid image size specified. You may use k, M, G, T, P or E suffixes for");
          Line(w, "kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
          break;
        case ImageSizeErrorWording::kQuotedWithPeriod:
          Line(w, "Invalid image size specified: '", s, "'.");
          break;
        case ImageSizeErrorWording::kQuoted:
          Line(w, "Invalid image size specified: '", s, "'");
          break;
      }
      break;
    case MeasureErrorKind::kImageSizeRange:
      Line(w, "Invalid image size specified. Must be between 0 and 9223372036854775807.");
      break;
    case MeasureErrorKind::kUnknownFormat:
      Line(w, "Unknown file format '", s, "'");
      break;
    case MeasureErrorKind::kNoImageCreation:
      Line(w, "Format driver '", FormatName(error), "' does not support image creation");
      break;
    case MeasureErrorKind::kInvalidParameter:
      Line(w, "Invalid parameter '", s, "'");
      InvalidOptions(w, error);
      break;
    case MeasureErrorKind::kExpectsBool:
      Line(w, "Parameter '", s, "' expects 'on' or 'off'");
      InvalidOptions(w, error);
      break;
    case MeasureErrorKind::kExpectsNumber:
      Line(w, "Parameter '", s, "' expects a number");
      InvalidOptions(w, error);
      break;
    case MeasureErrorKind::kNumberTooLarge:
      Line(w, "Value '", v, "' is too large for parameter '", s, "'");
      InvalidOptions(w, error);
      break;
    case MeasureErrorKind::kExpectsSize:
      Line(w, "Parameter '", s, "' expects a non-negative number below 2^64");
      w.Append(
          "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
          "and exabytes, respectively.\n");
      InvalidOptions(w, error);
      break;
    case MeasureErrorKind::kSizeOutOfRange:
      Line(w, "Value '", v, "' is out of range for parameter '", s, "'");
      InvalidOptions(w, error);
      break;
    case MeasureErrorKind::kMeasureUnsupported:
      Line(w, "Block driver '", FormatName(error), "' does not support size measurement");
      break;
    case MeasureErrorKind::kClusterSize:
      Line(w, "Cluster size must be a power of two between 512 and 2048k");
      break;
    case MeasureErrorKind::kExtendedL2ClusterSize:
      Line(w, "Extended L2 entries are only supported with cluster sizes of at least 16384 bytes");
      break;
    case MeasureErrorKind::kCompatLevel:
      Line(w, "Invalid compatibility level: '", v, "'");
      break;
    case MeasureErrorKind::kRefcountWidth:
      Line(w, "Refcount width must be a power of two and may not exceed 64 bits");
      break;
    case MeasureErrorKind::kRefcountNeedsV3:
      Line(w,
           "Different refcount widths than 16 bits require compatibility level 1.1 or above "
           "(use compat=1.1 or greater)");
      break;
    case MeasureErrorKind::kInvalidEnumValue:
      Line(w, "invalid parameter value: ", v);
      break;
    case MeasureErrorKind::kEnumNotAccepted:
      Line(w, "Parameter '", s, "' does not accept value '", v, "'");
      break;
    case MeasureErrorKind::kKeySecretRequired:
      Line(w, "Parameter '", s, "key-secret' is required for cipher");
      break;
    case MeasureErrorKind::kNoSecret:
      Line(w, "No secret with id '", v, "'");
      break;
    case MeasureErrorKind::kUnexpectedParameter:
      Line(w, "Parameter '", s, "' is unexpected");
      break;
    case MeasureErrorKind::kImageTooLarge:
      Line(w, "The image size is too large (try using a larger cluster size)");
      break;
    case MeasureErrorKind::kImageTooLargeForFormat:
      Line(w, "The image size is too large for file format '", FormatName(error), "'");
      break;
    case MeasureErrorKind::kSourceLength:
      Line(w, error.detail, ": ", ErrnoText(error.source_code));
      break;
    case MeasureErrorKind::kBlockStatus:
      Line(w, "Unable to get block status: ", ErrnoText(error.source_code));
      break;
    case MeasureErrorKind::kVmdkBackingFormat:
      Line(w, "backing_file must be a vmdk image");
      break;
    case MeasureErrorKind::kVmdkCompat6HwVersion:
      Line(w, "compat6 cannot be enabled with hwversion set");
      break;
    case MeasureErrorKind::kVmdkFlatBacking:
      Line(w, "Flat image can't have backing file");
      break;
    case MeasureErrorKind::kVmdkFlatZeroedGrain:
      Line(w, "Flat image can't enable zeroed grain");
      break;
    case MeasureErrorKind::kVhdxImageTooLarge:
      Line(w, "Image size too large; max of 64TB");
      break;
    case MeasureErrorKind::kVhdxLogSizeTooLarge:
      Line(w, "Log size must be smaller than 4 GB");
      break;
    case MeasureErrorKind::kVhdxLogSizeMultiple:
      Line(w, "Log size must be a multiple of 1 MB");
      break;
    case MeasureErrorKind::kVhdxBlockSizeMultiple:
      Line(w, "Block size must be a multiple of 1 MB");
      break;
    case MeasureErrorKind::kVhdxBlockSizePowerOfTwo:
      Line(w, "Block size must be a power of two");
      break;
    case MeasureErrorKind::kNotSupported:
      Line(w, error.detail);
      break;
  }
  return w.needed();
}

size_t FormatHexSuffixWarning(MeasureText value, char* out, size_t capacity) {
  TextBuilder w(out, capacity);
  Line(w, "warning: Using a multiplier suffix on hex numbers is deprecated: ", value);
  return w.needed();
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
