// instar's measure for vhdx targets, which qemu-img refuses to measure.
// Same contract as vmdk_measure.cc: `required` is the size of what
// `qemu-img create -f vhdx` makes (--size) or of what `qemu-img convert -O
// vhdx` writes when every allocated block of the source holds data;
// `fully_allocated` is the size once every block is written.
//
// Layout (block/vhdx.c vhdx_co_create): 1 MiB of file identifier, headers
// and region tables; the log (log_size, 1 MiB by default); the BAT, in
// whole MiB; then qemu leaves 5 MiB (the metadata region and room to grow)
// before the first payload block.
//   block_size  = given, else 8 MiB up to 1 GiB, 16 MiB up to 100 GiB,
//                 32 MiB up to 32 TiB, 64 MiB above
//   chunk_ratio = 2^23 * 512 / block_size
//   data_blocks = ceil(size / block_size)              (uint32_t)
//   bat_entries = data_blocks + (data_blocks - 1) / chunk_ratio  (uint32_t:
//                 an empty disk wraps to a large BAT, as qemu's does)
//   bat_offset  = round_up(1 MiB + log_size, 1 MiB)
//   create      = bat_offset + round_up(8 * bat_entries, 1 MiB) + 5 MiB
//   dynamic: each written block adds block_size (whole blocks, even the
//            last).
//   fixed:   create + size. Its blocks start in the ZERO state (unless
//            block_state_zero=off), and qemu writes each one anew at the
//            end of the file, rounded up to 1 MiB: convert of data grows it
//            by block_size per written block.
//   e.g. 1 GiB dynamic: block 8 MiB, 128 blocks, chunk_ratio 512,
//   bat_entries 128, create = 2 MiB + 1 MiB + 5 MiB = 8388608 bytes;
//   fully_allocated = 8388608 + 128 * 8 MiB. 1 GiB fixed: 1082130432.
#include "instar/engine/bytes.h"
#include "instar/engine/measure.h"
#include "measure/measure_internal.h"

namespace instar::measure_internal {

Status PredictVhdxSize(const MeasureRequest& request, uint64_t virtual_size, MeasureSource* source,
                       const QemuVersion& compat, MeasureResult* result, MeasureError* error) {
  const ParsedMeasureOptions& options = *request.options;
  constexpr uint64_t kMiB = 1 << 20;
  uint64_t size;
  if (!CheckedAlignUp(virtual_size, 512, &size)) size = UINT64_MAX;  // fails the 64 TB check
  VhdxTargetOptions vhdx;
  INSTAR_RETURN_IF_ERROR(ResolveVhdxOptionsForSize(options, size, &vhdx, error));

  const uint64_t chunk_ratio = (uint64_t{1} << 32) / vhdx.block_size;
  const int chunk_ratio_bits = CountTrailingZeros(chunk_ratio);
  const uint32_t data_blocks = static_cast<uint32_t>(DivRoundUp(size, vhdx.block_size));
  const uint32_t bat_entries = data_blocks + ((data_blocks - 1u) >> chunk_ratio_bits);
  const uint64_t bat_offset = AlignUp(kMiB + vhdx.log_size, kMiB);
  const uint32_t bat_length = static_cast<uint32_t>(AlignUp(uint64_t{bat_entries} * 8, kMiB));
  const uint64_t payload_start = bat_offset + bat_length + 5 * kMiB;
  const uint64_t created = vhdx.fixed ? payload_start + size : payload_start;
  if (vhdx.fixed && !vhdx.block_state_zero) {
    // Blocks are present in place: writes change nothing.
    result->required = created;
    result->fully_allocated = created;
    return Status::Ok();
  }
  uint64_t allocated_blocks = 0;
  if (source != nullptr) {
    AllocationScan scan;
    INSTAR_RETURN_IF_ERROR(ScanAllocation(*source, vhdx.block_size, compat, &scan, error));
    allocated_blocks = scan.allocated_bytes / vhdx.block_size;
  }
  // A block written for the first time is placed at the end of the file,
  // rounded up to 1 MiB (vhdx_allocate_block); this holds for fixed images
  // too, whose preallocated blocks start in the ZERO state.
  auto after_writes = [&](uint64_t blocks) {
    return blocks == 0 ? created : AlignUp(created, kMiB) + blocks * vhdx.block_size;
  };
  result->required = after_writes(allocated_blocks);
  result->fully_allocated = after_writes(data_blocks);
  return Status::Ok();
}

}  // namespace instar::measure_internal
