// Opening an image the user named (device 0, or compare's second, 1), as
// qemu-img's img_open() does: the format from -f or probed, formats we only
// recognise refused by name, then the driver's open with the command's
// flags.
#include "instar/engine/format_driver.h"
#include "instar/guest/transport_device.h"
#include "ops/operation.h"

namespace instar::guest {

namespace {

// The image being opened, by the name the user gave it.
struct NamedImage {
  const char* name;  // NUL-terminated within `size`
  size_t size;
};

// qemu-img's "Could not open '<name>': <reason>".
TextBuilder& CouldNotOpen(OperationContext& ctx, const NamedImage& image_name) {
  ctx.error.Clear();
  return ctx.error.Append("qemu-img: Could not open '").Append(image_name.name).Append("': ");
}

// The message of `status`, with the image's name for each "{f}" in it
// (a driver that names its file, as vhdx's log replay advice does).
void AppendNamingFile(TextBuilder& text, const Status& status, const NamedImage& image_name) {
  char message[1024];
  FormatStatusMessage(status, message, sizeof(message));
  for (const char* p = message; *p != '\0'; ++p) {
    if (p[0] == '{' && p[1] == 'f' && p[2] == '}') {
      text.Append(image_name.name);
      p += 2;
      continue;
    }
    text.Append(*p);
  }
}

// The reason after "Could not open '<name>': ": the driver's message, or,
// where qemu's driver fails with a bare errno, what bdrv_open_driver()
// then says: "Could not open '<name>': <strerror>" once more.
Status Fail(OperationContext& ctx, const NamedImage& image_name, Status status) {
  if (status.qemu_errno() != QemuErrno::kNone && status.has_text()) {
    // The line qemu's driver printed before it failed.
    ctx.error.Clear();
    ctx.error.Append(status.text(), status.text_length()).Append('\n');
  } else {
    ctx.error.Clear();
  }
  TextBuilder& text =
      ctx.error.Append("qemu-img: Could not open '").Append(image_name.name).Append("': ");
  if (status.qemu_errno() != QemuErrno::kNone) {
    text.Append("Could not open '")
        .Append(image_name.name)
        .Append("': ")
        .Append(QemuErrnoText(status.qemu_errno()));
  } else {
    AppendNamingFile(text, status, image_name);
  }
  return status;
}

// qemu's "Could not open '<top>': Could not open backing file: <reason>",
// where a file that cannot be opened is named as qemu's path_combine()
// names it: relative to the top image's own name.
void ReportBackingFailure(OperationContext& ctx, const NamedImage& image_name, const Status& status,
                          const BackingFailure& failure) {
  TextBuilder& text = CouldNotOpen(ctx, image_name).Append("Could not open backing file: ");
  switch (failure.kind) {
    case BackingFailure::Kind::kUnknownDriver:
      text.Append("Unknown driver '")
          .Append(failure.format_name, failure.format_name_length)
          .Append("'");
      return;
    case BackingFailure::Kind::kOpenFile: {
      const ByteView top_name{reinterpret_cast<const uint8_t*>(image_name.name),
                              BoundedLength(image_name.name, image_name.size)};
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

void AppendCorruptionReports(TextBuilder& text, Image& top) {
  for (Image* image = &top; image != nullptr; image = image->backing()) {
    const FormatDriver* driver = FindFormatDriver(image->format());
    if (driver == nullptr || driver->corruption_report == nullptr) continue;
    char line[512];
    if (driver->corruption_report(*image, line, sizeof(line)) == 0) continue;
    text.Append(line).Append('\n');
  }
}

Result<OpenedImage> OpenUserImage(OperationContext& ctx, const ImageOpenFlags& flags) {
  return OpenNamedImage(ctx, 0, ctx.config.filename, sizeof(ctx.config.filename),
                        ctx.config.format_hint, flags);
}

Result<Image*> CreateBackingOpener::Open(MeasureText name, const char** why) {
  TransportDeviceOpener opener(ctx_.transport, ctx_.arena, 0);
  Result<BlockDevice*> device = opener.Open(name.data, name.length);
  if (!device.ok()) {
    *why = device.status().message();
    return device.status();
  }
  char* terminated = ctx_.arena.AllocateArray<char>(name.length + 1);
  if (terminated == nullptr) return Status::NoSpace("out of memory for the backing file name");
  CopyBytes(terminated, name.data, name.length);
  terminated[name.length] = '\0';
  Result<OpenedImage> opened =
      OpenNamedImage(ctx_, static_cast<TransportDevice*>(*device)->device(), terminated,
                     name.length + 1, 0, ImageOpenFlags{BackingChain::kSkip, false});
  if (!opened.ok()) {
    *why = opened.status().message();
    return opened.status();
  }
  return opened->image;
}

Result<OpenedImage> OpenNamedImage(OperationContext& ctx, uint32_t device_number, const char* name,
                                   size_t name_size, uint32_t format_hint,
                                   const ImageOpenFlags& flags) {
  const NamedImage image_name{name, name_size};
  BlockDevice* device = nullptr;
  WritableDevice* writable = nullptr;
  if (flags.writable) {
    Result<TransportWritableDevice*> opened =
        TransportWritableDevice::Create(ctx.transport, device_number, ctx.arena);
    if (!opened.ok()) return Fail(ctx, image_name, opened.status());
    writable = *opened;
    device = *opened;
  } else {
    Result<TransportDevice*> opened =
        TransportDevice::Create(ctx.transport, device_number, ctx.arena);
    if (!opened.ok()) return Fail(ctx, image_name, opened.status());
    device = *opened;
  }

  ImageFormat format;
  if (format_hint != 0) {
    // A hint no driver answers to is not a format.
    const uint32_t hint = format_hint;
    const FormatDriver* driver =
        hint <= UINT8_MAX ? FindFormatDriver(static_cast<ImageFormat>(hint)) : nullptr;
    if (driver == nullptr) return Fail(ctx, image_name, Status::InvalidArgument("Unknown driver"));
    format = driver->format;
  } else {
    Result<ImageFormat> probed = ProbeFormat(*device, name, BoundedLength(name, name_size));
    if (!probed.ok()) return Fail(ctx, image_name, probed.status());
    format = *probed;
  }
  if (!IsSupportedFormat(format)) {
    CouldNotOpen(ctx, image_name)
        .Append("Unsupported image format '")
        .Append(ImageFormatName(format))
        .Append("'");
    return Status::NotSupported("Unsupported image format");
  }

  auto* opener = ctx.arena.New<TransportDeviceOpener>(ctx.transport, ctx.arena, device_number);
  if (opener == nullptr) return Fail(ctx, image_name, Status::NoSpace("out of memory"));
  OpenOptions options;
  options.compat = ctx.compat;
  options.no_io = flags.no_io;
  options.check = flags.check;
  Result<Image*> image = OpenImage(format, *device, *opener, ctx.arena, options);
  if (!image.ok()) {
    // A file the image names by its name as given (a qcow2's data file)
    // that could not be opened is named, as qemu's bdrv_open_child() does.
    const TransportDeviceOpener::Failure& named = opener->as_given_failure();
    if (named.name != nullptr && image.status().code() == named.status.code() &&
        image.status().message() == named.status.message()) {
      CouldNotOpen(ctx, image_name)
          .Append("Could not open '")
          .Append(named.name, named.name_length)
          .Append("': ")
          .Append(named.status);
      return image.status();
    }
    // So is a file it names relative to itself (a vmdk extent), as qemu's
    // path_combine() names it.
    const TransportDeviceOpener::Failure& relative = opener->relative_failure();
    if (relative.name != nullptr && image.status().code() == relative.status.code() &&
        image.status().message() == relative.status.message()) {
      const ByteView top_name{reinterpret_cast<const uint8_t*>(image_name.name),
                              BoundedLength(image_name.name, image_name.size)};
      Result<ByteView> combined =
          PathCombine(top_name, relative.name, relative.name_length, ctx.arena);
      const ByteView path =
          combined.ok()
              ? *combined
              : ByteView{reinterpret_cast<const uint8_t*>(relative.name), relative.name_length};
      CouldNotOpen(ctx, image_name)
          .Append("Could not open '")
          .Append(reinterpret_cast<const char*>(path.data), path.size)
          .Append("': ")
          .Append(relative.status);
      return image.status();
    }
    return Fail(ctx, image_name, image.status());
  }
  if (flags.backing == BackingChain::kOpen) {
    BackingFailure failure;
    if (Status s =
            OpenBackingChain(**image, *opener, ctx.arena, options, kMaxBackingDepth, &failure);
        !s.ok()) {
      ReportBackingFailure(ctx, image_name, s, failure);
      return s;
    }
  }
  return OpenedImage{*image, format, writable};
}

void AppendReadFailure(TextBuilder& text, const Status& status) {
  if (status.code() == StatusCode::kIOError || status.code() == StatusCode::kCorruption) {
    text.Append(QemuErrnoText(QemuErrno::kEIO));
  } else {
    text.Append(status.message());
  }
}

bool StartsWith(const char* text, size_t length, const char* prefix, size_t prefix_length) {
  if (length < prefix_length) return false;
  for (size_t i = 0; i < prefix_length; ++i) {
    if (text[i] != prefix[i]) return false;
  }
  return true;
}

size_t TrimOptionErrorText(const char* text, size_t length) {
  static constexpr char kMeasureLine[] = "\nqemu-img: Invalid options for file format";
  constexpr size_t kMeasureLineLength = sizeof(kMeasureLine) - 1;
  for (size_t i = 0; i + kMeasureLineLength <= length; ++i) {
    if (StartsWith(text + i, length - i, kMeasureLine, kMeasureLineLength)) {
      length = i;
      break;
    }
  }
  while (length > 0 && text[length - 1] == '\n') --length;
  return length;
}

Status ReadSnapshotConfig(uint32_t kind, uint32_t flags, const char* name, size_t name_size,
                          const char* id, size_t id_size, MeasureSnapshot* out) {
  *out = MeasureSnapshot();
  const size_t name_length = BoundedLength(name, name_size);
  const size_t id_length = BoundedLength(id, id_size);
  if (name_length == name_size || id_length == id_size) {
    return Status::InvalidArgument("the sandbox received an unterminated snapshot name");
  }
  switch (static_cast<abi::MeasureSnapshotKind>(kind)) {
    case abi::MeasureSnapshotKind::kNone:
      return Status::Ok();
    case abi::MeasureSnapshotKind::kIdOrName:
      out->kind = MeasureSnapshotKind::kIdOrName;
      out->name = MeasureText{name, name_length};
      return Status::Ok();
    case abi::MeasureSnapshotKind::kIdAndName:
      out->kind = MeasureSnapshotKind::kIdAndName;
      if ((flags & abi::kSnapshotHasId) != 0) out->id = MeasureText{id, id_length};
      if ((flags & abi::kSnapshotHasName) != 0) out->name = MeasureText{name, name_length};
      return Status::Ok();
  }
  return Status::InvalidArgument("the sandbox received an unknown snapshot kind");
}

Result<OpenedTarget> OpenTargetForWrites(OperationContext& ctx, const FormatDriver& driver,
                                         WritableDevice& output, uint64_t now_seconds,
                                         const uint8_t* random) {
  auto could_not_open = [&ctx](const Status& status) {
    ctx.error.Clear();
    ctx.error.Append("qemu-img: Could not open '")
        .Append(ctx.config.filename)
        .Append("': ")
        .Append(status);
    return status;
  };
  TransportDeviceOpener opener(ctx.transport, ctx.arena, 0);
  OpenOptions open_options;
  open_options.compat = ctx.compat;
  Result<Image*> opened = OpenImage(driver.format, output, opener, ctx.arena, open_options);
  if (!opened.ok()) return could_not_open(opened.status());
  // A target made with a backing file (convert -B) opens it as qemu-img's
  // img_open_file() does, relative to the target's directory: its writer
  // reads what the copy-on-write of a partial cluster takes from it.
  if ((*opened)->HasBacking()) {
    BackingFailure failure;
    if (Status s =
            OpenBackingChain(**opened, opener, ctx.arena, open_options, kMaxBackingDepth, &failure);
        !s.ok()) {
      ReportBackingFailure(ctx, NamedImage{ctx.config.filename, sizeof(ctx.config.filename)}, s,
                           failure);
      return s;
    }
  }
  if (driver.open_writer == nullptr) {
    ctx.error.Clear();
    ctx.error.Append("qemu-img: ")
        .Append(ctx.config.filename)
        .Append(": instar cannot write guest data to a ")
        .Append(driver.name)
        .Append(" image yet");
    return Status::NotSupported("no guest data writer for this format");
  }
  WriterEntropy entropy;
  entropy.now_seconds = now_seconds;
  CopyBytes(entropy.random, random, sizeof(entropy.random));
  Result<ImageWriter*> writer =
      driver.open_writer(**opened, output, entropy, ctx.compat, ctx.arena);
  if (!writer.ok()) return could_not_open(writer.status());
  return OpenedTarget{*opened, *writer};
}

}  // namespace instar::guest
