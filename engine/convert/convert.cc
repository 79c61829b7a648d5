// The copy of `qemu-img convert` (instar/engine/convert.h), one step after
// the other as qemu-img.c's convert_co_do_copy() takes them with a single
// coroutine: qemu's eight coroutines write in order unless -W, so the
// writes are the same ones in the same order.
#include "instar/engine/convert.h"

#include "instar/engine/bytes.h"
#include "instar/engine/compare.h"

namespace instar {

namespace {

constexpr uint64_t kSector = 512;
constexpr uint64_t kBufferSectors = kConvertBufferBytes / kSector;
// BDRV_REQUEST_MAX_SECTORS: the most one block status query asks for.
constexpr uint64_t kRequestMaxSectors = (INT32_MAX & ~uint64_t{511}) / kSector;

// What img_convert knows of the run it is in: BLK_DATA, BLK_ZERO, and
// BLK_BACKING_FILE (left to the target's backing file, not written).
enum class Run : uint8_t { kData, kZero, kBacking };

struct Copy {
  const ConvertSource* sources;
  uint32_t count;
  const ConvertSettings& settings;
  ImageWriter& writer;
  uint8_t* buffer;  // the current step's data: buffers[0] or buffers[1]
  Arena& scratch;
  ConvertFailure* failure;
  uint64_t* written;
  uint64_t total_sectors = 0;
  uint64_t buf_sectors = kBufferSectors;
  uint64_t alignment = 1;  // of the writes: pow2floor(min_sparse), at least 1
  Run status = Run::kData;
  uint64_t sector_next_status = 0;
  const uint8_t* zeros = nullptr;
  // Data is written lent (ImageWriter::WriteLent): the host writes it from
  // this memory after the write returns, until a later device call other
  // than a read returns (the next write at the latest). Each step reads
  // into the buffer not lent last, so a read never lands where a write may
  // still be reading.
  uint8_t* buffers[2] = {nullptr, nullptr};
  const uint8_t* lent = nullptr;
};

Status Fail(Copy& c, ConvertStep step, uint64_t sector, Status status) {
  c.failure->step = step;
  c.failure->sector = sector;
  return status;
}

// buffer_is_zero() of one 512-byte sector, 64 bytes a step: data seldom
// starts with 64 zero bytes, so most data sectors are told by their first
// step (the guest has no vector registers; the scan of every sector whole
// was a third of a 1 GiB raw > qcow2 convert's time).
bool SectorIsZero(const uint8_t* sector) {
  for (size_t i = 0; i < kSector; i += 64) {
    uint64_t words[8];
    CopyBytes(words, sector + i, sizeof(words));
    if ((words[0] | words[1] | words[2] | words[3] | words[4] | words[5] | words[6] | words[7]) !=
        0) {
      return false;
    }
  }
  return true;
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
bool IsAllocatedSectors(const uint8_t* buffer, uint64_t n, uint64_t* pnum, uint64_t sector,
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
  const uint64_t tail = (sector + i) & (alignment - 1);
  if (tail != 0) {
    // A short zero run is written as data (the next sector's write would
    // read and rewrite it anyway); a data run's end moves up to the
    // boundary, a zero run's down.
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

// is_allocated_sectors_min(): as above, but a data run takes in the zero
// runs after it that are shorter than `min` sectors.
bool IsAllocatedSectorsMin(const uint8_t* buffer, uint64_t n, uint64_t* pnum, uint64_t min,
                           uint64_t sector, uint64_t alignment, const QemuVersion& compat) {
  if (n < min) min = n;
  if (!IsAllocatedSectors(buffer, n, pnum, sector, alignment, compat)) return false;
  uint64_t num_used = *pnum;
  buffer += kSector * *pnum;
  n -= *pnum;
  sector += *pnum;
  uint64_t num_checked = num_used;
  while (n > 0) {
    const bool data = IsAllocatedSectors(buffer, n, pnum, sector, alignment, compat);
    buffer += kSector * *pnum;
    n -= *pnum;
    sector += *pnum;
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
uint32_t SelectPart(const Copy& c, uint64_t sector, uint64_t* source_start) {
  uint32_t index = 0;
  *source_start = 0;
  while (index + 1 < c.count && sector - *source_start >= c.sources[index].sectors) {
    *source_start += c.sources[index].sectors;
    ++index;
  }
  return index;
}

// convert_iteration_sectors(): how many sectors from `sector` the next
// step handles, with c.status set for them.
Result<uint64_t> IterationSectors(Copy& c, uint64_t sector) {
  uint64_t source_start = 0;
  const ConvertSource& source = c.sources[SelectPart(c, sector, &source_start)];
  uint64_t n = c.total_sectors - sector;
  if (n > kRequestMaxSectors) n = kRequestMaxSectors;
  // Past the end of the target's backing file zeros need no write; the
  // run stops there, for zeros are taken differently on either side.
  bool post_backing_zero = false;
  const int64_t backing_sectors = c.settings.target_backing_sectors;
  if (backing_sectors >= 0) {
    const uint64_t end = static_cast<uint64_t>(backing_sectors);
    if (sector >= end) {
      post_backing_zero = true;
    } else if (sector + n > end) {
      n = end - sector;
    }
  }

  if (c.sector_next_status <= sector) {
    const uint64_t offset = (sector - source_start) * kSector;
    // Past the source's last byte (the rest of a partial last sector)
    // reads as zeros.
    const uint64_t size = source.image->VirtualSize();
    uint32_t flags = block_status::kZero;
    uint64_t count = n * kSector;
    if (offset < size) {
      uint64_t ask = n * kSector;
      if (ask > size - offset) ask = size - offset;
      // With a backing file for the target, the source's top image alone
      // (its own backing file is the base of the query).
      Result<BlockStatus> status =
          c.settings.target_has_backing
              ? LayerBlockStatus(*source.image, offset, ask, c.settings.compat)
              : BlockStatusAbove(*source.image, offset, ask, c.settings.compat);
      if (!status.ok()) {
        c.failure->offset = offset;
        return Fail(c, ConvertStep::kBlockStatus, sector, status.status());
      }
      flags = status->flags;
      count = status->bytes;
    }
    n = (count + kSector - 1) / kSector;
    // The next query starts on the source's alignment.
    const uint64_t tail = (sector - source_start + n) % source.alignment;
    if (n > tail) n -= tail;
    if ((flags & block_status::kZero) != 0) {
      c.status = post_backing_zero ? Run::kBacking : Run::kZero;
    } else if ((flags & block_status::kData) != 0 || !c.settings.target_has_backing) {
      c.status = Run::kData;
    } else {
      c.status = Run::kBacking;
    }
    c.sector_next_status = sector + n;
  }

  if (n > c.sector_next_status - sector) n = c.sector_next_status - sector;
  if (c.status == Run::kData && n > c.buf_sectors) n = c.buf_sectors;
  // Compressed clusters are written whole: a shorter run is taken as the
  // whole cluster's data.
  if (c.settings.compressed) {
    if (n < c.settings.cluster_sectors) {
      n = c.settings.cluster_sectors;
      if (n > c.total_sectors - sector) n = c.total_sectors - sector;
      c.status = Run::kData;
    } else {
      n -= n % c.settings.cluster_sectors;
    }
  }
  return n;
}

// convert_co_read(): `n` sectors from `sector`, across the sources.
Status ReadSectors(Copy& c, uint64_t sector, uint64_t n) {
  uint8_t* out = c.buffer;
  const uint64_t first = sector;
  while (n > 0) {
    uint64_t source_start = 0;
    const ConvertSource& source = c.sources[SelectPart(c, sector, &source_start)];
    uint64_t count = source.sectors - (sector - source_start);
    if (count > n) count = n;
    const uint64_t offset = (sector - source_start) * kSector;
    const uint64_t size = source.image->VirtualSize();
    const uint64_t bytes = count * kSector;
    uint64_t inside = offset < size ? size - offset : 0;
    if (inside > bytes) inside = bytes;
    if (inside > 0) {
      if (Status s = ReadGuest(*source.image, offset, inside, out, c.settings.compat, c.scratch);
          !s.ok()) {
        return Fail(c, ConvertStep::kRead, first, s);
      }
    }
    FillBytes(out + inside, 0, static_cast<size_t>(bytes - inside));
    sector += count;
    n -= count;
    out += bytes;
  }
  return Status::Ok();
}

Status WriteData(Copy& c, uint64_t sector, const uint8_t* data, uint64_t n) {
  const uint64_t bytes = n * kSector;
  const Status s =
      c.settings.compressed
          ? c.writer.WriteCompressed(sector * kSector, data, static_cast<size_t>(bytes))
          : c.writer.WriteLent(sector * kSector, data, static_cast<size_t>(bytes));
  if (!s.ok()) return Fail(c, ConvertStep::kWrite, sector, s);
  if (!c.settings.compressed) c.lent = c.buffer;
  *c.written += bytes;
  return Status::Ok();
}

// blk_co_pwrite_zeroes() with BDRV_REQ_MAY_UNMAP on a target that does
// not start zeroed (one with a backing file, or -n's): the writer's own
// zero write, as qemu's drivers make it (a hole punched in a raw file,
// zero clusters, zeroed grains). On -n's target without a backing file a
// writer that cannot make it (NotSupported: vpc, vhdx, a qcow2's
// compressed or shared clusters) gets the run as zeros written as data,
// which reads the same.
Status WriteZeros(Copy& c, uint64_t sector, uint64_t n) {
  const Status zeroed = c.writer.WriteZeroes(sector * kSector, n * kSector);
  if (zeroed.ok()) return Status::Ok();
  if (c.settings.target_has_backing || zeroed.code() != StatusCode::kNotSupported) {
    return Fail(c, ConvertStep::kWrite, sector, zeroed);
  }
  while (n > 0) {
    const uint64_t count = n < kBufferSectors ? n : kBufferSectors;
    if (Status s = c.writer.Write(sector * kSector, c.zeros, static_cast<size_t>(count * kSector));
        !s.ok()) {
      return Fail(c, ConvertStep::kWrite, sector, s);
    }
    sector += count;
    n -= count;
  }
  return Status::Ok();
}

// convert_co_write(): the `n` sectors at `sector` of one step.
Status WriteSectors(Copy& c, uint64_t sector, uint64_t n, Run status) {
  const uint8_t* buffer = c.buffer;
  const ConvertSettings& s = c.settings;
  // BLK_BACKING_FILE: left unallocated, so the backing file shows.
  if (status == Run::kBacking) return Status::Ok();
  while (n > 0) {
    uint64_t count = n;
    bool zero = status == Run::kZero;
    if (status == Run::kData) {
      bool write = s.min_sparse == 0;
      if (!write && !s.compressed) {
        write =
            IsAllocatedSectorsMin(buffer, n, &count, s.min_sparse, sector, c.alignment, s.compat);
      } else if (!write) {
        write = !BufferIsZero(buffer, n);
      }
      if (write) {
        INSTAR_RETURN_IF_ERROR(WriteData(c, sector, buffer, count));
      } else {
        zero = true;
      }
    }
    if (zero && !s.has_zero_init) INSTAR_RETURN_IF_ERROR(WriteZeros(c, sector, count));
    sector += count;
    n -= count;
    buffer += count * kSector;
  }
  return Status::Ok();
}

}  // namespace

ConvertSource ConvertSourceOf(Image& image, ImageFormat format, QemuLength* length) {
  ConvertSource source;
  source.image = &image;
  *length = image.Length();
  if (length->ok) source.sectors = (length->bytes + kSector - 1) / kSector;
  uint64_t alignment = (image.RequestAlignment() + kSector - 1) / kSector;
  const FormatDriver* driver = FindFormatDriver(format);
  if (driver != nullptr && driver->describe != nullptr) {
    ImageDescription description;
    driver->describe(image, &description);
    if (description.has_driver_info && description.cluster_size / kSector > alignment) {
      alignment = description.cluster_size / kSector;
    }
  }
  source.alignment = alignment == 0 ? 1 : alignment;
  return source;
}

Status ConvertImages(const ConvertSource* sources, uint32_t count, const ConvertSettings& settings,
                     ImageWriter& writer, uint8_t* buffer, Arena& scratch, ConvertFailure* failure,
                     uint64_t* written) {
  *failure = ConvertFailure();
  *written = 0;
  Copy c{sources, count, settings, writer, buffer, scratch, failure, written};
  c.buffers[0] = buffer;
  c.buffers[1] = scratch.AllocateArray<uint8_t>(kConvertBufferBytes);
  if (c.buffers[1] == nullptr) return Status::NoSpace("out of memory for the convert buffer");
  for (uint32_t i = 0; i < count; ++i) c.total_sectors += sources[i].sectors;
  while (c.alignment * 2 <= settings.min_sparse) c.alignment *= 2;
  if (settings.compressed) {
    if (settings.cluster_sectors == 0 || settings.cluster_sectors > kBufferSectors) {
      return Status::InvalidArgument("invalid cluster size");
    }
    c.buf_sectors = settings.cluster_sectors;
  }
  if (!settings.has_zero_init && !settings.target_has_backing) {
    uint8_t* zeros = scratch.AllocateArray<uint8_t>(kConvertBufferBytes);
    if (zeros == nullptr) return Status::NoSpace("out of memory for the convert buffer");
    FillBytes(zeros, 0, kConvertBufferBytes);
    c.zeros = zeros;
  }
  // -p: as convert_do_copy(), the sectors the copy will write as data,
  // counted before it, and after each step that writes some, how many of
  // them are done (qemu-img's percentage; the host draws it as qemu does).
  uint64_t allocated = 0;
  uint64_t allocated_done = 0;
  if (settings.progress != nullptr) {
    for (uint64_t sector = 0; sector < c.total_sectors;) {
      INSTAR_ASSIGN_OR_RETURN(uint64_t n, IterationSectors(c, sector));
      if (c.status == Run::kData || (settings.min_sparse == 0 && c.status == Run::kZero)) {
        allocated += n;
      }
      sector += n;
    }
    c.sector_next_status = 0;
  }
  for (uint64_t sector = 0; sector < c.total_sectors;) {
    INSTAR_ASSIGN_OR_RETURN(uint64_t n, IterationSectors(c, sector));
    c.buffer = c.lent == c.buffers[0] ? c.buffers[1] : c.buffers[0];
    Run status = c.status;
    if (settings.min_sparse == 0 && status == Run::kZero && n > c.buf_sectors) n = c.buf_sectors;
    if (status == Run::kData) {
      INSTAR_RETURN_IF_ERROR(ReadSectors(c, sector, n));
    } else if (settings.min_sparse == 0 && status == Run::kZero) {
      FillBytes(c.buffer, 0, static_cast<size_t>(n * kSector));
      status = Run::kData;
    }
    INSTAR_RETURN_IF_ERROR(WriteSectors(c, sector, n, status));
    sector += n;
    // (A zero run of -S 0 is data by now.)
    if (settings.progress != nullptr && status == Run::kData) {
      allocated_done += n;
      settings.progress->Report(allocated_done, allocated);
    }
  }
  if (settings.compressed) {
    if (Status s = writer.WriteCompressed(0, nullptr, 0); !s.ok()) {
      return Fail(c, ConvertStep::kWrite, c.total_sectors, s);
    }
  }
  // qemu-img's last drawing: 100 whatever was counted.
  if (settings.progress != nullptr) settings.progress->Report(1, 1);
  return Status::Ok();
}

}  // namespace instar
