// `qemu-img check`: what bdrv_check() finds in an opened image.
//
// A format driver that can check has a `check` hook (FormatDriver), qemu's
// bdrv_co_check; CheckImage() calls it and is the one place that answers
// for a format without one, with qemu-img's "This image format does not
// support checks". The hook fills a CheckResult (qemu's BdrvCheckResult with
// its BlockFragInfo) and hands the lines qemu prints on stderr as it goes
// ("Leaked cluster 7 refcount=1 reference=0", "ERROR ...") to a CheckLog in
// qemu's order; how a version prints the result is the host's business
// (vmm/render/check_render.h).
//
// A check never writes: instar has no repair (-r). Memory is bounded: the
// qcow2 refcount rebuild takes one array of kMaxCheckClusters entries at
// most from the arena, and an image whose file needs more ends the check
// with instar's own error (CheckImage() returns it), never with a partial
// answer.
#ifndef INSTAR_ENGINE_CHECK_H_
#define INSTAR_ENGINE_CHECK_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/arena.h"
#include "instar/engine/image.h"
#include "instar/engine/status.h"
#include "instar/engine/version.h"

namespace instar {

// The negative errno a check hook returned (qemu's `ret < 0`), by the
// strerror() text qemu-img prints after "Check failed: ".
enum class CheckFailure : uint8_t {
  kNone = 0,
  kNotPermitted,     // -EPERM (vmdk's VMDK_ERROR, which is -1)
  kIOError,          // -EIO
  kNoMemory,         // -ENOMEM
  kInvalidArgument,  // -EINVAL
  kFileTooLarge,     // -EFBIG
  kNotSupported,     // -ENOTSUP, from a driver that has a check
};

// strerror() of the failure's errno, as glibc words it; "" for kNone.
const char* CheckFailureText(CheckFailure failure);

// qemu's BdrvCheckResult, the repair counters left out (nothing is
// repaired), and its BlockFragInfo.
struct CheckResult {
  uint64_t corruptions = 0;
  uint64_t leaks = 0;
  uint64_t check_errors = 0;
  uint64_t image_end_offset = 0;
  uint64_t total_clusters = 0;
  uint64_t allocated_clusters = 0;
  uint64_t fragmented_clusters = 0;
  uint64_t compressed_clusters = 0;
  // Not kNone: the hook returned a negative errno; qemu-img then prints no
  // result, only "Check failed: <text>".
  CheckFailure failure = CheckFailure::kNone;
};

// Where a check's stderr lines go, one call per line, without its newline.
// Lines qemu prints through error_report() start with "qemu-img: ".
class CheckLog {
 public:
  virtual void Line(const char* text, size_t length) = 0;

 protected:
  ~CheckLog() = default;
};

// The most clusters of image file a qcow2 check rebuilds refcounts for: 4
// bytes each, 64 MiB of the guest's arena.
constexpr uint64_t kMaxCheckClusters = uint64_t{1} << 24;

// What the caller learns besides the result.
enum class CheckSupport : uint8_t {
  kChecked,       // the driver has a check; *result holds what it found
  kNotSupported,  // qemu's -ENOTSUP from bdrv_check(): no check hook
};

// bdrv_check(image, result, 0): the driver's check of `image` (the top of
// its chain; the backing files are not checked, as in qemu). An error
// Status is instar's own failure (the memory bound), in one line.
Result<CheckSupport> CheckImage(Image& image, const QemuVersion& compat, Arena& arena,
                                CheckLog& log, CheckResult* result);

}  // namespace instar

#endif  // INSTAR_ENGINE_CHECK_H_
