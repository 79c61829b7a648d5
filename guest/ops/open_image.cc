// Opening the image the user named (device 0), as qemu-img's img_open()
// does: the format from -f or probed, formats we only recognise refused by
// name, then the driver's open with the command's flags.
#include "instar/engine/format_driver.h"
#include "instar/guest/transport_device.h"
#include "ops/operation.h"

namespace instar::guest {

namespace {

// qemu-img's "Could not open '<name>': <reason>".
TextBuilder& CouldNotOpen(OperationContext& ctx) {
  ctx.error.Clear();
  return ctx.error.Append("qemu-img: Could not open '").Append(ctx.config.filename).Append("': ");
}

Status Fail(OperationContext& ctx, Status status) {
  CouldNotOpen(ctx).Append(status);
  return status;
}

// qemu's "Could not open '<top>': Could not open backing file: <reason>",
// where a file that cannot be opened is named as qemu's path_combine()
// names it: relative to the top image's own name.
void ReportBackingFailure(OperationContext& ctx, const Status& status,
                          const BackingFailure& failure) {
  TextBuilder& text = CouldNotOpen(ctx).Append("Could not open backing file: ");
  switch (failure.kind) {
    case BackingFailure::Kind::kUnknownDriver:
      text.Append("Unknown driver '")
          .Append(failure.format_name, failure.format_name_length)
          .Append("'");
      return;
    case BackingFailure::Kind::kOpenFile: {
      const char* top = ctx.config.filename;
      const ByteView top_name{reinterpret_cast<const uint8_t*>(top),
                              BoundedLength(top, sizeof(ctx.config.filename))};
      Result<ByteView> combined = PathCombine(
          top_name, reinterpret_cast<const char*>(failure.path.data), failure.path.size, ctx.arena);
      const ByteView path = combined.ok() ? *combined : failure.path;
      text.Append("Could not open '")
          .Append(reinterpret_cast<const char*>(path.data), path.size)
          .Append("': ")
          .Append(status);
      return;
    }
    default:
      text.Append(status);
      return;
  }
}

}  // namespace

Result<OpenedImage> OpenUserImage(OperationContext& ctx, const ImageOpenFlags& flags) {
  Result<TransportDevice*> device = TransportDevice::Create(ctx.transport, 0, ctx.arena);
  if (!device.ok()) return Fail(ctx, device.status());

  ImageFormat format;
  if (ctx.config.format_hint != 0) {
    // A hint no driver answers to is not a format.
    const uint32_t hint = ctx.config.format_hint;
    const FormatDriver* driver =
        hint <= UINT8_MAX ? FindFormatDriver(static_cast<ImageFormat>(hint)) : nullptr;
    if (driver == nullptr) return Fail(ctx, Status::InvalidArgument("Unknown driver"));
    format = driver->format;
  } else {
    const char* name = ctx.config.filename;
    Result<ImageFormat> probed =
        ProbeFormat(**device, name, BoundedLength(name, sizeof(ctx.config.filename)));
    if (!probed.ok()) return Fail(ctx, probed.status());
    format = *probed;
  }
  if (!IsSupportedFormat(format)) {
    CouldNotOpen(ctx)
        .Append("Unsupported image format '")
        .Append(ImageFormatName(format))
        .Append("'");
    return Status::NotSupported("Unsupported image format");
  }

  auto* opener = ctx.arena.New<TransportDeviceOpener>(ctx.transport, ctx.arena);
  if (opener == nullptr) return Fail(ctx, Status::NoSpace("out of memory"));
  OpenOptions options;
  options.compat = ctx.compat;
  options.no_io = flags.no_io;
  options.check = flags.check;
  Result<Image*> image = OpenImage(format, **device, *opener, ctx.arena, options);
  if (!image.ok()) {
    // A file the image names by its name as given (a qcow2's data file)
    // that could not be opened is named, as qemu's bdrv_open_child() does.
    const TransportDeviceOpener::Failure& named = opener->as_given_failure();
    if (named.name != nullptr && image.status().code() == named.status.code() &&
        image.status().message() == named.status.message()) {
      CouldNotOpen(ctx)
          .Append("Could not open '")
          .Append(named.name, named.name_length)
          .Append("': ")
          .Append(named.status);
      return image.status();
    }
    return Fail(ctx, image.status());
  }
  if (flags.backing == BackingChain::kOpen) {
    BackingFailure failure;
    if (Status s =
            OpenBackingChain(**image, *opener, ctx.arena, options, kMaxBackingDepth, &failure);
        !s.ok()) {
      ReportBackingFailure(ctx, s, failure);
      return s;
    }
  }
  return OpenedImage{*image, format};
}

}  // namespace instar::guest
