// `qemu-img convert`: img_convert()'s steps after its getopt loop, inside
// the sandbox. The host read the command line, created the output under a
// temporary name as device 0 (or, with -n, opened the existing target in
// place) and opened the sources; here, in qemu's order:
//
//   1. each source opened as img_open() opens it (-f or probed, with its
//      backing chain), its length in 512-byte sectors (blk_nb_sectors) and
//      its alignment (its request alignment and bdrv_get_info's cluster
//      size, in sectors) taken; -l's snapshot loaded into it (one source
//      only);
//   2. -O looked up ("Unknown file format '%s'"), a format without
//      creation refused, the -o text parsed for it with the size set to
//      the sources' total, then -B and -F set into it
//      (add_old_style_options: "Backing file not supported for file
//      format '%s'");
//   3. the target's backing file: none with several sources, its format
//      required since 6.1 (a warning before);
//   4. -c's checks: the driver can compress, no encryption, no
//      preallocation;
//   5. bdrv_create() (the driver's create hook on device 0), then the
//      target opened by its reader, with its backing chain, and, through
//      open_writer, for guest writes;
//   6. the copy (ConvertImages(), instar/engine/convert.h): the block
//      loop of qemu-img.c, compressed with -c or where the target needs
//      compressed writes (a streamOptimized vmdk), ending with the
//      end-of-file signal of a compressed target; with a backing file for
//      the target, only what the source's top image allocates;
//   7. the writer's Finish().
//
// A failure anywhere is the error result in qemu's words, and the host
// removes the output (qemu would leave a partial file).
#include "instar/engine/convert.h"
#include "instar/engine/create_line.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/measure_dialect.h"
#include "instar/engine/modify.h"
#include "instar/guest/convert_result.h"
#include "instar/guest/transport_device.h"
#include "ops/operation.h"

namespace instar::guest {

namespace {

using K = MeasureOptionKey;

constexpr char kQemuImg[] = "qemu-img: ";
constexpr uint64_t kSector = 512;

// The sources and the disk they make.
struct Sources {
  ConvertSource* sources = nullptr;
  uint32_t count = 0;
  uint64_t total_sectors = 0;
};

// The copy's failure in qemu's words: 7.0 moved them from sectors to
// bytes.
Status FailCopy(OperationContext& ctx, const ConvertFailure& failure, Status status) {
  ctx.error.Clear();
  ctx.error.Append(kQemuImg);
  const bool bytes = ctx.compat.AtLeast(7, 0);
  switch (failure.step) {
    case ConvertStep::kBlockStatus:
      if (bytes) {
        ctx.error.Append("error while reading block status at offset ")
            .AppendDecimal(failure.offset);
      } else {
        ctx.error.Append("error while reading block status of sector ")
            .AppendDecimal(failure.sector);
      }
      break;
    case ConvertStep::kRead:
    case ConvertStep::kWrite: {
      const char* what = failure.step == ConvertStep::kRead ? "reading" : "writing";
      ctx.error.Append("error while ").Append(what);
      if (bytes) {
        ctx.error.Append(" at byte ").AppendDecimal(failure.sector * kSector);
      } else {
        ctx.error.Append(" sector ").AppendDecimal(failure.sector);
      }
      break;
    }
  }
  ctx.error.Append(": ");
  AppendReadFailure(ctx.error, status);
  return status;
}

// The first line of the engine's words for `error`, without its
// "qemu-img: ", as img_convert reports a Error of bdrv_create() or of the
// option parser.
void AppendEngineWords(TextBuilder& text, const MeasureError& error) {
  char words[1024];
  FormatMeasureError(error, words, sizeof(words));
  const size_t length = TrimOptionErrorText(words, BoundedLength(words, sizeof(words)));
  constexpr size_t kPrefix = sizeof(kQemuImg) - 1;
  size_t start = 0;
  if (StartsWith(words, length, kQemuImg, kPrefix)) start = kPrefix;
  text.Append(words + start, length - start);
}

Status Refuse(OperationContext& ctx, Status status, const MeasureError& error) {
  ctx.error.Clear();
  ctx.error.Append(kQemuImg);
  if (error.kind == MeasureErrorKind::kNone) {
    ctx.error.Append(status);
  } else {
    AppendEngineWords(ctx.error, error);
  }
  return status;
}

Status RefuseText(OperationContext& ctx, const char* words, Status status) {
  ctx.error.Clear();
  ctx.error.Append(kQemuImg).Append(words);
  return status;
}

// Whether the driver's creation options take `key` in this version.
bool HasCreateOption(const FormatDriver& driver, MeasureOptionKey key,
                     const MeasureDialect& dialect) {
  for (size_t i = 0; i < driver.create_options.count; ++i) {
    const CreateOption& option = driver.create_options.options[i];
    if (option.key == key && dialect.HasOptionSince(option.since_major, option.since_minor)) {
      return true;
    }
  }
  return false;
}

// add_old_style_options(): -B and -F set into the parsed -o options after
// the -o text, so they win over its backing_file and backing_fmt.
Status SetBackingOptions(OperationContext& ctx, const FormatDriver& driver,
                         ParsedMeasureOptions* options) {
  const abi::ConvertConfig& config = ctx.config.convert;
  const MeasureDialect dialect = MeasureDialectFor(ctx.compat);
  struct Given {
    uint32_t flag;
    K key;
    const char* field;
    size_t size;
    const char* words;
  };
  const Given given[] = {
      {abi::kConvertHasBacking, K::kBackingFile, config.backing_file, sizeof(config.backing_file),
       "Backing file not supported for file format '"},
      {abi::kConvertHasBackingFormat, K::kBackingFmt, config.backing_format,
       sizeof(config.backing_format), "Backing file format not supported for file format '"},
  };
  for (const Given& g : given) {
    if ((config.flags & g.flag) == 0) continue;
    if (!HasCreateOption(driver, g.key, dialect)) {
      ctx.error.Clear();
      ctx.error.Append(kQemuImg).Append(g.words).Append(config.target_format).Append("'");
      return Status::NotSupported("no backing file for this format");
    }
    MeasureOptionValue& value = options->values[static_cast<size_t>(g.key)];
    value = MeasureOptionValue();
    value.present = true;
    value.text = MeasureText{g.field, BoundedLength(g.field, g.size)};
  }
  return Status::Ok();
}

// Step 1: the sources, devices `first` .. `first + count - 1`.
Status OpenSources(OperationContext& ctx, uint32_t first, Sources* out) {
  const abi::ConvertConfig& config = ctx.config.convert;
  out->sources = ctx.arena.AllocateArray<ConvertSource>(config.source_count);
  if (out->sources == nullptr) {
    return Status::NoSpace("out of memory for the sources");
  }
  const char* name = config.source_names;
  const char* names_end = config.source_names + sizeof(config.source_names);
  const ImageOpenFlags flags{BackingChain::kOpen, false};
  for (uint32_t i = 0; i < config.source_count; ++i) {
    const size_t size = static_cast<size_t>(names_end - name);
    INSTAR_ASSIGN_OR_RETURN(OpenedImage opened, OpenNamedImage(ctx, first + i, name, size,
                                                               config.source_format, flags));
    QemuLength length;
    out->sources[i] = ConvertSourceOf(*opened.image, opened.format, &length);
    if (!length.ok) {
      ctx.error.Clear();
      ctx.error.Append(kQemuImg).Append("Could not get size of ").Append(name).Append(": ");
      AppendStrError(ctx.error, length.error_number);
      return Status::InvalidArgument("source length");
    }
    out->total_sectors += out->sources[i].sectors;
    name += BoundedLength(name, size) + 1;
  }
  out->count = config.source_count;
  return Status::Ok();
}

// -p: each report is a kProgress to the host, which draws it.
class TransportProgress final : public ConvertProgress {
 public:
  explicit TransportProgress(Transport& transport) : transport_(transport) {}
  void Report(uint64_t done, uint64_t total) override {
    (void)transport_.Call(abi::MakeRequest(abi::Call::kProgress, 0, done, total), nullptr, nullptr);
  }

 private:
  Transport& transport_;
};

// Everything after the getopt loop; `warning` gets the lines qemu-img
// prints on stderr and goes on (5.2's backing file without its format).
Status Convert(OperationContext& ctx, TextBuilder& warning) {
  // RunOperation() checked the texts, the source count and the names.
  const abi::ConvertConfig& config = ctx.config.convert;
  const bool no_output = (config.flags & abi::kConvertNoOutput) != 0;
  const bool skip_create = (config.flags & abi::kConvertSkipCreate) != 0;
  ConvertSettings settings;
  settings.compat = ctx.compat;
  settings.compressed = (config.flags & abi::kConvertCompress) != 0;
  settings.min_sparse = config.min_sparse;

  // 1. The sources.
  Sources c;
  INSTAR_RETURN_IF_ERROR(OpenSources(ctx, no_output ? 0 : 1, &c));

  // -l: the snapshot loaded into the (one) source.
  MeasureSnapshot snapshot;
  INSTAR_RETURN_IF_ERROR(ReadSnapshotConfig(
      config.snapshot_kind, config.snapshot_flags, config.snapshot, sizeof(config.snapshot),
      config.snapshot_id, sizeof(config.snapshot_id), &snapshot));
  if (snapshot.kind != MeasureSnapshotKind::kNone) {
    if (c.count > 1) {
      return RefuseText(ctx, "No support for concatenating multiple snapshot",
                        Status::InvalidArgument("snapshot of several sources"));
    }
    MeasureError snapshot_error;
    if (Status s = LoadMeasureSnapshot(*c.sources[0].image, snapshot, &snapshot_error); !s.ok()) {
      return Refuse(ctx, s, snapshot_error);
    }
    // img_convert took the source's length before it loaded the snapshot;
    // so does instar (reads past the snapshot's disk are zeros).
  }

  // 2. The target's format and options.
  MeasureError error;
  ImageFormat target = ImageFormat::kUnknown;
  const FormatDriver* driver = nullptr;
  auto* options = ctx.arena.New<ParsedMeasureOptions>();
  if (options == nullptr) return Status::NoSpace("out of memory for the create options");
  if (Status s = LookUpMeasureTarget(config.target_format, sizeof(config.target_format), ctx.compat,
                                     &target, &error);
      !s.ok()) {
    if (error.kind == MeasureErrorKind::kUnknownFormat) {
      ctx.error.Clear();
      ctx.error.Append(kQemuImg)
          .Append("Unknown file format '")
          .Append(config.target_format)
          .Append("'");
      return s;
    }
    if (!skip_create) return Refuse(ctx, s, error);
  }
  driver = FindFormatDriver(target);
  if (!skip_create) {
    if (driver == nullptr || driver->create == nullptr) {
      error = MeasureError();
      error.kind = MeasureErrorKind::kNoImageCreation;
      error.target = target;
      return Refuse(ctx, Status::NotSupported("no writer for this format yet"), error);
    }
    if (Status s = ParseMeasureOptions(target, config.options,
                                       BoundedLength(config.options, sizeof(config.options)),
                                       ctx.compat, ctx.arena, options, &error);
        !s.ok()) {
      return Refuse(ctx, s, error);
    }
    MeasureOptionValue& size = options->values[static_cast<size_t>(K::kSize)];
    size = MeasureOptionValue();
    size.present = true;
    size.number = c.total_sectors * kSector;
    INSTAR_RETURN_IF_ERROR(SetBackingOptions(ctx, *driver, options));
  }

  // 3. The target's backing file: the options' (-B is among them) when
  // the target is made, -B's with -n.
  const MeasureOptionValue& backing_option = options->Get(K::kBackingFile);
  const bool backing_param = !skip_create && backing_option.present;
  const bool target_has_backing =
      backing_param || (skip_create && (config.flags & abi::kConvertHasBacking) != 0);
  if (target_has_backing && c.count > 1) {
    return RefuseText(ctx,
                      "Having a backing file for the target makes no sense when concatenating "
                      "multiple input images",
                      Status::InvalidArgument("backing file with several sources"));
  }
  if (backing_param && !options->Get(K::kBackingFmt).present) {
    if (CreateDialectFor(ctx.compat).backing_without_format == BackingWithoutFormat::kRefuse) {
      return RefuseText(ctx, "Use of backing file requires explicit backing format",
                        Status::InvalidArgument("backing file without format"));
    }
    warning.Append(kQemuImg).Append(
        "warning: Deprecated use of backing file without explicit backing format\n");
  }
  if (backing_param && backing_option.text.length == 0) {
    // qemu-img crashes on an empty name (every version of the matrix).
    return RefuseText(ctx, "instar convert: the backing file name is empty",
                      Status::InvalidArgument("empty backing file name"));
  }

  // 4. -c's checks.
  if (settings.compressed && !skip_create) {
    if (!driver->compressed_writes) {
      return RefuseText(ctx, "Compression not supported for this file format",
                        Status::NotSupported("no compression"));
    }
    if (options->Get(K::kEncryption).present || options->Get(K::kEncryptFormat).present) {
      const MeasureOptionValue& encryption = options->Get(K::kEncryption);
      if (options->Get(K::kEncryptFormat).present || encryption.boolean) {
        return RefuseText(ctx, "Compression and encryption not supported at the same time",
                          Status::InvalidArgument("compression and encryption"));
      }
    }
    const MeasureOptionValue& prealloc = options->Get(K::kPreallocation);
    if (prealloc.present &&
        !(prealloc.text.length == 3 && BytesEqual(prealloc.text.data, "off", 3))) {
      return RefuseText(ctx, "Compression and preallocation not supported at the same time",
                        Status::InvalidArgument("compression and preallocation"));
    }
  }

  // 5. bdrv_create(), then the target opened for writing.
  if (no_output) {
    INSTAR_RETURN_IF_ERROR(ctx.writer.Bool(convert_result::kTagNoOutput, true));
    return ctx.writer.U64(convert_result::kTagSize, c.total_sectors * kSector);
  }
  INSTAR_ASSIGN_OR_RETURN(TransportWritableDevice * output,
                          TransportWritableDevice::Create(ctx.transport, 0, ctx.arena));
  if (!skip_create) {
    CreateRequest request;
    request.options = options;
    request.size = c.total_sectors * kSector;
    request.target_name = MeasureText{
        ctx.config.filename, BoundedLength(ctx.config.filename, sizeof(ctx.config.filename))};
    request.now_seconds = config.now_seconds;
    CopyBytes(request.random, config.random, sizeof(request.random));
    CreateBackingOpener backing_opener(ctx);
    request.backing_opener = &backing_opener;
    error = MeasureError();
    if (Status s = driver->create(request, *output, ctx.compat, ctx.arena, &error); !s.ok()) {
      ctx.error.Clear();
      ctx.error.Append(kQemuImg)
          .Append(ctx.config.filename)
          .Append(": error while converting ")
          .Append(driver->name)
          .Append(": ");
      if (error.kind == MeasureErrorKind::kNone) {
        ctx.error.Append(s);
      } else {
        AppendEngineWords(ctx.error, error);
      }
      return s;
    }
  }
  if (driver == nullptr) {
    return RefuseText(ctx, "instar cannot write guest data to an image of this format yet",
                      Status::NotSupported("no driver"));
  }
  INSTAR_ASSIGN_OR_RETURN(
      OpenedTarget opened,
      OpenTargetForWrites(ctx, *driver, *output, config.now_seconds, config.random));
  if (skip_create && opened.image->VirtualSize() / kSector < c.total_sectors) {
    return RefuseText(ctx, "output file is smaller than input file",
                      Status::InvalidArgument("output too small"));
  }
  if (settings.compressed && !driver->compressed_writes) {
    return RefuseText(ctx, "Compression not supported for this file format",
                      Status::NotSupported("no compression"));
  }

  // bdrv_get_info() of the target: its cluster size, and whether every
  // write must be compressed.
  ImageDescription description;
  if (driver->describe != nullptr) driver->describe(*opened.image, &description);
  if (description.has_driver_info) {
    settings.compressed = settings.compressed || opened.writer->NeedsCompressedWrites();
    settings.cluster_sectors = description.cluster_size / kSector;
  } else if (settings.compressed) {
    return RefuseText(ctx, "could not get block driver info", Status::NotSupported("no info"));
  }
  if (settings.compressed &&
      (settings.cluster_sectors == 0 || settings.cluster_sectors > kConvertBufferBytes / kSector)) {
    return RefuseText(ctx, "invalid cluster size", Status::InvalidArgument("cluster size"));
  }
  // A target that starts zeroed: a new image with -S and no backing file
  // (every regular file and every driver instar writes starts zeroed);
  // -n's existing target is not assumed to.
  settings.has_zero_init = !skip_create && settings.min_sparse != 0 && !target_has_backing;
  // With a backing file: the length of the new target's (bdrv_nb_sectors
  // of it; -1, none, with -n), past which the target reads zeros anyway.
  settings.target_has_backing = target_has_backing;
  settings.target_backing_sectors = -1;
  if (target_has_backing && !skip_create && opened.image->backing() != nullptr) {
    const QemuLength length = opened.image->backing()->Length();
    if (length.ok) {
      settings.target_backing_sectors =
          static_cast<int64_t>((length.bytes + kSector - 1) / kSector);
    }
  }
  TransportProgress progress(ctx.transport);
  if ((config.flags & abi::kConvertProgress) != 0) settings.progress = &progress;

  // 6. and 7. The copy, then the target closed.
  uint8_t* buffer = ctx.arena.AllocateArray<uint8_t>(kConvertBufferBytes);
  if (buffer == nullptr) return Status::NoSpace("out of memory for the convert buffer");
  ConvertFailure failure;
  uint64_t written = 0;
  if (Status s = ConvertImages(c.sources, c.count, settings, *opened.writer, buffer, ctx.arena,
                               &failure, &written);
      !s.ok()) {
    return FailCopy(ctx, failure, s);
  }
  if (Status s = opened.writer->Finish(); !s.ok()) {
    failure.step = ConvertStep::kWrite;
    failure.sector = c.total_sectors;
    return FailCopy(ctx, failure, s);
  }
  return ctx.writer.U64(convert_result::kTagWritten, written);
}

}  // namespace

Status ConvertOperation(OperationContext& ctx) {
  char text[256];
  TextBuilder warning(text, sizeof(text));
  if (Status s = Convert(ctx, warning); !s.ok()) {
    return warning.empty() ? s : FailWithWarning(ctx, warning, s);
  }
  if (warning.empty()) return Status::Ok();
  return ctx.writer.Bytes(convert_result::kTagWarning, warning.c_str(), warning.length());
}

}  // namespace instar::guest
