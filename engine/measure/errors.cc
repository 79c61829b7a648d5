// qemu-img's words for every refusal of measure, assembled without a C
// library. Each line that qemu prints through error_report() starts with
// "qemu-img: "; hints (error_append_hint) do not.
#include "instar/engine/bytes.h"
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
      return QemuErrnoText(QemuErrno::kENOTSUP);
    case StatusCode::kNoSpace:
      return QemuErrnoText(QemuErrno::kENOMEM);
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return QemuErrnoText(QemuErrno::kEINVAL);
    default:
      return QemuErrnoText(QemuErrno::kEIO);
  }
}

void InvalidOptions(TextBuilder& w, const MeasureError& error) {
  Line(w, "Invalid options for file format '", FormatName(error), "'");
}

// error_append_hint() of a bad QemuOpts or QOM id.
void IdentifierHint(TextBuilder& w) {
  w.Append("Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.\n");
}

// qemu-img's line after any failed parse of -l's "snapshot.*" form.
void SnapshotParamFailed(TextBuilder& w, const MeasureError& error) {
  Line(w, "Failed in parsing snapshot param '", error.value, "'");
}

void Number(TextBuilder& w, uint64_t value) { w.AppendDecimal(value); }

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
    case MeasureErrorKind::kSourceLengthErrno: {
      w.Append("qemu-img: ").Append(error.detail);
      const auto error_number = static_cast<int>(static_cast<uint32_t>(error.number));
      if (error_number != 0) {
        w.Append(": ");
        AppendStrError(w, error_number);
      }
      w.Append('\n');
      break;
    }
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
    case MeasureErrorKind::kVmdkBackingNotVmdk:
      Line(w, "Invalid backing file format: ", s, ". Must be vmdk");
      break;
    case MeasureErrorKind::kVmdkBackingOpen:
      Line(w, "Could not open '", s, "': ", error.detail);
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
    case MeasureErrorKind::kSnapshotParamInvalid:
      Line(w, "Invalid parameter '", s, "'");
      SnapshotParamFailed(w, error);
      break;
    case MeasureErrorKind::kSnapshotParamId:
      Line(w, "Parameter 'id' expects an identifier");
      IdentifierHint(w);
      SnapshotParamFailed(w, error);
      break;
    case MeasureErrorKind::kSnapshotParamDuplicate:
      Line(w, "Duplicate ID '", s, "' for snapshot");
      SnapshotParamFailed(w, error);
      break;
    case MeasureErrorKind::kSnapshotParamHelp:
      SnapshotParamFailed(w, error);
      break;
    case MeasureErrorKind::kSnapshotLoad:
      Line(w, "Failed to load snapshot: ", error.detail);
      break;
    case MeasureErrorKind::kSnapshotUnsupported:
      Line(w, "Failed to load snapshot: Block format '", s,
           "' used by device '' does not support temporarily loading internal snapshots");
      break;
    case MeasureErrorKind::kObjectParamInvalid:
      Line(w, "Invalid parameter '", s, "'");
      break;
    case MeasureErrorKind::kObjectParamNoValue:
      Line(w, "Expected '=' after parameter '", s, "'");
      break;
    case MeasureErrorKind::kObjectParamTooLong:
      Line(w, "Parameter", error.detail, " '", s, "' is too long");
      break;
    case MeasureErrorKind::kObjectParamMixed:
      Line(w, "Parameters '", s, ".*' used inconsistently");
      break;
    case MeasureErrorKind::kObjectParamMissing:
      Line(w, "Parameter '", s, "' is missing");
      break;
    case MeasureErrorKind::kObjectParamDict:
      Line(w, "Parameters '", s, ".*' are unexpected");
      break;
    case MeasureErrorKind::kObjectEnumValue:
      if (MeasureDialectFor(error.version).enum_error_names_parameter) {
        Line(w, "Parameter '", s, "' does not accept value '", v, "'");
      } else {
        Line(w, "Invalid parameter '", v, "'");
      }
      break;
    case MeasureErrorKind::kObjectExpectsBool:
      Line(w, "Parameter '", s, "' expects 'on' or 'off'");
      break;
    case MeasureErrorKind::kObjectUnexpected:
      Line(w, "Parameter '", s, "' is unexpected");
      break;
    case MeasureErrorKind::kObjectIdSyntax:
      Line(w, "Parameter 'id' expects an identifier");
      IdentifierHint(w);
      break;
    case MeasureErrorKind::kObjectDuplicateId:
      if (MeasureDialectFor(error.version).object_syntax == ObjectSyntax::kQemuOpts) {
        Line(w, "Duplicate ID '", v, "' for object");
      } else {
        Line(w, "attempt to add duplicate property '", v, "' to object (type 'container')");
      }
      break;
    case MeasureErrorKind::kObjectInvalidType:
      Line(w, "invalid object type: ", v);
      break;
    case MeasureErrorKind::kObjectPropertyNotFound:
      Line(w, "Property 'secret.", s, "' not found");
      break;
    case MeasureErrorKind::kObjectPropertyReadOnly:
      Line(w, "Property 'secret.", s, "' is not writable");
      break;
    case MeasureErrorKind::kSecretDataAndFile:
      Line(w, "'file' and 'data' are mutually exclusive");
      break;
    case MeasureErrorKind::kSecretNoData:
      Line(w, "Either 'file' or 'data' must be provided");
      break;
    case MeasureErrorKind::kSecretFileUnreadable:
      Line(w, "Unable to read ", s, ": ", v);
      break;
    case MeasureErrorKind::kSecretBase64Nul:
      Line(w, "Data contains embedded NUL characters");
      break;
    case MeasureErrorKind::kSecretBase64Chars:
      Line(w, "Base64 data contains invalid characters");
      break;
    case MeasureErrorKind::kSecretKeyLength:
      Line(w, "Key should be 32 bytes in length");
      break;
    case MeasureErrorKind::kSecretNoIv:
      Line(w, "IV is required to decrypt secret");
      break;
    case MeasureErrorKind::kSecretIvLength:
      w.Append("qemu-img: IV should be 16 bytes in length not ");
      Number(w, error.number);
      w.Append('\n');
      break;
    case MeasureErrorKind::kLuksExpectsInteger:
      Line(w, "Parameter '", s, "' expects integer");
      break;
    case MeasureErrorKind::kSecretNotUtf8:
      Line(w, "Data from secret ", v, " is not valid UTF-8");
      break;
    case MeasureErrorKind::kLuksAlgorithm:
      Line(w, "Algorithm '", v, "' not supported");
      break;
    case MeasureErrorKind::kLuksCipherMode:
      Line(w, "Unsupported cipher mode ", v);
      break;
    case MeasureErrorKind::kLuksEssiv:
      if (error.detail[0] == '\0') {
        Line(w, "Cipher ", v, " not supported with essiv");
      } else {
        w.Append("qemu-img: No ");
        w.Append(error.detail);
        w.Append(" cipher with key size ");
        Number(w, error.number);
        w.Append(" available\n");
      }
      break;
    case MeasureErrorKind::kLuksIterations:
      // qemu names the iteration count it measured on the machine.
      Line(w, "PBKDF iterations too large to scale: Numerical result out of range");
      break;
    case MeasureErrorKind::kNotSupported:
      Line(w, error.detail);
      break;
    case MeasureErrorKind::kImageTooLargeTryClusterSize:
      Line(w, "The image size is too large for file format '", FormatName(error),
           "' (try using a larger cluster size)");
      break;
    case MeasureErrorKind::kQcow2ExtendedL2NeedsV3:
      Line(w,
           "Extended L2 entries are only supported with compatibility level 1.1 and above "
           "(use version=v3 or greater)");
      break;
    case MeasureErrorKind::kQcow2LazyRefcountsNeedV3:
      Line(w,
           "Lazy refcounts only supported with compatibility level 1.1 and above "
           "(use version=v3 or greater)");
      break;
    case MeasureErrorKind::kQcow2RefcountNeedsV3:
      Line(w,
           "Different refcount widths than 16 bits require compatibility level 1.1 or above "
           "(use version=v3 or greater)");
      break;
    case MeasureErrorKind::kQcow2BackingPreallocation:
      Line(w,
           "Backing file and preallocation can only be used at the same time if extended_l2 "
           "is on");
      break;
    case MeasureErrorKind::kQcow2BackingFormatNoFile:
      Line(w, "Backing format cannot be used without backing file");
      break;
    case MeasureErrorKind::kQcow2DataFileRawNoFile:
      Line(w, "data-file-raw requires data-file");
      break;
    case MeasureErrorKind::kQcow2DataFileRawBacking:
      Line(w, "Backing file and data-file-raw cannot be used at the same time");
      break;
    case MeasureErrorKind::kQcow2DataFileNeedsV3:
      Line(w,
           "External data files are only supported with compatibility level 1.1 and above "
           "(use version=v3 or greater)");
      break;
    case MeasureErrorKind::kQcow2CompressionNeedsV3:
      Line(w,
           "Non-zlib compression type is only supported with compatibility level 1.1 and "
           "above (use version=v3 or greater)");
      break;
    case MeasureErrorKind::kQcow2AssignBacking:
      Line(w, "Could not assign backing file '", s, "' with format '", v, "': ", error.detail);
      break;
  }
  return w.needed();
}

size_t FormatShortFormWarning(MeasureText name, char* out, size_t capacity) {
  TextBuilder w(out, capacity);
  Line(w, "warning: short-form boolean option '", name, "' deprecated");
  // "nofoo" stands for foo=off, "foo" for foo=on.
  const bool off = name.length >= 2 && name.data[0] == 'n' && name.data[1] == 'o';
  const MeasureText key = off ? MeasureText{name.data + 2, name.length - 2} : name;
  w.Append("Please use ");
  if (CStringEquals("delay", key.data, key.length)) {
    w.Append("nodelay=");
    w.Append(off ? "on" : "off");
  } else {
    w.Append(key.data, key.length);
    w.Append(off ? "=off" : "=on");
  }
  w.Append(" instead\n");
  return w.needed();
}

namespace {

// qemu's warn_report() from do_strtosz() (6.x, 7.x).
void AppendHexSuffixWarning(TextBuilder& w, MeasureText value) {
  Line(w, "warning: Using a multiplier suffix on hex numbers is deprecated: ", value);
}

}  // namespace

size_t FormatHexSuffixWarning(MeasureText value, char* out, size_t capacity) {
  TextBuilder w(out, capacity);
  AppendHexSuffixWarning(w, value);
  return w.needed();
}

size_t FormatHexSuffixWarnings(const ParsedMeasureOptions& options, char* out, size_t capacity) {
  TextBuilder w(out, capacity);
  for (uint8_t i = 0; i < options.hex_suffix_warning_count; ++i) {
    AppendHexSuffixWarning(w, options.hex_suffix_warnings[i]);
  }
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
