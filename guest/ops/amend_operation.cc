// `qemu-img amend`: img_amend()'s steps after its command line, inside the
// sandbox. The host read the command line (-o lists, -f, --force, -t) and
// opened the image read-write in place as device 0 (abi.h, "Writable
// devices"); here, in img_amend()'s order:
//
//   1. the image opened as img_open(BDRV_O_RDWR) does (the format from -f
//      or probed, the backing chain); a probed raw image draws qemu's
//      warning about writes to block 0;
//   2. a driver with no amend hook is qemu's "Format driver '<fmt>' does
//      not support option amendment";
//   3. the -o text parsed against the format's create options, as create
//      parses them (ParseMeasureOptions()); qemu parses against the
//      driver's amend options first, and a key only creation knows
//      ("cluster_size") is for the hook to refuse in qemu's words;
//   4. the driver's amend hook (bdrv_amend_options), with --force.
//
// The image is changed in place, as qemu changes it.
#include "instar/engine/format_driver.h"
#include "instar/guest/modify_result.h"
#include "ops/operation.h"

namespace instar::guest {

Status AmendOperation(OperationContext& ctx) {
  // RunOperation() checked that the text is terminated.
  const abi::AmendConfig& a = ctx.config.amend;
  char warning_text[512];
  TextBuilder warning(warning_text, sizeof(warning_text));

  // 1. The image.
  Result<OpenedImage> opened = OpenImageForModify(ctx, warning);
  if (!opened.ok()) return opened.status();

  // 2. The driver.
  const FormatDriver* driver = FindFormatDriver(opened->format);
  if (driver == nullptr || driver->amend == nullptr) {
    ctx.error.Clear();
    ctx.error.Append("qemu-img: Format driver '")
        .Append(driver != nullptr ? driver->name : ImageFormatName(opened->format))
        .Append("' does not support option amendment");
    return FailWithWarning(ctx, warning, Status::NotSupported("no amend hook"));
  }

  // 3. The options.
  auto* options = ctx.arena.New<ParsedMeasureOptions>();
  if (options == nullptr) return Status::NoSpace("out of memory for the amend options");
  MeasureError error;
  if (Status s = ParseMeasureOptions(opened->format, a.options,
                                     BoundedLength(a.options, sizeof(a.options)), ctx.compat,
                                     ctx.arena, options, &error);
      !s.ok()) {
    char text[1024];
    FormatMeasureError(error, text, sizeof(text));
    ctx.error.Clear();
    ctx.error.Append(text, TrimOptionErrorText(text, BoundedLength(text, sizeof(text))));
    return FailWithWarning(ctx, warning, s);
  }

  // 4. The driver's hook.
  AmendRequest request;
  request.options = options;
  request.force = (a.flags & abi::kAmendForce) != 0;
  const Status amended =
      driver->amend(*opened->image, *opened->writable, request, ctx.compat, ctx.arena);
  if (!amended.ok()) {
    ctx.error.Clear();
    return FailWithWarning(ctx, warning, amended);
  }
  if (!warning.empty()) {
    INSTAR_RETURN_IF_ERROR(
        ctx.writer.Bytes(modify_result::kTagWarning, warning.c_str(), warning.length()));
  }
  return Status::Ok();
}

}  // namespace instar::guest
