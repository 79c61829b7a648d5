// `qemu-img resize`: img_resize()'s steps after its command line, inside
// the sandbox. The host read the command line (the options, the size's
// syntax and its sign) and opened the image read-write in place as device
// 0 (abi.h, "Writable devices"); here, in img_resize()'s order:
//
//   1. the image opened (the format from -f or probed, the backing chain),
//      as img_open(BDRV_O_RDWR | BDRV_O_RESIZE) does; a probed raw image
//      draws qemu's warning about writes to block 0;
//   2. the new size: the size as given, or the current virtual size plus
//      or minus it, in img_resize()'s signed 64-bit arithmetic; then its
//      checks: "New image size must be positive", "Preallocation can only
//      be used for growing images", and without --shrink "Use the --shrink
//      option ..." with its warning;
//   3. the driver's resize hook (bdrv_co_truncate); a driver with none is
//      qemu's "Image format driver does not support resize".
//
// The image is changed in place, as qemu changes it: a hook that fails
// part-way leaves what qemu's driver would leave.
#include "instar/engine/format_driver.h"
#include "instar/guest/modify_result.h"
#include "ops/operation.h"

namespace instar::guest {

namespace {

constexpr char kRawProbeWarning[] =
    "\n         Automatically detecting the format is dangerous for raw images, write "
    "operations on block 0 will be restricted.\n"
    "         Specify the 'raw' format explicitly to remove the restrictions.\n";

// A refusal in qemu-img's own words, after the warning lines.
Status Refuse(OperationContext& ctx, const TextBuilder& warning, const char* line, Status status) {
  ctx.error.Clear();
  ctx.error.Append("qemu-img: ").Append(line);
  return FailWithWarning(ctx, warning, status);
}

}  // namespace

Status FailWithWarning(OperationContext& ctx, const TextBuilder& warning, Status status) {
  if (ctx.error.empty()) ctx.error.Append("qemu-img: ").Append(status);
  if (warning.empty()) return status;
  char text[1024];
  const size_t length =
      ctx.error.length() < sizeof(text) - 1 ? ctx.error.length() : sizeof(text) - 1;
  CopyBytes(text, ctx.error.c_str(), length);
  ctx.error.Clear();
  ctx.error.Append(warning.c_str(), warning.length()).Append(text, length);
  return status;
}

Result<OpenedImage> OpenImageForModify(OperationContext& ctx, TextBuilder& warning) {
  ImageOpenFlags flags;
  flags.backing = BackingChain::kOpen;
  flags.writable = true;
  Result<OpenedImage> opened = OpenUserImage(ctx, flags);
  if (!opened.ok()) return opened;
  if (ctx.config.format_hint == 0 && opened->format == ImageFormat::kRaw) {
    warning.Append("WARNING: Image format was not specified for '")
        .Append(ctx.config.filename)
        .Append("' and probing guessed raw.")
        .Append(kRawProbeWarning);
  }
  return opened;
}

Status ResizeOperation(OperationContext& ctx) {
  const abi::ResizeConfig& r = ctx.config.resize;
  char warning_text[512];
  TextBuilder warning(warning_text, sizeof(warning_text));

  // 1. The image.
  Result<OpenedImage> opened = OpenImageForModify(ctx, warning);
  if (!opened.ok()) return opened.status();

  // 2. The new size, as img_resize computes it: int64_t throughout, the
  // size as typed taken as int64_t (qemu_opt_get_size() into an int64_t).
  const auto current = static_cast<int64_t>(opened->image->VirtualSize());
  const auto typed = static_cast<int64_t>(r.size);
  int64_t total = typed;
  if (r.relative > 0) {
    total = static_cast<int64_t>(static_cast<uint64_t>(current) + static_cast<uint64_t>(typed));
  } else if (r.relative < 0) {
    total = static_cast<int64_t>(static_cast<uint64_t>(current) - static_cast<uint64_t>(typed));
  }
  if (total <= 0) {
    return Refuse(ctx, warning, "New image size must be positive",
                  Status::InvalidArgument("new size not positive"));
  }
  const bool preallocate = (r.flags & abi::kResizeHasPreallocation) != 0 &&
                           r.preallocation != static_cast<uint32_t>(Preallocation::kOff);
  if (total <= current && preallocate) {
    return Refuse(ctx, warning, "Preallocation can only be used for growing images",
                  Status::InvalidArgument("preallocation without growth"));
  }
  if (total < current && (r.flags & abi::kResizeShrink) == 0) {
    return Refuse(ctx, warning,
                  "Use the --shrink option to perform a shrink operation.\n"
                  "qemu-img: warning: Shrinking an image will delete all data beyond the "
                  "shrunken image's end. Before performing such an operation, make sure there "
                  "is no important data there.",
                  Status::InvalidArgument("shrink without --shrink"));
  }

  // 3. The driver.
  const FormatDriver* driver = FindFormatDriver(opened->format);
  if (driver == nullptr || driver->resize == nullptr) {
    return Refuse(ctx, warning, "Image format driver does not support resize",
                  Status::NotSupported("no resize hook"));
  }
  if (r.preallocation > static_cast<uint32_t>(Preallocation::kFull)) {
    return Status::InvalidArgument("the sandbox received a bad preallocation mode");
  }
  ResizeRequest request;
  request.size = static_cast<uint64_t>(total);
  request.shrink = (r.flags & abi::kResizeShrink) != 0;
  request.has_preallocation = (r.flags & abi::kResizeHasPreallocation) != 0;
  request.preallocation = static_cast<Preallocation>(r.preallocation);
  const Status resized =
      driver->resize(*opened->image, *opened->writable, request, ctx.compat, ctx.arena);
  if (!resized.ok()) {
    ctx.error.Clear();
    return FailWithWarning(ctx, warning, resized);
  }
  if (!warning.empty()) {
    INSTAR_RETURN_IF_ERROR(
        ctx.writer.Bytes(modify_result::kTagWarning, warning.c_str(), warning.length()));
  }
  return Status::Ok();
}

}  // namespace instar::guest
