// `qemu-img compare`'s walk: qemu-img.c's img_compare(),
// check_empty_sectors(), compare_buffers() and find_nonzero(), over the
// engine's block status, and the guest-visible reads they need.
#include "instar/engine/compare.h"

#include "instar/engine/bytes.h"
#include "instar/engine/format_driver.h"

namespace instar {

using namespace block_status;

namespace {

constexpr uint64_t kSectorSize = 512;

// Whether [p, p + n) is all zeros, eight bytes at a time where it can.
bool AllZero(const uint8_t* p, uint64_t n) {
  uint64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    if (LoadLE64(p + i) != 0) return false;
  }
  for (; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

bool SameBytes(const uint8_t* a, const uint8_t* b, uint64_t n) {
  uint64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    if (LoadLE64(a + i) != LoadLE64(b + i)) return false;
  }
  for (; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// find_nonzero(): the start of the first sector of buf[0, n) holding a
// non-zero byte, or -1 (as UINT64_MAX) when there is none.
uint64_t FindNonZeroSector(const uint8_t* buf, uint64_t n) {
  for (uint64_t at = 0; at < n; at += kSectorSize) {
    const uint64_t len = n - at < kSectorSize ? n - at : kSectorSize;
    if (!AllZero(buf + at, len)) return at;
  }
  return UINT64_MAX;
}

// compare_buffers() with the default chunk: the start of the first sector
// where the buffers differ, UINT64_MAX when they do not.
uint64_t FindDifferingSector(const uint8_t* a, const uint8_t* b, uint64_t n) {
  for (uint64_t at = 0; at < n; at += kSectorSize) {
    const uint64_t len = n - at < kSectorSize ? n - at : kSectorSize;
    if (!SameBytes(a + at, b + at, len)) return at;
  }
  return UINT64_MAX;
}

void Zero(uint8_t* out, uint64_t n) { __builtin_memset(out, 0, n); }

uint64_t Min(uint64_t a, uint64_t b) { return a < b ? a : b; }

Status ReadLayer(Image& image, uint64_t offset, uint64_t length, uint8_t* out,
                 const QemuVersion& compat, Arena& scratch, int depth) {
  if (depth > kMaxBackingDepth) return Status::Corruption("backing chain too deep");
  while (length > 0) {
    if (offset >= image.VirtualSize()) {
      // Past the end of an image lower in the chain: zeros.
      Zero(out, length);
      return Status::Ok();
    }
    INSTAR_ASSIGN_OR_RETURN(const BlockStatus status,
                            LayerBlockStatus(image, offset, length, compat));
    if (status.bytes == 0) return Status::Corruption("block status made no progress");
    const uint64_t n = Min(status.bytes, length);
    if ((status.flags & kZero) != 0) {
      Zero(out, n);
    } else if ((status.flags & kData) != 0) {
      if ((status.flags & kOffsetValid) != 0 && status.file != nullptr) {
        INSTAR_RETURN_IF_ERROR(status.file->Read(status.map, out, n));
      } else {
        // Data the block status does not place: the driver's own reads.
        const FormatDriver* driver = FindFormatDriver(image.format());
        if (driver != nullptr && driver->read_data != nullptr) {
          for (uint64_t done = 0; done < n;) {
            INSTAR_ASSIGN_OR_RETURN(
                const uint64_t part,
                driver->read_data(image, offset + done, n - done, out + done, scratch));
            if (part == 0 || part > n - done)
              return Status::Corruption("data read made no progress");
            done += part;
          }
          offset += n;
          out += n;
          length -= n;
          continue;
        }
        if (driver == nullptr || driver->locate_data == nullptr) {
          return Status::NotSupported("instar cannot read this data yet (compressed or encrypted)");
        }
        uint64_t done = 0;
        while (done < n) {
          INSTAR_ASSIGN_OR_RETURN(const BlockStatus where,
                                  driver->locate_data(image, offset + done, n - done));
          if (where.bytes == 0) return Status::Corruption("data location made no progress");
          const uint64_t part = Min(where.bytes, n - done);
          if ((where.flags & kOffsetValid) != 0 && where.file != nullptr) {
            INSTAR_RETURN_IF_ERROR(where.file->Read(where.map, out + done, part));
          } else if ((where.flags & kZero) != 0) {
            Zero(out + done, part);
          } else {
            return Status::NotSupported("instar cannot read this data yet");
          }
          done += part;
        }
      }
    } else if (image.backing() != nullptr) {
      INSTAR_RETURN_IF_ERROR(
          ReadLayer(*image.backing(), offset, n, out, compat, scratch, depth + 1));
    } else {
      Zero(out, n);
    }
    offset += n;
    out += n;
    length -= n;
  }
  return Status::Ok();
}

// Whether [offset, offset + length) of `image` reads as zeros without
// reading anything: every run a zero run, an unallocated one with nothing
// (or zeros) below, or a block the driver places nowhere (locate_data's
// kZero). False as soon as a run has data. An empty vhdx calls all of a
// 1 GiB disk data; this is what keeps compare from reading it.
Result<bool> KnownZero(Image& image, uint64_t offset, uint64_t length, const QemuVersion& compat,
                       int depth) {
  if (depth > kMaxBackingDepth) return Status::Corruption("backing chain too deep");
  while (length > 0 && offset < image.VirtualSize()) {
    INSTAR_ASSIGN_OR_RETURN(const BlockStatus status,
                            LayerBlockStatus(image, offset, length, compat));
    if (status.bytes == 0) return Status::Corruption("block status made no progress");
    const uint64_t n = Min(status.bytes, length);
    if ((status.flags & kZero) != 0) {
      // Zeros.
    } else if ((status.flags & kData) != 0) {
      const FormatDriver* driver = FindFormatDriver(image.format());
      if ((status.flags & kOffsetValid) != 0 || driver == nullptr ||
          driver->locate_data == nullptr) {
        return false;
      }
      for (uint64_t done = 0; done < n;) {
        INSTAR_ASSIGN_OR_RETURN(const BlockStatus where,
                                driver->locate_data(image, offset + done, n - done));
        if (where.bytes == 0 || (where.flags & kZero) == 0) return false;
        done += Min(where.bytes, n - done);
      }
    } else if (image.backing() != nullptr) {
      INSTAR_ASSIGN_OR_RETURN(const bool zero,
                              KnownZero(*image.backing(), offset, n, compat, depth + 1));
      if (!zero) return false;
    }
    offset += n;
    length -= n;
  }
  return true;
}

// The walk's state: both images and the two buffers.
class Comparer {
 public:
  Comparer(Image* images[2], const QemuVersion& compat, uint8_t* buffer1, uint8_t* buffer2,
           Arena& scratch)
      : compat_(compat), buffers_{buffer1, buffer2}, scratch_(scratch) {
    images_[0] = images[0];
    images_[1] = images[1];
  }

  CompareOutcome Run(bool strict);

 private:
  // bdrv_block_status_above() of image `which`; false with the failure set.
  bool StatusOf(int which, uint64_t offset, uint64_t bytes, BlockStatus* out);
  // blk_pread(); false with the failure set (exit 4).
  bool Read(int which, uint64_t offset, uint64_t bytes, uint8_t* buffer);
  // KnownZero() of image `which` into *zero; false with the failure set
  // (exit 4: what a read there would have met).
  bool KnownZeroOf(int which, uint64_t offset, uint64_t bytes, bool* zero);
  // check_empty_sectors() of the run [offset, offset + *chunk), which it may
  // shorten to what it read: false when the walk ends (a mismatch or a
  // failure).
  bool CheckEmpty(int which, uint64_t offset, uint64_t* chunk);

  Image* images_[2];
  const QemuVersion& compat_;
  uint8_t* buffers_[2];
  Arena& scratch_;
  CompareOutcome outcome_;
};

bool Comparer::StatusOf(int which, uint64_t offset, uint64_t bytes, BlockStatus* out) {
  Result<BlockStatus> status = BlockStatusAbove(*images_[which], offset, bytes, compat_);
  if (!status.ok()) {
    outcome_.failure = {3, static_cast<uint32_t>(which), offset, status.status()};
    return false;
  }
  if (status->bytes == 0) {
    outcome_.failure = {3, static_cast<uint32_t>(which), offset,
                        instar::Status::Corruption("block status made no progress")};
    return false;
  }
  *out = *status;
  return true;
}

bool Comparer::Read(int which, uint64_t offset, uint64_t bytes, uint8_t* buffer) {
  const instar::Status read = ReadGuest(*images_[which], offset, bytes, buffer, compat_, scratch_);
  if (!read.ok()) {
    outcome_.failure = {4, static_cast<uint32_t>(which), offset, read};
    return false;
  }
  return true;
}

bool Comparer::KnownZeroOf(int which, uint64_t offset, uint64_t bytes, bool* zero) {
  const Result<bool> known = KnownZero(*images_[which], offset, bytes, compat_, 0);
  if (!known.ok()) {
    outcome_.failure = {4, static_cast<uint32_t>(which), offset, known.status()};
    return false;
  }
  *zero = *known;
  return true;
}

bool Comparer::CheckEmpty(int which, uint64_t offset, uint64_t* chunk) {
  // A run known to be zeros is checked whole; one that is read, at most
  // kCompareChunkBytes of it at a time, as qemu-img reads it.
  bool zero = false;
  if (!KnownZeroOf(which, offset, *chunk, &zero)) return false;
  if (zero) return true;
  *chunk = Min(*chunk, kCompareChunkBytes);
  const uint64_t bytes = *chunk;
  if (!Read(which, offset, bytes, buffers_[0])) return false;
  const uint64_t at = FindNonZeroSector(buffers_[0], bytes);
  if (at == UINT64_MAX) return true;
  outcome_.verdict = CompareVerdict::kContentMismatch;
  outcome_.offset = offset + at;
  return false;
}

CompareOutcome Comparer::Run(bool strict) {
  const uint64_t size1 = images_[0]->VirtualSize();
  const uint64_t size2 = images_[1]->VirtualSize();
  const uint64_t common = Min(size1, size2);
  const uint64_t longest = size1 > size2 ? size1 : size2;
  if (strict && size1 != size2) {
    outcome_.verdict = CompareVerdict::kStrictSizeMismatch;
    return outcome_;
  }
  uint64_t offset = 0;
  while (offset < common) {
    BlockStatus status1;
    BlockStatus status2;
    if (!StatusOf(0, offset, size1 - offset, &status1)) return outcome_;
    if (!StatusOf(1, offset, size2 - offset, &status2)) return outcome_;
    const bool allocated1 = (status1.flags & kAllocated) != 0;
    const bool allocated2 = (status2.flags & kAllocated) != 0;
    uint64_t chunk = Min(status1.bytes, status2.bytes);
    if (strict && status1.flags != status2.flags) {
      outcome_.verdict = CompareVerdict::kStrictStatusMismatch;
      outcome_.offset = offset;
      return outcome_;
    }
    if ((status1.flags & kZero) != 0 && (status2.flags & kZero) != 0) {
      // Both read as zeros: nothing to read.
    } else if (allocated1 == allocated2) {
      if (allocated1) {
        // Two runs that both read as zeros without a read are equal, however
        // long (an empty vhdx calls its whole disk data).
        bool zero1 = false;
        bool zero2 = false;
        if (!KnownZeroOf(0, offset, chunk, &zero1) ||
            (zero1 && !KnownZeroOf(1, offset, chunk, &zero2))) {
          return outcome_;
        }
        if (zero1 && zero2) {
          offset += chunk;
          continue;
        }
        chunk = Min(chunk, kCompareChunkBytes);
        if (!Read(0, offset, chunk, buffers_[0]) || !Read(1, offset, chunk, buffers_[1])) {
          return outcome_;
        }
        const uint64_t at = FindDifferingSector(buffers_[0], buffers_[1], chunk);
        if (at != UINT64_MAX) {
          outcome_.verdict = CompareVerdict::kContentMismatch;
          outcome_.offset = offset + at;
          return outcome_;
        }
      }
    } else if (!CheckEmpty(allocated1 ? 0 : 1, offset, &chunk)) {
      return outcome_;
    }
    offset += chunk;
  }

  if (size1 != size2) {
    outcome_.size_warning = true;
    const int over = size1 > size2 ? 0 : 1;
    while (offset < longest) {
      BlockStatus status;
      if (!StatusOf(over, offset, longest - offset, &status)) return outcome_;
      uint64_t chunk = status.bytes;
      if ((status.flags & kAllocated) != 0 && (status.flags & kZero) == 0 &&
          !CheckEmpty(over, offset, &chunk)) {
        return outcome_;
      }
      offset += chunk;
    }
  }
  outcome_.verdict = CompareVerdict::kIdentical;
  return outcome_;
}

}  // namespace

Status ReadGuest(Image& image, uint64_t offset, uint64_t length, uint8_t* out,
                 const QemuVersion& compat, Arena& scratch) {
  return ReadLayer(image, offset, length, out, compat, scratch, 0);
}

Status ReadBackingGuest(Image& image, uint64_t offset, uint64_t length, uint8_t* out,
                        const QemuVersion& compat, Arena& scratch) {
  const uint64_t size = image.VirtualSize();
  uint64_t inside = offset < size ? size - offset : 0;
  if (inside > length) inside = length;
  if (inside > 0) INSTAR_RETURN_IF_ERROR(ReadGuest(image, offset, inside, out, compat, scratch));
  FillBytes(out + inside, 0, static_cast<size_t>(length - inside));
  return Status::Ok();
}

CompareOutcome CompareImages(Image& a, Image& b, bool strict, const QemuVersion& compat,
                             uint8_t* buffer1, uint8_t* buffer2, Arena& scratch) {
  Image* images[2] = {&a, &b};
  Comparer comparer(images, compat, buffer1, buffer2, scratch);
  return comparer.Run(strict);
}

}  // namespace instar
