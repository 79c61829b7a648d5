// `qemu-img measure`: the size a conversion to the target format needs, in
// qemu-img's order (instar/engine/measure.h): the source is opened first,
// then the target format is looked up, then the -o options are parsed, then
// the target's measure runs. The -o lists' syntax and --size were checked
// by the host while it read the command line, as qemu-img's getopt loop
// does.
#include "instar/engine/measure.h"
#include "instar/guest/measure_result.h"
#include "ops/operation.h"

namespace instar::guest {

namespace {

// Puts the engine's rendering of `error` (qemu-img's stderr lines) into
// ctx.error, or the Status message when the engine has no words for it.
Status Refuse(OperationContext& ctx, Status status, const MeasureError& error) {
  if (error.kind == MeasureErrorKind::kNone) return status;
  char text[1024];
  FormatMeasureError(error, text, sizeof(text));
  size_t length = BoundedLength(text, sizeof(text));
  while (length > 0 && text[length - 1] == '\n') --length;
  ctx.error.Clear();
  ctx.error.Append(text, length);
  return status;
}

}  // namespace

Status MeasureOperation(OperationContext& ctx) {
  const abi::MeasureConfig& m = ctx.config.measure;
  const bool has_source = m.has_size == 0;

  MeasureSource source;
  if (has_source) {
    INSTAR_ASSIGN_OR_RETURN(OpenedImage opened,
                            OpenUserImage(ctx, ImageOpenFlags{BackingChain::kOpen, false}));
    // The image and, for qcow2, the persistent bitmaps qemu would load.
    INSTAR_RETURN_IF_ERROR(DescribeMeasureSource(*opened.image, &source));
  }

  MeasureError error;
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
    return Refuse(ctx, s, error);
  }

  MeasureRequest request;
  request.options = options;
  request.has_size = !has_source;
  request.size = m.size;
  // instar answers as qemu-img does: a target whose driver has no measure
  // hook (vmdk, vpc, vhdx) is refused ("does not support size
  // measurement"), not predicted.
  request.refuse_like_qemu = true;
  Result<MeasureResult> result =
      Measure(request, has_source ? &source : nullptr, ctx.compat, &error);
  if (!result.ok()) return Refuse(ctx, result.status(), error);

  INSTAR_RETURN_IF_ERROR(ctx.writer.U64(measure_result::kTagRequired, result->required));
  INSTAR_RETURN_IF_ERROR(
      ctx.writer.U64(measure_result::kTagFullyAllocated, result->fully_allocated));
  if (result->has_bitmaps) {
    INSTAR_RETURN_IF_ERROR(ctx.writer.U64(measure_result::kTagBitmaps, result->bitmaps));
  }
  return Status::Ok();
}

}  // namespace instar::guest
