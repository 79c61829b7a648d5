// `qemu-img measure`: the size a conversion to the target format needs, in
// qemu-img's order (instar/engine/measure.h): the source is opened first
// and -l's snapshot loaded into it, then the target format is looked up,
// then the -o options are parsed, then the target's measure runs. The -o
// lists' syntax, --size, -l's syntax and --object were dealt with by the
// host while it read the command line, as qemu-img's getopt loop does; of
// the secrets it made, the guest gets the ids and whether LUKS would take
// each, never the data.
#include "instar/engine/measure.h"
#include "instar/guest/measure_result.h"
#include "ops/operation.h"

namespace instar::guest {

namespace {

// Puts the engine's rendering of `error` (qemu-img's stderr lines) into
// ctx.error, or the Status message when the engine has no words for it.
// A scan of `source` that failed on a corrupt image is preceded by the
// corruption line qemu printed there.
// The hex-suffix warnings qemu printed while it parsed -o (none when
// `options` is null or was not parsed yet), each line ending in '\n', into
// `text`; returns their length.
size_t HexSuffixWarnings(const ParsedMeasureOptions* options, char (&text)[1024]) {
  if (options == nullptr) return 0;
  FormatHexSuffixWarnings(*options, text, sizeof(text));
  return BoundedLength(text, sizeof(text));
}

Status Refuse(OperationContext& ctx, Status status, const MeasureError& error,
              const ParsedMeasureOptions* options = nullptr, Image* source = nullptr) {
  if (error.kind == MeasureErrorKind::kNone) return status;
  char text[1024];
  FormatMeasureError(error, text, sizeof(text));
  size_t length = BoundedLength(text, sizeof(text));
  while (length > 0 && text[length - 1] == '\n') --length;
  ctx.error.Clear();
  char warnings[1024];
  ctx.error.Append(warnings, HexSuffixWarnings(options, warnings));
  if (source != nullptr && error.kind == MeasureErrorKind::kBlockStatus) {
    AppendCorruptionReports(ctx.error, *source);
  }
  ctx.error.Append(text, length);
  return status;
}

// The config's NUL-terminated text at `field`, or false when it is not
// terminated within the field.
bool FieldText(const char* field, size_t size, MeasureText* out) {
  const size_t length = BoundedLength(field, size);
  if (length == size) return false;
  *out = MeasureText{field, length};
  return true;
}

// The secrets the host made, by id.
Status ReadSecrets(const abi::MeasureConfig& m, MeasureSecrets* out) {
  *out = MeasureSecrets();
  static_assert(sizeof(m.secrets) / sizeof(m.secrets[0]) == MeasureSecrets::kCapacity);
  if (m.secret_count > MeasureSecrets::kCapacity) {
    return Status::InvalidArgument("the sandbox received too many secrets");
  }
  for (uint32_t i = 0; i < m.secret_count; ++i) {
    MeasureSecret& secret = out->entries[out->count++];
    if (!FieldText(m.secrets[i].id, sizeof(m.secrets[i].id), &secret.id)) {
      return Status::InvalidArgument("the sandbox received an unterminated secret id");
    }
    secret.length = m.secrets[i].length;
    secret.valid_utf8 = (m.secrets[i].flags & abi::kSecretValidUtf8) != 0;
  }
  return Status::Ok();
}

}  // namespace

Status MeasureOperation(OperationContext& ctx) {
  const abi::MeasureConfig& m = ctx.config.measure;
  const bool has_source = m.has_size == 0;
  MeasureSnapshot snapshot;
  INSTAR_RETURN_IF_ERROR(ReadSnapshotConfig(m.snapshot_kind, m.snapshot_flags, m.snapshot,
                                            sizeof(m.snapshot), m.snapshot_id,
                                            sizeof(m.snapshot_id), &snapshot));
  auto* secrets = ctx.arena.New<MeasureSecrets>();
  if (secrets == nullptr) return Status::NoSpace("out of memory for the measure secrets");
  INSTAR_RETURN_IF_ERROR(ReadSecrets(m, secrets));

  MeasureError error;
  MeasureSource source;
  if (has_source) {
    INSTAR_ASSIGN_OR_RETURN(OpenedImage opened,
                            OpenUserImage(ctx, ImageOpenFlags{BackingChain::kOpen, false}));
    // The image and, for qcow2, the persistent bitmaps qemu would load.
    INSTAR_RETURN_IF_ERROR(DescribeMeasureSource(*opened.image, &source));
    if (Status s = LoadMeasureSnapshot(*opened.image, snapshot, &error); !s.ok()) {
      return Refuse(ctx, s, error);
    }
  }

  ImageFormat target = ImageFormat::kUnknown;
  const size_t target_length = BoundedLength(m.target_format, sizeof(m.target_format));
  if (Status s = LookUpMeasureTarget(m.target_format, target_length, ctx.compat, &target, &error);
      !s.ok()) {
    return Refuse(ctx, s, error);
  }

  auto* options = ctx.arena.New<ParsedMeasureOptions>();
  if (options == nullptr) return Status::NoSpace("out of memory for the measure options");
  const size_t options_length = BoundedLength(m.options, sizeof(m.options));
  if (Status s = ParseMeasureOptions(target, m.options, options_length, ctx.compat, ctx.arena,
                                     options, &error);
      !s.ok()) {
    return Refuse(ctx, s, error, options);
  }

  MeasureRequest request;
  request.options = options;
  request.has_size = !has_source;
  request.size = m.size;
  request.secrets = secrets;
  // instar answers as qemu-img does: a target whose driver has no measure
  // hook (vmdk, vpc, vhdx) is refused ("does not support size
  // measurement"), not predicted, unless the user asked for instar's own
  // prediction (--instar-targets).
  request.refuse_like_qemu = (m.flags & abi::kMeasureInstarTargets) == 0;
  Result<MeasureResult> result =
      Measure(request, has_source ? &source : nullptr, ctx.compat, &error);
  if (!result.ok()) return Refuse(ctx, result.status(), error, options, source.image);

  char warnings[1024];
  if (const size_t length = HexSuffixWarnings(options, warnings); length > 0) {
    INSTAR_RETURN_IF_ERROR(ctx.writer.Bytes(measure_result::kTagWarnings, warnings, length));
  }
  INSTAR_RETURN_IF_ERROR(ctx.writer.U64(measure_result::kTagRequired, result->required));
  INSTAR_RETURN_IF_ERROR(
      ctx.writer.U64(measure_result::kTagFullyAllocated, result->fully_allocated));
  if (result->has_bitmaps) {
    INSTAR_RETURN_IF_ERROR(ctx.writer.U64(measure_result::kTagBitmaps, result->bitmaps));
  }
  return Status::Ok();
}

}  // namespace instar::guest
