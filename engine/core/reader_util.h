// What the format readers share: qemu's block-layer view of the file, and
// the ways a reader borrows arena memory while it opens an image. Private to
// the engine.
#ifndef INSTAR_ENGINE_CORE_READER_UTIL_H_
#define INSTAR_ENGINE_CORE_READER_UTIL_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/arena.h"
#include "instar/engine/bytes.h"
#include "instar/engine/device.h"
#include "instar/engine/image.h"
#include "instar/engine/status.h"

namespace instar {

// qemu's BDRV_MAX_LENGTH: INT64_MAX rounded down to 1 GiB, the largest
// offset a request may reach.
constexpr uint64_t kBdrvMaxLength = uint64_t{INT64_MAX} & ~((uint64_t{1} << 30) - 1);

// The file length as qemu sees it (bdrv_getlength): whole 512-byte sectors.
inline uint64_t SectorLength(const BlockDevice& device) {
  const uint64_t size = device.Size();
  return size > kBdrvMaxLength ? kBdrvMaxLength : AlignUp(size, 512);
}

// Gives back, when it goes out of scope, all that was allocated from
// `arena` since it was made: scratch memory for one step of an open.
class ArenaRewind {
 public:
  explicit ArenaRewind(Arena& arena) : arena_(arena), mark_(arena.Mark()) {}
  ~ArenaRewind() { arena_.Reset(mark_); }
  ArenaRewind(const ArenaRewind&) = delete;
  ArenaRewind& operator=(const ArenaRewind&) = delete;

 private:
  Arena& arena_;
  size_t mark_;
};

// Makes a Reader (an Image) in `arena` and calls open(*reader). A reader
// that fails to open is given back with everything it allocated, so a
// failed open leaves the arena as it found it.
template <typename Reader, typename Open>
Result<Image*> OpenReader(Arena& arena, const char* no_space_message, Open open) {
  const size_t mark = arena.Mark();
  Reader* reader = arena.New<Reader>();
  if (reader == nullptr) return Status::NoSpace(no_space_message);
  const Status status = open(*reader);
  if (!status.ok()) {
    arena.Reset(mark);
    return status;
  }
  return static_cast<Image*>(reader);
}

// How many of a table's `entries` entries of `entry_bytes` bytes at
// `offset` lie at least partly below `file_length`; those past the end read
// as zeros.
inline uint64_t EntriesInFile(uint64_t offset, uint64_t entries, size_t entry_bytes,
                              uint64_t file_length) {
  if (offset >= file_length) return 0;
  const uint64_t in_file = DivRoundUp(file_length - offset, entry_bytes);
  return in_file < entries ? in_file : entries;
}

// Reads the `entries` entries of `entry_bytes` bytes at `offset` in 64 KiB
// pieces, through scratch memory from `arena` that is given back before it
// returns, and calls visit(index, entry) on each in turn. Stops at the first
// failed read or visit and returns its Status.
template <typename Visit>
Status ScanTable(BlockDevice& file, Arena& arena, uint64_t offset, uint64_t entries,
                 size_t entry_bytes, const char* no_space_message, Visit visit) {
  ArenaRewind rewind(arena);
  constexpr size_t kScanBytes = 64 * 1024;
  uint8_t* scan = arena.AllocateArray<uint8_t>(kScanBytes);
  if (scan == nullptr) return Status::NoSpace(no_space_message);
  const uint64_t per_scan = kScanBytes / entry_bytes;
  for (uint64_t first = 0; first < entries; first += per_scan) {
    const uint64_t count = entries - first < per_scan ? entries - first : per_scan;
    INSTAR_RETURN_IF_ERROR(
        file.Read(offset + first * entry_bytes, scan, static_cast<size_t>(count * entry_bytes)));
    for (uint64_t k = 0; k < count; ++k) {
      INSTAR_RETURN_IF_ERROR(visit(first + k, scan + k * entry_bytes));
    }
  }
  return Status::Ok();
}

}  // namespace instar

#endif  // INSTAR_ENGINE_CORE_READER_UTIL_H_
