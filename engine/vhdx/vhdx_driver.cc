// The vhdx driver (qemu's bdrv_vhdx). qemu-img cannot measure a vhdx target;
// instar's prediction (vhdx_measure.cc) is the predict_size hook.
#include "check/check_internal.h"
#include "core/formats.h"
#include "instar/engine/bytes.h"
#include "instar/engine/vhdx.h"
#include "measure/measure_internal.h"

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
    .describe = DescribeVhdx,
    .create_options = CreateOptions(kVhdxOptions),
    .predict_size = measure_internal::PredictVhdxSize,
};

}  // namespace instar
