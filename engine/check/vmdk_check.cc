// vmdk's check (qemu's vmdk_co_check()): every grain of the image, in
// order, looked up (get_cluster_offset() without allocation); a lookup
// that fails, or a grain that starts at or past the end of its extent's
// file, stops the check with one corruption, its line and a negative
// errno (-EPERM for qemu's VMDK_ERROR, which is -1; -EINVAL past EOF),
// which qemu-img reports as "Check failed: ...". A flat extent is one
// grain.
#include "check/check_internal.h"
#include "core/reader_util.h"
#include "instar/engine/text_builder.h"
#include "instar/engine/vmdk.h"

namespace instar {

Status CheckVmdk(Image& image, const QemuVersion& /*compat*/, Arena& /*arena*/, CheckLog& log,
                 CheckResult* result) {
  auto& vmdk = static_cast<VmdkImage&>(image);
  // qemu walks up to bs->total_sectors, an int64: nothing when the sizes
  // summed past INT64_MAX (negative then), and past BDRV_MAX_LENGTH when
  // they reach there (the length qemu cannot give, Length()); the first
  // lookup of such an image fails or its one flat grain ends the walk.
  const int64_t total_sectors = vmdk.qemu_total_sectors();
  char buffer[128];
  size_t extent = 0;  // find_extent() starts from the last one found
  for (uint64_t sector = 0; total_sectors > 0 && sector < static_cast<uint64_t>(total_sectors);) {
    while (extent < vmdk.extent_count() && sector >= vmdk.extent(extent).end_sector) ++extent;
    TextBuilder line(buffer, sizeof(buffer));
    if (extent == vmdk.extent_count()) {
      line.Append("ERROR: could not find extent for sector ").AppendDecimal(sector);
      log.Line(line.c_str(), line.length());
      result->failure = CheckFailure::kInvalidArgument;
      ++result->corruptions;
      return Status::Ok();
    }
    const VmdkExtent& e = vmdk.extent(extent);
    uint64_t cluster_offset = 0;
    const VmdkImage::GrainLookup found = vmdk.LookUpGrain(extent, sector * 512, &cluster_offset);
    if (found == VmdkImage::GrainLookup::kError) {
      line.Append("ERROR: could not get cluster_offset for sector ").AppendDecimal(sector);
      log.Line(line.c_str(), line.length());
      result->failure = CheckFailure::kNotPermitted;
      ++result->corruptions;
      return Status::Ok();
    }
    if (found == VmdkImage::GrainLookup::kOk && cluster_offset >= SectorLength(*e.file)) {
      line.Append("ERROR: cluster offset for sector ")
          .AppendDecimal(sector)
          .Append(" points after EOF");
      log.Line(line.c_str(), line.length());
      result->failure = CheckFailure::kInvalidArgument;
      ++result->corruptions;
      return Status::Ok();
    }
    if (e.cluster_sectors == 0) {
      // qemu would loop on this sector for ever; no open lets it through.
      return Status::Corruption("vmdk extent with a grain of no sectors");
    }
    // A grain that would carry the walk past 2^64 ends it (qemu's int64
    // would wrap negative and end it there).
    if (!CheckedAdd(sector, e.cluster_sectors, &sector)) break;
  }
  return Status::Ok();
}

}  // namespace instar
