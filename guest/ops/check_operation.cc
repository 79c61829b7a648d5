// `qemu-img check`: the image the user named, opened as qemu-img check
// opens it (BDRV_O_CHECK, with its backing chain), checked by its format
// driver (instar/engine/check.h), the result and the lines the check
// printed written as check_result.h records. How each version prints them
// is the host's business (vmm/render/check_render.h).
#include "instar/engine/check.h"
#include "instar/guest/check_result.h"
#include "ops/operation.h"

namespace instar::guest {

namespace {

using namespace check_result;

// Keeps the check's stderr lines, up to kMaxLogBytes.
class LogBuffer final : public CheckLog {
 public:
  LogBuffer(char* buffer, size_t capacity) : buffer_(buffer), capacity_(capacity) {}

  void Line(const char* text, size_t length) override {
    if (cut_) return;
    const size_t cut_bytes = sizeof(kLogCutLine) - 1;
    if (length + 1 > capacity_ - cut_bytes - used_) {
      CopyIn(kLogCutLine, cut_bytes);
      cut_ = true;
      return;
    }
    CopyIn(text, length);
    CopyIn("\n", 1);
  }

  const char* data() const { return buffer_; }
  size_t size() const { return used_; }

 private:
  void CopyIn(const char* text, size_t length) {
    for (size_t i = 0; i < length; ++i) buffer_[used_ + i] = text[i];
    used_ += length;
  }

  char* buffer_;
  size_t capacity_;
  size_t used_ = 0;
  bool cut_ = false;
};

}  // namespace

Status CheckOperation(OperationContext& ctx) {
  INSTAR_ASSIGN_OR_RETURN(OpenedImage opened,
                          OpenUserImage(ctx, ImageOpenFlags{BackingChain::kOpen, false, true}));
  char* log_memory = ctx.arena.AllocateArray<char>(kMaxLogBytes);
  if (log_memory == nullptr) return Status::NoSpace("no memory for the check's log");
  LogBuffer log(log_memory, kMaxLogBytes);

  CheckResult result;
  Result<CheckSupport> support = CheckImage(*opened.image, ctx.compat, ctx.arena, log, &result);
  if (!support.ok()) {
    ctx.error.Clear();
    ctx.error.Append("qemu-img: ").Append(support.status());
    return support.status();
  }
  ResultWriter& w = ctx.writer;
  INSTAR_RETURN_IF_ERROR(w.String(kTagFormat, ImageFormatName(opened.format)));
  if (log.size() > 0) INSTAR_RETURN_IF_ERROR(w.Bytes(kTagLog, log.data(), log.size()));
  if (*support == CheckSupport::kNotSupported) return w.Bool(kTagNotSupported, true);
  if (result.failure != CheckFailure::kNone) {
    return w.String(kTagFailure, CheckFailureText(result.failure));
  }
  INSTAR_RETURN_IF_ERROR(w.U64(kTagCorruptions, result.corruptions));
  INSTAR_RETURN_IF_ERROR(w.U64(kTagLeaks, result.leaks));
  INSTAR_RETURN_IF_ERROR(w.U64(kTagCheckErrors, result.check_errors));
  INSTAR_RETURN_IF_ERROR(w.U64(kTagImageEndOffset, result.image_end_offset));
  INSTAR_RETURN_IF_ERROR(w.U64(kTagTotalClusters, result.total_clusters));
  INSTAR_RETURN_IF_ERROR(w.U64(kTagAllocatedClusters, result.allocated_clusters));
  INSTAR_RETURN_IF_ERROR(w.U64(kTagFragmentedClusters, result.fragmented_clusters));
  return w.U64(kTagCompressedClusters, result.compressed_clusters);
}

}  // namespace instar::guest
