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
  const uint64_t total_sectors = vmdk.VirtualSize() / 512;
  char buffer[128];
  size_t extent = 0;  // find_extent() starts from the last one found
  for (uint64_t sector = 0; sector < total_sectors;) {
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
    sector += e.cluster_sectors;
  }
  return Status::Ok();
}

}  // namespace instar
