// instar's measure for vpc (VHD) targets, which qemu-img refuses to
// measure. Same contract as vmdk_measure.cc: `required` is the size of what
// `qemu-img create -f vpc` makes (--size) or of what `qemu-img convert -O
// vpc` writes when every allocated 2 MiB block of the source holds data;
// `fully_allocated` is the size once every block is written.
//
// Unless force_size=on, the disk is first rounded up to a CHS geometry
// (block/vpc.c calculate_rounded_image_size: the smallest cylinders x heads
// x sectors-per-track product at least as large), capped at 65535x16x255
// sectors, past which the byte size is kept up to 2040 GiB.
//
// subformat=fixed: the disk followed by a 512-byte footer.
// subformat=dynamic (block/vpc.c create_dynamic_disk; 2 MiB blocks):
//   n        = ceil(sectors / 4096) BAT entries
//   create   = 512 (footer copy) + 1024 (dynamic header)
//              + round_up(4 * n, 512) (BAT) + 512 (footer)
//   per block written: 512 (sector bitmap) + 2 MiB
//   e.g. 1 GiB = 2097152 sectors has no exact geometry; the smallest
//   product at least as large is 2081x16x63 = 2097648 sectors (1073995776
//   bytes), so n = 513 and create = 1536 + 2560 + 512 = 4608 bytes, and
//   fully_allocated = 4608 + 513 * (2097152 + 512). Fixed: 1073996288.
#include "instar/engine/bytes.h"
#include "instar/engine/measure.h"
#include "measure/measure_internal.h"
#include "vpc/vpc_create.h"

namespace instar::measure_internal {

namespace {

constexpr uint64_t kBlockSize = 2 << 20;

}  // namespace

Status PredictVpcSize(const MeasureRequest& request, uint64_t virtual_size, MeasureSource* source,
                      const QemuVersion& compat, MeasureResult* result, MeasureError* error) {
  const ParsedMeasureOptions& options = *request.options;
  VpcTargetOptions vpc;
  INSTAR_RETURN_IF_ERROR(ResolveVpcOptions(options, &vpc, error));
  vpc::RoundedSize rounded;
  INSTAR_RETURN_IF_ERROR(vpc::RoundSize(virtual_size, vpc.force_size, &rounded, error));
  const uint64_t total_sectors = rounded.sectors;
  const uint64_t disk_bytes = total_sectors * 512;
  if (vpc.fixed) {
    result->required = disk_bytes + 512;
    result->fully_allocated = disk_bytes + 512;
    return Status::Ok();
  }
  const uint64_t entries = DivRoundUp(total_sectors, kBlockSize / 512);
  const uint64_t created = 1536 + AlignUp(entries * 4, 512) + 512;
  uint64_t allocated_blocks = 0;
  if (source != nullptr) {
    AllocationScan scan;
    INSTAR_RETURN_IF_ERROR(ScanAllocation(*source, kBlockSize, compat, &scan, error));
    allocated_blocks = scan.allocated_bytes / kBlockSize;
  }
  result->required = created + allocated_blocks * (kBlockSize + 512);
  result->fully_allocated = created + entries * (kBlockSize + 512);
  return Status::Ok();
}

}  // namespace instar::measure_internal
