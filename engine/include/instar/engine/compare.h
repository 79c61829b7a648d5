// Compare: `qemu-img compare A B`, walked as qemu-img.c's img_compare()
// walks it, and the reads it needs (ReadGuest()).
//
// Contract:
//  * CompareImages() asks both images (each with its opened backing chain)
//    for block status over the part they share, one run at a time, the
//    shorter of the two runs at once: runs both call zero are not read;
//    runs both allocate are read, at most kCompareChunkBytes at a time, and
//    compared a 512-byte sector at a time; where only one allocates, that
//    one is read and must be zero. Past the shorter image, the longer one's
//    allocated non-zero runs must read as zero ("Warning: Image size
//    mismatch!" first). With `strict`, a size or a block status that
//    differs is the answer. The first difference is reported at the start
//    of the first differing sector, as qemu-img reports it.
//  * A failure is returned as a CompareOutcome with `failure` set: which
//    image and what qemu-img printed for it (its exit status 3 for a block
//    status that failed, 4 for a read). Only an internal error (the sink)
//    is a non-ok Status.
//  * Memory: the two buffers the caller hands in, and what a driver's
//    read_data takes from `scratch` for one cluster (given back at once).
#ifndef INSTAR_ENGINE_COMPARE_H_
#define INSTAR_ENGINE_COMPARE_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/image.h"
#include "instar/engine/status.h"
#include "instar/engine/version.h"

namespace instar {

// qemu-img.c's IO_BUF_SIZE: the most img_compare() reads at once.
constexpr uint64_t kCompareChunkBytes = 2u << 20;

// Reads `length` guest-visible bytes of `image` (and its opened backing
// chain) at `offset` into `out`, as qemu's block layer would return them:
// zero runs and unallocated runs with nothing below as zeros, mapped runs
// from their file, a driver's own data through its locate_data (vhdx) or
// read_data (qcow2's zlib clusters, a streamOptimized vmdk's grains) hook,
// with `scratch` for the buffers that needs. Data the engine cannot read
// (zstd clusters, encrypted data) is NotSupported.
Status ReadGuest(Image& image, uint64_t offset, uint64_t length, uint8_t* out,
                 const QemuVersion& compat, Arena& scratch);

// ReadGuest() of a backing file as a writer's copy-on-write reads it:
// past `image`'s virtual size, zeros (qemu's block layer pads a read
// there).
Status ReadBackingGuest(Image& image, uint64_t offset, uint64_t length, uint8_t* out,
                        const QemuVersion& compat, Arena& scratch);

enum class CompareVerdict : uint8_t {
  kIdentical = 0,         // "Images are identical."
  kContentMismatch,       // "Content mismatch at offset N!"
  kStrictSizeMismatch,    // "Strict mode: Image size mismatch!"
  kStrictStatusMismatch,  // "Strict mode: Offset N block status mismatch!"
};

struct CompareFailure {
  uint32_t exit_code = 0;  // 0: none; 3 block status, 4 read
  uint32_t image = 0;      // 0: A, 1: B
  uint64_t offset = 0;     // the read's offset (exit 4)
  Status status;           // why
};

struct CompareOutcome {
  CompareVerdict verdict = CompareVerdict::kIdentical;
  uint64_t offset = 0;        // kContentMismatch, kStrictStatusMismatch
  bool size_warning = false;  // "Warning: Image size mismatch!" was printed
  CompareFailure failure;     // set: the walk stopped; `verdict` means nothing
};

// img_compare()'s walk of `a` against `b`. `buffer1` and `buffer2` hold
// kCompareChunkBytes each; `scratch` is ReadGuest()'s.
CompareOutcome CompareImages(Image& a, Image& b, bool strict, const QemuVersion& compat,
                             uint8_t* buffer1, uint8_t* buffer2, Arena& scratch);

}  // namespace instar

#endif  // INSTAR_ENGINE_COMPARE_H_
