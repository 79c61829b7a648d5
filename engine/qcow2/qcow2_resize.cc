// The qcow2 resize hook: qcow2_co_truncate() (block/qcow2.c) as
// `qemu-img resize` calls it (exact = false, no flags), writing what qemu
// writes in place.
//
// Growing: qcow2_grow_l1_table(exact_size) puts a new L1 table where the
// allocator finds room (a freed cluster is reused), copies the old entries,
// points the header at it and frees the old one; then the new area is
// preallocated as asked: metadata (preallocate_co(): L2 tables and data
// clusters in qemu's order), falloc or full (new refcount structures past
// the end of the file, then the data area, then its L2 entries). Shrinking
// (--shrink): the clusters past the new end are discarded (their L2
// entries cleared and refcounts dropped), the L2 tables past it freed
// (qcow2_shrink_l1_table(), which keeps the table's size), refcount blocks
// that count nothing freed (qcow2_shrink_reftable()), and the file cut
// after its last cluster in use. The header's size is written last.
#include "core/reader_util.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/qcow2.h"
#include "qcow2/qcow2_in_place.h"
#include "qcow2/qcow2_internal.h"

namespace instar::qcow2_internal {

namespace {

// The clusters a change from `from` to `to` bytes can add: every data
// cluster and L2 table of the new area, and an L1 table for `to`.
uint64_t GrowthClusters(const Qcow2Image& image, uint64_t from, uint64_t to) {
  const uint64_t cluster_size = image.cluster_size();
  const uint64_t l2_entries = cluster_size / (image.extended_l2() ? 16 : 8);
  const uint64_t data = to > from ? DivRoundUp(to - (from & ~(cluster_size - 1)), cluster_size) : 0;
  const uint64_t l1_entries = DivRoundUp(DivRoundUp(to, cluster_size), l2_entries);
  return data + DivRoundUp(data, l2_entries) + DivRoundUp(l1_entries * 8, cluster_size) + 8;
}

}  // namespace

Status TruncateQcow2(Qcow2Image& image, WritableDevice& device, uint64_t offset,
                     Preallocation prealloc, bool shrink, Arena& arena, Qcow2LiveFields* live) {
  // qcow2_co_truncate()'s checks, in its order.
  if (offset % 512 != 0) return Status::InvalidArgument("The new size must be a multiple of 512");
  if (image.snapshot_count() > 0 && image.version() < 3) {
    return Status::NotSupported("Can't resize a v2 image which has snapshots");
  }
  if (image.bitmap_count() > 0) {
    return Status::NotSupported("instar cannot resize a qcow2 image with persistent bitmaps yet");
  }
  if (image.has_external_data_file()) {
    return Status::NotSupported(
        "instar cannot resize a qcow2 image with an external data file yet");
  }
  if (image.encrypted()) {
    return Status::NotSupported("instar cannot resize an encrypted qcow2 image");
  }
  // bs->total_sectors: the stored size rounded down to sectors.
  const uint64_t old_length = live->size & ~uint64_t{511};
  if (offset < old_length && !shrink) {
    return Status::InvalidArgument("Use the --shrink option to perform a shrink operation.");
  }
  if (offset > kBdrvMaxLength) {
    return Status::InvalidArgument("File too large");
  }

  ArenaRewind rewind(arena);
  Qcow2InPlace in_place(image, device);
  const uint64_t growth = prealloc == Preallocation::kOff
                              ? GrowthClusters(image, offset, offset)
                              : GrowthClusters(image, old_length, offset);
  INSTAR_RETURN_IF_ERROR(in_place.Open(arena, growth, *live));
  const uint64_t new_l1_size = in_place.L1EntriesFor(offset);
  const uint64_t cluster_size = in_place.cluster_size();
  if (offset < old_length) {
    if (prealloc != Preallocation::kOff) {
      // qemu-img refuses before the driver's own "Preallocation can't be
      // used for shrinking an image" is reached; its words are the ones
      // a user sees.
      return Status::InvalidArgument("Preallocation can only be used for growing images");
    }
    const uint64_t first = AlignUp(offset, cluster_size);
    if (old_length > first) {
      const Status discarded = in_place.DiscardClusters(first, old_length - first);
      if (discarded.code() == StatusCode::kNotSupported) return discarded;
      // (error_setg_errno() of the failing call; instar's failures are I/O.)
      if (!discarded.ok()) {
        return Status::IOError("Failed to discard cropped clusters: Input/output error");
      }
    }
    INSTAR_RETURN_IF_ERROR(in_place.ShrinkL1(new_l1_size));
    INSTAR_RETURN_IF_ERROR(in_place.allocator().ShrinkReftable());
    INSTAR_RETURN_IF_ERROR(in_place.TruncateToLastCluster());
  } else {
    const Status grown = in_place.GrowL1(new_l1_size);
    if (grown.code() == StatusCode::kOutOfRange) {
      return Status::InvalidArgument("Failed to grow the L1 table: File too large");
    }
    INSTAR_RETURN_IF_ERROR(grown);
  }
  switch (prealloc) {
    case Preallocation::kOff:
      break;
    case Preallocation::kMetadata:
      INSTAR_RETURN_IF_ERROR(in_place.PreallocateMetadata(old_length, offset));
      break;
    case Preallocation::kFalloc:
    case Preallocation::kFull:
      if (offset > old_length) {
        INSTAR_RETURN_IF_ERROR(
            in_place.PreallocateData(old_length, offset, prealloc == Preallocation::kFull));
      }
      break;
  }
  INSTAR_RETURN_IF_ERROR(in_place.Flush());
  in_place.set_size(offset);
  INSTAR_RETURN_IF_ERROR(in_place.WriteHeaderFields());
  *live = in_place.live();
  return device.Flush();
}

Status ResizeQcow2(Image& image, WritableDevice& device, const ResizeRequest& request,
                   const QemuVersion& compat, Arena& arena) {
  (void)compat;  // qcow2_co_truncate() is the same in every release of the matrix
  auto& qcow2 = static_cast<Qcow2Image&>(image);
  Qcow2LiveFields live = LiveFieldsOf(qcow2);
  return TruncateQcow2(qcow2, device, request.size,
                       request.has_preallocation ? request.preallocation : Preallocation::kOff,
                       request.shrink, arena, &live);
}

}  // namespace instar::qcow2_internal
