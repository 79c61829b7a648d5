// `qemu-img create`: bdrv_img_create()'s steps in its order, inside the
// sandbox. The host read the command line (img_create's getopt loop: -f,
// -o lists, -b, -F, -u, the size's syntax) and opened the output as device
// 0, the one writable device, under a temporary name; everything that
// parses option text or image bytes happens here:
//
//   1. the format looked up (LookUpMeasureTarget); a driver with no create
//      hook is refused with qemu's "does not support image creation";
//   2. the -o text parsed against the format's option table
//      (ParseMeasureOptions), the size, -b and -F set into it;
//   3. the backing file checked and, unless -u, opened (kOpen on behalf of
//      device 0: a relative name starts from the new image's directory) to
//      learn its format and, with no size given, its virtual size;
//   4. the Formatting line's options (instar/engine/create_line.h);
//   5. the driver's create hook on the output.
//
// A refusal in 1-3 is the error result ("qemu-img: FILE: ..."); after 4 a
// failure is kTagFailure beside kTagFormatting (create_result.h), as
// qemu-img printed the line before the driver failed.
#include "instar/engine/create_line.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/measure_dialect.h"
#include "instar/guest/create_result.h"
#include "instar/guest/transport_device.h"
#include "ops/operation.h"

namespace instar::guest {

namespace {

using K = MeasureOptionKey;

constexpr char kQemuImg[] = "qemu-img: ";
constexpr size_t kQemuImgLength = sizeof(kQemuImg) - 1;

// "qemu-img: FILE: " and then `text`, the first line of which may start
// with "qemu-img: " (FormatMeasureError's lines): img_create reports
// bdrv_img_create's errors with the file name in front.
void AppendWithFile(TextBuilder& out, const char* filename, const char* text, size_t length) {
  if (StartsWith(text, length, kQemuImg, kQemuImgLength)) {
    text += kQemuImgLength;
    length -= kQemuImgLength;
  }
  out.Append(kQemuImg).Append(filename).Append(": ").Append(text, length);
}

// The engine's words for `error` into ctx.error, with the file name.
Status Refuse(OperationContext& ctx, Status status, const MeasureError& error) {
  if (error.kind == MeasureErrorKind::kNone) {
    ctx.error.Clear();
    ctx.error.Append(kQemuImg).Append(ctx.config.filename).Append(": ").Append(status);
    return status;
  }
  char text[1024];
  FormatMeasureError(error, text, sizeof(text));
  ctx.error.Clear();
  AppendWithFile(ctx.error, ctx.config.filename, text,
                 TrimOptionErrorText(text, BoundedLength(text, sizeof(text))));
  return status;
}

// A refusal in qemu's words that the engine's vocabulary has no entry for.
TextBuilder& RefuseText(OperationContext& ctx) {
  ctx.error.Clear();
  return ctx.error.Append(kQemuImg).Append(ctx.config.filename).Append(": ");
}

bool HasOption(const FormatDriver& driver, MeasureOptionKey key, const MeasureDialect& dialect) {
  for (size_t i = 0; i < driver.create_options.count; ++i) {
    const CreateOption& option = driver.create_options.options[i];
    if (option.key == key && dialect.HasOptionSince(option.since_major, option.since_minor)) {
      return true;
    }
  }
  return false;
}

MeasureText FieldText(const char* field, size_t size) {
  return MeasureText{field, BoundedLength(field, size)};
}

void SetText(ParsedMeasureOptions& options, MeasureOptionKey key, MeasureText text) {
  MeasureOptionValue& value = options.values[static_cast<size_t>(key)];
  value = MeasureOptionValue();
  value.present = true;
  value.text = text;
}

bool TextEquals(MeasureText a, const char* b) {
  size_t i = 0;
  for (; i < a.length; ++i) {
    if (b[i] == '\0' || b[i] != a.data[i]) return false;
  }
  return b[i] == '\0';
}

// Step 3: the backing file opened as qemu opens it to create an image over
// it (BDRV_O_NO_BACKING | BDRV_O_NO_IO): its format (-F, else probed) and
// virtual size.
struct Backing {
  ImageFormat format = ImageFormat::kUnknown;
  uint64_t size = 0;
};
Status OpenBacking(OperationContext& ctx, MeasureText name, MeasureText format_name, Backing* out) {
  uint32_t hint = 0;
  if (format_name.data != nullptr) {
    const FormatDriver* driver = FindFormatDriverByName(format_name.data, format_name.length);
    if (driver == nullptr) {
      RefuseText(ctx)
          .Append("Could not open '")
          .Append(name.data, name.length)
          .Append("': Unknown driver '")
          .Append(format_name.data, format_name.length)
          .Append("'\nCould not open backing image.");
      return Status::InvalidArgument("unknown backing format");
    }
    hint = static_cast<uint32_t>(driver->format);
  }
  TransportDeviceOpener opener(ctx.transport, ctx.arena, 0);
  Result<BlockDevice*> device = opener.Open(name.data, name.length);
  if (!device.ok()) {
    RefuseText(ctx)
        .Append("Could not open '")
        .Append(name.data, name.length)
        .Append("': ")
        .Append(device.status())
        .Append("\nCould not open backing image.");
    return device.status();
  }
  const uint32_t number = static_cast<TransportDevice*>(*device)->device();
  // The name, NUL-terminated, for OpenNamedImage's messages.
  char* terminated = ctx.arena.AllocateArray<char>(name.length + 1);
  if (terminated == nullptr) return Status::NoSpace("out of memory for the backing file name");
  CopyBytes(terminated, name.data, name.length);
  terminated[name.length] = '\0';
  Result<OpenedImage> opened = OpenNamedImage(ctx, number, terminated, name.length + 1, hint,
                                              ImageOpenFlags{BackingChain::kSkip, true});
  if (!opened.ok()) {
    // OpenNamedImage worded "qemu-img: Could not open '...': ..."; qemu
    // adds the file name in front and the hint after.
    char text[1024];
    const size_t length =
        ctx.error.length() < sizeof(text) - 1 ? ctx.error.length() : sizeof(text) - 1;
    CopyBytes(text, ctx.error.c_str(), length);
    ctx.error.Clear();
    AppendWithFile(ctx.error, ctx.config.filename, text, length);
    ctx.error.Append("\nCould not open backing image.");
    return opened.status();
  }
  out->format = opened->format;
  out->size = opened->image->VirtualSize();
  return Status::Ok();
}

}  // namespace

Status CreateOperation(OperationContext& ctx) {
  // RunOperation() checked that the texts are terminated.
  const abi::CreateConfig& c = ctx.config.create;
  const MeasureDialect dialect = MeasureDialectFor(ctx.compat);
  const CreateDialect create_dialect = CreateDialectFor(ctx.compat);
  MeasureError error;

  // 1. The format.
  ImageFormat target = ImageFormat::kUnknown;
  if (Status s = LookUpMeasureTarget(c.target_format, sizeof(c.target_format), ctx.compat, &target,
                                     &error);
      !s.ok()) {
    return Refuse(ctx, s, error);
  }
  const FormatDriver* driver = FindFormatDriver(target);
  if (driver == nullptr || driver->create == nullptr) {
    // instar has no writer for the format yet: qemu's words for a driver
    // that cannot create images, so the harness can tell (docs/divergences.md).
    error.kind = MeasureErrorKind::kNoImageCreation;
    error.target = target;
    return Refuse(ctx, Status::NotSupported("no writer for this format yet"), error);
  }

  // 2. The options, then the size, -b and -F set into them.
  auto* options = ctx.arena.New<ParsedMeasureOptions>();
  if (options == nullptr) return Status::NoSpace("out of memory for the create options");
  if (Status s = ParseMeasureOptions(target, c.options, BoundedLength(c.options, sizeof(c.options)),
                                     ctx.compat, ctx.arena, options, &error);
      !s.ok()) {
    return Refuse(ctx, s, error);
  }
  MeasureOptionValue& size_value = options->values[static_cast<size_t>(K::kSize)];
  bool has_size = size_value.present;
  if (c.has_size != 0) {
    if (has_size) {
      RefuseText(ctx).Append("The image size must be specified only once");
      return Status::InvalidArgument("size given twice");
    }
    size_value = MeasureOptionValue();
    size_value.present = true;
    size_value.number = c.size;
    has_size = true;
  }
  const char* format_name = driver->name;
  if ((c.flags & abi::kCreateHasBacking) != 0) {
    if (!HasOption(*driver, K::kBackingFile, dialect)) {
      RefuseText(ctx)
          .Append("Backing file not supported for file format '")
          .Append(format_name)
          .Append("'");
      return Status::NotSupported("no backing file");
    }
    SetText(*options, K::kBackingFile, FieldText(c.backing_file, sizeof(c.backing_file)));
  }
  if ((c.flags & abi::kCreateHasBackingFormat) != 0) {
    if (!HasOption(*driver, K::kBackingFmt, dialect)) {
      RefuseText(ctx)
          .Append("Backing file format not supported for file format '")
          .Append(format_name)
          .Append("'");
      return Status::NotSupported("no backing format");
    }
    SetText(*options, K::kBackingFmt, FieldText(c.backing_format, sizeof(c.backing_format)));
  }

  // 3. The backing file.
  const MeasureOptionValue& backing_file = options->Get(K::kBackingFile);
  if (backing_file.present) {
    if (TextEquals(backing_file.text, ctx.config.filename)) {
      RefuseText(ctx).Append(
          "Error: Trying to create an image with the same filename as the backing file");
      return Status::InvalidArgument("backing file is the image");
    }
    if (backing_file.text.length == 0) {
      RefuseText(ctx).Append("Expected backing file name, got empty string");
      return Status::InvalidArgument("empty backing file name");
    }
    if ((c.flags & abi::kCreateUnsafe) == 0) {
      const MeasureOptionValue& backing_fmt = options->Get(K::kBackingFmt);
      Backing backing;
      INSTAR_RETURN_IF_ERROR(OpenBacking(ctx, backing_file.text,
                                         backing_fmt.present ? backing_fmt.text : MeasureText{},
                                         &backing));
      if (!backing_fmt.present) {
        const char* detected = ImageFormatName(backing.format);
        if (create_dialect.backing_without_format == BackingWithoutFormat::kRefuse) {
          RefuseText(ctx)
              .Append("Backing file specified without backing format\nDetected format of ")
              .Append(detected)
              .Append(".");
          return Status::InvalidArgument("backing file without format");
        }
        SetText(*options, K::kBackingFmt, MeasureText{detected, BoundedLength(detected, 32)});
        INSTAR_RETURN_IF_ERROR(
            ctx.writer.Bytes(create_result::kTagWarning, detected, BoundedLength(detected, 32)));
      }
      if (!has_size) {
        size_value = MeasureOptionValue();
        size_value.present = true;
        size_value.number = backing.size;
        has_size = true;
      }
    }
  }
  if (!has_size) {
    RefuseText(ctx).Append("Image creation needs a size parameter");
    return Status::InvalidArgument("no size");
  }
  if ((c.flags & abi::kCreateSizeOnly) != 0) {
    return ctx.writer.U64(create_result::kTagSize, size_value.number);
  }

  // 4. The Formatting line.
  const size_t line_length = FormatCreateOptions(*options, ctx.compat, nullptr, 0);
  char* line = ctx.arena.AllocateArray<char>(line_length + 1);
  if (line == nullptr) return Status::NoSpace("out of memory for the Formatting line");
  FormatCreateOptions(*options, ctx.compat, line, line_length + 1);
  INSTAR_RETURN_IF_ERROR(ctx.writer.Bytes(create_result::kTagFormatting, line, line_length));

  // 5. The driver.
  char text[1024];
  TextBuilder failure(text, sizeof(text));
  Result<TransportWritableDevice*> output =
      TransportWritableDevice::Create(ctx.transport, 0, ctx.arena);
  if (!output.ok()) {
    // The host could not create the file (it words that itself).
    failure.Append(kQemuImg).Append(ctx.config.filename).Append(": Could not create '");
    failure.Append(ctx.config.filename).Append("': ").Append(output.status());
    return ctx.writer.Bytes(create_result::kTagFailure, failure.c_str(), failure.length());
  }
  CreateRequest request;
  request.options = options;
  request.size = size_value.number;
  request.target_name = FieldText(ctx.config.filename, sizeof(ctx.config.filename));
  request.now_seconds = c.now_seconds;
  CopyBytes(request.random, c.random, sizeof(request.random));
  CreateBackingOpener backing_opener(ctx);
  request.backing_opener = &backing_opener;
  MeasureError create_error;
  const Status created = driver->create(request, **output, ctx.compat, ctx.arena, &create_error);
  if (created.ok()) return Status::Ok();
  if (create_error.kind == MeasureErrorKind::kNone) {
    failure.Append(kQemuImg).Append(ctx.config.filename).Append(": ").Append(created);
  } else {
    char words[1024];
    FormatMeasureError(create_error, words, sizeof(words));
    AppendWithFile(failure, ctx.config.filename, words,
                   TrimOptionErrorText(words, BoundedLength(words, sizeof(words))));
  }
  return ctx.writer.Bytes(create_result::kTagFailure, failure.c_str(), failure.length());
}

}  // namespace instar::guest
