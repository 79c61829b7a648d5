// Convert: the copy of `qemu-img convert`, as qemu-img.c's
// convert_iteration_sectors(), convert_co_read() and convert_co_write()
// make it, from one or more opened source images into an ImageWriter
// (modify.h). The command around it (the options, the target's creation,
// the messages) is guest/ops/convert_operation.cc's.
//
// Contract:
//  * The sources are read one after the other as one disk of the sum of
//    their lengths (in 512-byte sectors, each source's last partial sector
//    reading as zeros past its end).
//  * Each source is asked for its block status through its whole opened
//    backing chain (BlockStatusAbove()), or, when the target has a backing
//    file (`target_has_backing`, -B), of its top image alone
//    (LayerBlockStatus()); the end of each answer is moved back to the
//    source's alignment (ConvertSourceOf()). What the top image leaves
//    unallocated is then left to the target's backing file: not written.
//    So are zero runs past the end of the target's backing file
//    (`target_backing_sectors`), where the target reads zeros anyway.
//  * Zero runs are not written when the target starts zeroed
//    (`has_zero_init`), else written as zeros: through the writer's
//    WriteZeroes() (qemu's write-zeroes) with a backing file, as data
//    otherwise (-n). Data runs are read at most kConvertBufferBytes at a
//    time and, with `min_sparse` sectors (-S), split into data and zeros
//    by qemu's is_allocated_sectors_min() (7.0 leaves a piece all in one
//    state whole); -S 0 writes everything as data. With `compressed`,
//    every piece is one whole target cluster, written by
//    WriteCompressed() unless it is all zeros on a zeroed target, and at
//    the end the writer gets the end-of-file signal (a compressed write of
//    nothing).
//  * The writes go to the writer in disk order, the ones qemu-img issues
//    (its coroutines write in order unless -W), so a writer that replays
//    qemu's driver writes qemu's image.
//  * A failure stops the copy: a non-ok Status, with `failure` saying in
//    which step and at which sector, for the command's message.
//  * Memory: `buffer` (kConvertBufferBytes) from the caller; zeros for a
//    target that does not start zeroed (kConvertBufferBytes) and what a
//    driver's read_data takes for one cluster from `scratch`.
#ifndef INSTAR_ENGINE_CONVERT_H_
#define INSTAR_ENGINE_CONVERT_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/arena.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/image.h"
#include "instar/engine/modify.h"
#include "instar/engine/status.h"
#include "instar/engine/version.h"

namespace instar {

// qemu-img.c's IO_BUF_SIZE: the most one step of the copy reads.
constexpr uint64_t kConvertBufferBytes = 2u << 20;

struct ConvertSource {
  Image* image = nullptr;
  uint64_t sectors = 0;    // blk_nb_sectors()
  uint64_t alignment = 1;  // sectors: the request alignment and bdrv_get_info()'s cluster size
};

// `image` (opened by the driver of `format`) as img_convert() takes it:
// its length in sectors and its alignment. The length's failure (a length
// qemu's bdrv_getlength() refuses) is `length` not ok.
ConvertSource ConvertSourceOf(Image& image, ImageFormat format, QemuLength* length);

// How far the copy is, for -p, as qemu-img counts it: Report(done, total)
// after each step that copies data, in sectors of the data the copy
// writes (counted before it), and Report(1, 1) at the end.
class ConvertProgress {
 public:
  virtual void Report(uint64_t done, uint64_t total) = 0;

 protected:
  ~ConvertProgress() = default;
};

struct ConvertSettings {
  uint64_t min_sparse = 8;  // -S in sectors; 0: every byte is written
  bool compressed = false;  // -c, or a target that needs compressed writes
  // The target reads as zeros before the copy (a new image with -S and no
  // backing file): zero runs are not written.
  bool has_zero_init = true;
  // The target has a backing file (qemu-img's target_has_backing), and its
  // length in sectors when the target is new (-1: unknown, or -n).
  bool target_has_backing = false;
  int64_t target_backing_sectors = -1;
  uint64_t cluster_sectors = 0;  // the target's cluster, with `compressed`
  QemuVersion compat;
  ConvertProgress* progress = nullptr;  // -p
};

enum class ConvertStep : uint8_t { kBlockStatus, kRead, kWrite };
struct ConvertFailure {
  ConvertStep step = ConvertStep::kRead;
  uint64_t sector = 0;  // where the failed step started (of the disk)
  uint64_t offset = 0;  // kBlockStatus: the byte offset in the source asked
};

// Copies the sources into `writer` (not finished: the caller calls
// Finish()). `written` counts the guest bytes given to the writer as data.
Status ConvertImages(const ConvertSource* sources, uint32_t count, const ConvertSettings& settings,
                     ImageWriter& writer, uint8_t* buffer, Arena& scratch, ConvertFailure* failure,
                     uint64_t* written);

}  // namespace instar

#endif  // INSTAR_ENGINE_CONVERT_H_
