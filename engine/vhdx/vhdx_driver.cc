// The vhdx driver (qemu's bdrv_vhdx). qemu-img cannot measure a vhdx target;
// instar's prediction (vhdx_measure.cc) is the predict_size hook. The
// create hook is vhdx_create.cc, the guest-data writer vhdx_write.cc.
#include "check/check_internal.h"
#include "core/formats.h"
#include "instar/engine/bytes.h"
#include "instar/engine/vhdx.h"
#include "measure/measure_internal.h"
#include "vhdx/vhdx_create.h"
#include "vhdx/vhdx_write.h"

namespace instar {

namespace {

using K = MeasureOptionKey;
using T = CreateOptionType;

int ProbeVhdx(const uint8_t* buffer, size_t, const char*, size_t) {
  return BytesEqual(buffer, "vhdxfile", 8) ? 100 : 0;
}

// vhdx_get_info(): the block size as the cluster size.
void DescribeVhdx(Image& image, ImageDescription* description) {
  description->cluster_size = static_cast<const VhdxImage&>(image).cluster_size();
}

// vhdx_co_readv(): a fully present payload block is read from its place
// in the file; a block not present, undefined, unmapped or zero reads as
// zeros; a partially present one (a differencing image's) is an error.
Result<BlockStatus> LocateVhdxData(Image& image, uint64_t offset, uint64_t bytes) {
  auto& vhdx = static_cast<VhdxImage&>(image);
  INSTAR_ASSIGN_OR_RETURN(const VhdxPayloadBlock block, vhdx.PayloadBlock(offset));
  const uint64_t block_size = vhdx.block_size();
  if (block_size == 0) return Status::Corruption("vhdx block size is zero");
  const uint64_t within = offset % block_size;
  BlockStatus status;
  status.bytes = bytes < block_size - within ? bytes : block_size - within;
  switch (block.state) {
    case 0:  // PAYLOAD_BLOCK_NOT_PRESENT
    case 1:  // PAYLOAD_BLOCK_UNDEFINED
    case 2:  // PAYLOAD_BLOCK_ZERO
    case 3:  // PAYLOAD_BLOCK_UNMAPPED
    case 5:  // PAYLOAD_BLOCK_UNMAPPED_v095
      status.flags = block_status::kZero;
      return status;
    case 6:  // PAYLOAD_BLOCK_FULLY_PRESENT
      status.flags = block_status::kData | block_status::kOffsetValid;
      status.map = block.file_offset + within;
      status.file = &vhdx.file();
      return status;
    default:
      return Status::IOError("vhdx payload block is partially present");
  }
}

// block/vhdx.c vhdx_create_opts.
constexpr CreateOption kVhdxOptions[] = {
    {"size", K::kSize, T::kSize},
    {"log_size", K::kLogSize, T::kSize},
    {"block_size", K::kBlockSize, T::kSize},
    {"subformat", K::kSubformat, T::kString},
    {"block_state_zero", K::kBlockStateZero, T::kBool},
};

}  // namespace

const FormatDriver kVhdxDriver = {
    .format = ImageFormat::kVhdx,
    .name = "vhdx",
    .probe = ProbeVhdx,
    .open = OpenVhdxImage,
    .check = CheckVhdx,
    .locate_data = LocateVhdxData,
    .describe = DescribeVhdx,
    .create_options = CreateOptions(kVhdxOptions),
    .create = vhdx::CreateVhdx,
    .open_writer = vhdx::OpenVhdxWriter,
    .predict_size = measure_internal::PredictVhdxSize,
};

}  // namespace instar
