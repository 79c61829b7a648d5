// `qemu-img convert`: img_convert()'s steps after its getopt loop, inside
// the sandbox. The host read the command line, created the output under a
// temporary name as device 0 (or, with -n, opened the existing target in
// place) and opened the sources; here, in qemu's order:
//
//   1. each source opened as img_open() opens it (-f or probed, with its
//      backing chain), its length in 512-byte sectors (blk_nb_sectors) and
//      its alignment (its request alignment and bdrv_get_info's cluster
//      size, in sectors) taken;
//   2. -O looked up ("Unknown file format '%s'"), a format without
//      creation refused, the -o text parsed for it with the size set to
//      the sources' total;
//   3. -c's checks: the driver can compress, no encryption, no
//      preallocation;
//   4. bdrv_create() (the driver's create hook on device 0), then the
//      target opened by its reader and, through open_writer, for guest
//      writes;
//   5. the copy: convert_iteration_sectors() and convert_co_write() of
//      qemu-img.c, with one coroutine's view of them (qemu's eight write
//      in order unless -W, so the writes are the same ones in the same
//      order): the sources' block status above nothing, zero runs skipped
//      on a target that starts zeroed, data runs split by the -S
//      detection (is_allocated_sectors_min) and written, or written as
//      whole compressed clusters with -c (or where the target needs
//      compressed writes: a streamOptimized vmdk);
//   6. with compression, the end-of-file signal (a compressed write of
//      nothing); then the writer's Finish().
//
// A failure anywhere is the error result in qemu's words, and the host
// removes the output (qemu would leave a partial file).
#include "instar/engine/compare.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/modify.h"
#include "instar/guest/convert_result.h"
#include "instar/guest/transport_device.h"
#include "ops/operation.h"

namespace instar::guest {

namespace {

using K = MeasureOptionKey;

constexpr char kQemuImg[] = "qemu-img: ";
constexpr uint64_t kSector = 512;
// qemu-img.c's IO_BUF_SIZE in sectors: the most one iteration reads.
constexpr uint64_t kBufSectors = (2u << 20) / kSector;
// BDRV_REQUEST_MAX_SECTORS: the most one block status query asks for.
constexpr uint64_t kRequestMaxSectors = (INT32_MAX & ~uint64_t{511}) / kSector;

// The state of a run of the sources, as img_convert sees it (no target
// backing file: BLK_BACKING_FILE never arises).
enum class Run : uint8_t { kData, kZero };

struct Source {
  Image* image = nullptr;
  const char* name = nullptr;
  uint64_t sectors = 0;
  uint64_t alignment = 1;  // sectors
};

// img_convert's ImgConvertState, what the copy needs of it.
struct Convert {
  Source* sources = nullptr;
  uint32_t source_count = 0;
  uint64_t total_sectors = 0;
  Run status = Run::kData;
  uint64_t sector_next_status = 0;
  bool has_zero_init = false;
  bool compressed = false;
  uint64_t min_sparse = 8;
  uint64_t alignment = 8;
  uint64_t cluster_sectors = 0;
  uint64_t buf_sectors = kBufSectors;
  uint64_t written = 0;
  ImageWriter* writer = nullptr;
  uint8_t* buffer = nullptr;
  const uint8_t* zeros = nullptr;  // buf_sectors of zeros
  Arena* scratch = nullptr;
  QemuVersion compat;
};

// Whether one 512-byte sector is all zeros (buffer_is_zero()).
bool SectorIsZero(const uint8_t* sector) {
  uint64_t any = 0;
  for (size_t i = 0; i < kSector; i += 8) {
    uint64_t word;
    CopyBytes(&word, sector + i, 8);
    any |= word;
  }
  return any == 0;
}

bool BufferIsZero(const uint8_t* buffer, uint64_t sectors) {
  for (uint64_t i = 0; i < sectors; ++i) {
    if (!SectorIsZero(buffer + i * kSector)) return false;
  }
  return true;
}

// is_allocated_sectors(): whether the first of `n` sectors holds data, and
// in *pnum how many from it share that state, the end moved to an
// `alignment` boundary as qemu moves it (since 7.0 a buffer all in one
// state is left whole).
bool IsAllocatedSectors(const uint8_t* buffer, uint64_t n, uint64_t* pnum, uint64_t sector_num,
                        uint64_t alignment, const QemuVersion& compat) {
  if (n == 0) {
    *pnum = 0;
    return false;
  }
  bool is_zero = SectorIsZero(buffer);
  uint64_t i = 1;
  for (; i < n; ++i) {
    if (is_zero != SectorIsZero(buffer + i * kSector)) break;
  }
  if (i == n && compat.AtLeast(7, 0)) {
    *pnum = i;
    return !is_zero;
  }
  const uint64_t tail = (sector_num + i) & (alignment - 1);
  if (tail != 0) {
    if (is_zero && i <= tail) is_zero = false;
    if (!is_zero) {
      i += alignment - tail;
      if (i > n) i = n;
    } else {
      i -= tail;
    }
  }
  *pnum = i;
  return !is_zero;
}

// is_allocated_sectors_min(): as above, but a data run absorbs zero runs
// shorter than `min` sectors that follow it.
bool IsAllocatedSectorsMin(const uint8_t* buffer, uint64_t n, uint64_t* pnum, uint64_t min,
                           uint64_t sector_num, uint64_t alignment, const QemuVersion& compat) {
  if (n < min) min = n;
  if (!IsAllocatedSectors(buffer, n, pnum, sector_num, alignment, compat)) return false;
  uint64_t num_used = *pnum;
  buffer += kSector * *pnum;
  n -= *pnum;
  sector_num += *pnum;
  uint64_t num_checked = num_used;
  while (n > 0) {
    const bool data = IsAllocatedSectors(buffer, n, pnum, sector_num, alignment, compat);
    buffer += kSector * *pnum;
    n -= *pnum;
    sector_num += *pnum;
    num_checked += *pnum;
    if (data) {
      num_used = num_checked;
    } else if (*pnum >= min) {
      break;
    }
  }
  *pnum = num_used;
  return true;
}

// convert_select_part(): the source `sector` lies in, and where it starts.
uint32_t SelectPart(const Convert& c, uint64_t sector, uint64_t* source_start) {
  uint32_t index = 0;
  *source_start = 0;
  while (index + 1 < c.source_count && sector - *source_start >= c.sources[index].sectors) {
    *source_start += c.sources[index].sectors;
    ++index;
  }
  return index;
}

// 7.0 moved the copy's messages from sectors to bytes.
void AppendWhere(TextBuilder& text, const char* what, uint64_t sector, const QemuVersion& compat) {
  if (compat.AtLeast(7, 0)) {
    text.Append("error while ").Append(what).Append(" at byte ").AppendDecimal(sector * kSector);
  } else {
    text.Append("error while ").Append(what).Append(" sector ").AppendDecimal(sector);
  }
}

Status FailCopy(OperationContext& ctx, const char* what, uint64_t sector, Status status) {
  ctx.error.Clear();
  ctx.error.Append(kQemuImg);
  AppendWhere(ctx.error, what, sector, ctx.compat);
  ctx.error.Append(": ");
  AppendReadFailure(ctx.error, status);
  return status;
}

// convert_iteration_sectors(): how many sectors from `sector` the next
// step handles, with c->status set for them.
Result<uint64_t> IterationSectors(OperationContext& ctx, Convert& c, uint64_t sector) {
  uint64_t source_start = 0;
  const uint32_t index = SelectPart(c, sector, &source_start);
  const Source& source = c.sources[index];
  uint64_t n = c.total_sectors - sector;
  if (n > kRequestMaxSectors) n = kRequestMaxSectors;

  if (c.sector_next_status <= sector) {
    const uint64_t offset = (sector - source_start) * kSector;
    // A query past the source's end (the last sector of a source whose
    // length is not a whole sector) reads as zeros.
    const uint64_t source_bytes = source.image->VirtualSize();
    uint32_t flags = block_status::kZero;
    uint64_t count = n * kSector;
    if (offset < source_bytes) {
      uint64_t ask = n * kSector;
      if (ask > source_bytes - offset) ask = source_bytes - offset;
      Result<BlockStatus> status = BlockStatusAbove(*source.image, offset, ask, c.compat);
      if (!status.ok()) {
        ctx.error.Clear();
        ctx.error.Append(kQemuImg);
        if (c.compat.AtLeast(7, 0)) {
          ctx.error.Append("error while reading block status at offset ").AppendDecimal(offset);
        } else {
          ctx.error.Append("error while reading block status of sector ").AppendDecimal(sector);
        }
        ctx.error.Append(": ");
        AppendReadFailure(ctx.error, status.status());
        return status.status();
      }
      flags = status->flags;
      count = status->bytes;
    }
    n = (count + kSector - 1) / kSector;
    // The next status query starts on the source's alignment.
    const uint64_t tail = (sector - source_start + n) % source.alignment;
    if (n > tail) n -= tail;
    if ((flags & block_status::kZero) != 0) {
      c.status = Run::kZero;
    } else {
      c.status = Run::kData;
    }
    c.sector_next_status = sector + n;
  }

  if (n > c.sector_next_status - sector) n = c.sector_next_status - sector;
  if (c.status == Run::kData && n > c.buf_sectors) n = c.buf_sectors;
  // Compressed clusters are written whole: a shorter run is taken as the
  // whole cluster's data.
  if (c.compressed) {
    if (n < c.cluster_sectors) {
      n = c.cluster_sectors;
      if (n > c.total_sectors - sector) n = c.total_sectors - sector;
      c.status = Run::kData;
    } else {
      n -= n % c.cluster_sectors;
    }
  }
  return n;
}

// convert_co_read(): `n` sectors from `sector`, across the sources.
Status ReadSectors(OperationContext& ctx, Convert& c, uint64_t sector, uint64_t n) {
  uint8_t* out = c.buffer;
  const uint64_t first = sector;
  while (n > 0) {
    uint64_t source_start = 0;
    const Source& source = c.sources[SelectPart(c, sector, &source_start)];
    uint64_t count = source.sectors - (sector - source_start);
    if (count > n) count = n;
    const uint64_t offset = (sector - source_start) * kSector;
    const uint64_t size = source.image->VirtualSize();
    // Bytes past the source's end (its last partial sector) read as zeros.
    uint64_t bytes = count * kSector;
    uint64_t inside = offset < size ? size - offset : 0;
    if (inside > bytes) inside = bytes;
    if (inside > 0) {
      if (Status s = ReadGuest(*source.image, offset, inside, out, c.compat, *c.scratch); !s.ok()) {
        return FailCopy(ctx, "reading", first, s);
      }
    }
    if (inside < bytes) FillBytes(out + inside, 0, bytes - inside);
    sector += count;
    n -= count;
    out += bytes;
  }
  return Status::Ok();
}

Status WriteData(OperationContext& ctx, Convert& c, uint64_t sector, const uint8_t* data,
                 uint64_t n) {
  const uint64_t bytes = n * kSector;
  const Status s = c.compressed ? c.writer->WriteCompressed(sector * kSector, data, bytes)
                                : c.writer->Write(sector * kSector, data, bytes);
  if (!s.ok()) return FailCopy(ctx, "writing", sector, s);
  c.written += bytes;
  return Status::Ok();
}

// blk_co_pwrite_zeroes() on a target that does not start zeroed (-n):
// the writers have no zero write, so the zeros are written as data.
Status WriteZeros(OperationContext& ctx, Convert& c, uint64_t sector, uint64_t n) {
  while (n > 0) {
    const uint64_t count = n < c.buf_sectors ? n : c.buf_sectors;
    if (Status s = c.writer->Write(sector * kSector, c.zeros, count * kSector); !s.ok()) {
      return FailCopy(ctx, "writing", sector, s);
    }
    sector += count;
    n -= count;
  }
  return Status::Ok();
}

// convert_co_write(): the `n` sectors at `sector` of one iteration.
Status WriteSectors(OperationContext& ctx, Convert& c, uint64_t sector, uint64_t n, Run status) {
  const uint8_t* buffer = c.buffer;
  while (n > 0) {
    uint64_t count = n;
    bool zero = status == Run::kZero;
    if (status == Run::kData) {
      bool write = c.min_sparse == 0;
      if (!write && !c.compressed) {
        write = IsAllocatedSectorsMin(buffer, n, &count, c.min_sparse, sector, c.alignment,
                                      c.compat);
      } else if (!write) {
        write = !BufferIsZero(buffer, n);
      }
      if (write) {
        INSTAR_RETURN_IF_ERROR(WriteData(ctx, c, sector, buffer, count));
      } else {
        zero = true;
      }
    }
    if (zero && !c.has_zero_init) INSTAR_RETURN_IF_ERROR(WriteZeros(ctx, c, sector, count));
    sector += count;
    n -= count;
    buffer += count * kSector;
  }
  return Status::Ok();
}

// convert_do_copy()'s loop, one iteration after the other.
Status Copy(OperationContext& ctx, Convert& c) {
  c.sector_next_status = 0;
  for (uint64_t sector = 0; sector < c.total_sectors;) {
    INSTAR_ASSIGN_OR_RETURN(uint64_t n, IterationSectors(ctx, c, sector));
    Run status = c.status;
    if (c.min_sparse == 0 && status == Run::kZero && n > c.buf_sectors) n = c.buf_sectors;
    if (status == Run::kData) {
      INSTAR_RETURN_IF_ERROR(ReadSectors(ctx, c, sector, n));
    } else if (c.min_sparse == 0 && status == Run::kZero) {
      FillBytes(c.buffer, 0, n * kSector);
      status = Run::kData;
    }
    INSTAR_RETURN_IF_ERROR(WriteSectors(ctx, c, sector, n, status));
    sector += n;
  }
  return Status::Ok();
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

// Step 1: the sources, devices `first` .. `first + count - 1`.
Status OpenSources(OperationContext& ctx, uint32_t first, Convert& c) {
  const abi::ConvertConfig& config = ctx.config.convert;
  c.sources = ctx.arena.AllocateArray<Source>(config.source_count);
  if (c.sources == nullptr) return Status::NoSpace("out of memory for the sources");
  const char* name = config.source_names;
  const char* names_end = config.source_names + sizeof(config.source_names);
  const ImageOpenFlags flags{BackingChain::kOpen, false};
  for (uint32_t i = 0; i < config.source_count; ++i) {
    const size_t size = static_cast<size_t>(names_end - name);
    INSTAR_ASSIGN_OR_RETURN(OpenedImage opened, OpenNamedImage(ctx, first + i, name, size,
                                                               config.source_format, flags));
    Source& source = c.sources[i];
    source = Source();
    source.image = opened.image;
    source.name = name;
    const QemuLength length = opened.image->Length();
    if (!length.ok) {
      ctx.error.Clear();
      ctx.error.Append(kQemuImg).Append("Could not get size of ").Append(name).Append(": ");
      AppendStrError(ctx.error, length.error_number);
      return Status::InvalidArgument("source length");
    }
    source.sectors = (length.bytes + kSector - 1) / kSector;
    uint64_t alignment = (opened.image->RequestAlignment() + kSector - 1) / kSector;
    const FormatDriver* driver = FindFormatDriver(opened.format);
    if (driver != nullptr && driver->describe != nullptr) {
      ImageDescription description;
      driver->describe(*opened.image, &description);
      if (description.has_driver_info && description.cluster_size / kSector > alignment) {
        alignment = description.cluster_size / kSector;
      }
    }
    source.alignment = alignment == 0 ? 1 : alignment;
    c.total_sectors += source.sectors;
    name += BoundedLength(name, size) + 1;
  }
  c.source_count = config.source_count;
  return Status::Ok();
}

}  // namespace

Status ConvertOperation(OperationContext& ctx) {
  // RunOperation() checked the texts, the source count and the names.
  const abi::ConvertConfig& config = ctx.config.convert;
  const bool no_output = (config.flags & abi::kConvertNoOutput) != 0;
  const bool skip_create = (config.flags & abi::kConvertSkipCreate) != 0;
  Convert c;
  c.compat = ctx.compat;
  c.scratch = &ctx.arena;
  c.compressed = (config.flags & abi::kConvertCompress) != 0;
  c.min_sparse = config.min_sparse;

  // 1. The sources.
  INSTAR_RETURN_IF_ERROR(OpenSources(ctx, no_output ? 0 : 1, c));

  // 2. The target's format and options.
  MeasureError error;
  ImageFormat target = ImageFormat::kUnknown;
  const FormatDriver* driver = nullptr;
  auto* options = ctx.arena.New<ParsedMeasureOptions>();
  if (options == nullptr) return Status::NoSpace("out of memory for the create options");
  if (Status s = LookUpMeasureTarget(config.target_format, sizeof(config.target_format),
                                     ctx.compat, &target, &error);
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
    if (options->Get(K::kBackingFile).present) {
      return RefuseText(ctx, "instar convert cannot write a target with a backing file yet",
                        Status::NotSupported("backing file for the target"));
    }
  }

  // 3. -c's checks.
  if (c.compressed && !skip_create) {
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
    if (prealloc.present && !(prealloc.text.length == 3 && BytesEqual(prealloc.text.data, "off", 3))) {
      return RefuseText(ctx, "Compression and preallocation not supported at the same time",
                        Status::InvalidArgument("compression and preallocation"));
    }
  }

  // 4. bdrv_create(), then the target opened for writing.
  if (no_output) return ctx.writer.Bool(convert_result::kTagNoOutput, true);
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
  TransportDeviceOpener opener(ctx.transport, ctx.arena, 0);
  OpenOptions open_options;
  open_options.compat = ctx.compat;
  Result<Image*> opened = OpenImage(target, *output, opener, ctx.arena, open_options);
  if (!opened.ok()) {
    ctx.error.Clear();
    ctx.error.Append(kQemuImg)
        .Append("Could not open '")
        .Append(ctx.config.filename)
        .Append("': ")
        .Append(opened.status());
    return opened.status();
  }
  if (skip_create && (*opened)->VirtualSize() / kSector < c.total_sectors) {
    return RefuseText(ctx, "output file is smaller than input file",
                      Status::InvalidArgument("output too small"));
  }
  if (c.compressed && !driver->compressed_writes) {
    return RefuseText(ctx, "Compression not supported for this file format",
                      Status::NotSupported("no compression"));
  }
  if (driver->open_writer == nullptr) {
    ctx.error.Clear();
    ctx.error.Append(kQemuImg)
        .Append(ctx.config.filename)
        .Append(": instar cannot write guest data to a ")
        .Append(driver->name)
        .Append(" image yet");
    return Status::NotSupported("no guest data writer for this format");
  }
  WriterEntropy entropy;
  entropy.now_seconds = config.now_seconds;
  CopyBytes(entropy.random, config.random, sizeof(entropy.random));
  Result<ImageWriter*> writer =
      driver->open_writer(**opened, *output, entropy, ctx.compat, ctx.arena);
  if (!writer.ok()) {
    ctx.error.Clear();
    ctx.error.Append(kQemuImg)
        .Append("Could not open '")
        .Append(ctx.config.filename)
        .Append("': ")
        .Append(writer.status());
    return writer.status();
  }
  c.writer = *writer;

  // bdrv_get_info() of the target: its cluster size, and whether every
  // write must be compressed.
  ImageDescription description;
  if (driver->describe != nullptr) driver->describe(**opened, &description);
  if (description.has_driver_info) {
    c.compressed = c.compressed || c.writer->NeedsCompressedWrites();
    c.cluster_sectors = description.cluster_size / kSector;
  } else if (c.compressed) {
    return RefuseText(ctx, "could not get block driver info", Status::NotSupported("no info"));
  }
  // The alignment of the writes: pow2floor(min_sparse), at least a sector.
  c.alignment = 1;
  while (c.alignment * 2 <= c.min_sparse) c.alignment *= 2;
  // A target that starts zeroed: a new image with -S (every regular file
  // and every driver instar writes starts zeroed); -n's existing target is
  // not assumed to.
  c.has_zero_init = !skip_create && c.min_sparse != 0;
  if (c.compressed) {
    if (c.cluster_sectors == 0 || c.cluster_sectors > c.buf_sectors) {
      return RefuseText(ctx, "invalid cluster size", Status::InvalidArgument("cluster size"));
    }
    c.buf_sectors = c.cluster_sectors;
  }

  // 5. The copy.
  c.buffer = ctx.arena.AllocateArray<uint8_t>(kBufSectors * kSector);
  if (c.buffer == nullptr) return Status::NoSpace("out of memory for the convert buffer");
  if (!c.has_zero_init) {
    auto* zeros = ctx.arena.AllocateArray<uint8_t>(kBufSectors * kSector);
    if (zeros == nullptr) return Status::NoSpace("out of memory for the convert buffer");
    FillBytes(zeros, 0, kBufSectors * kSector);
    c.zeros = zeros;
  }
  INSTAR_RETURN_IF_ERROR(Copy(ctx, c));

  // 6. The end.
  if (c.compressed) {
    if (Status s = c.writer->WriteCompressed(0, nullptr, 0); !s.ok()) {
      return FailCopy(ctx, "writing", c.total_sectors, s);
    }
  }
  if (Status s = c.writer->Finish(); !s.ok()) {
    return FailCopy(ctx, "writing", c.total_sectors, s);
  }
  return ctx.writer.U64(convert_result::kTagWritten, c.written);
}

}  // namespace instar::guest
