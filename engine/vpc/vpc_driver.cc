// The vpc driver (qemu's bdrv_vpc). qemu-img cannot measure a vpc target;
// instar's prediction (vpc_measure.cc) is the predict_size hook. The
// create hook is vpc_create.cc, the guest-data writer vpc_write.cc.
#include "core/formats.h"
#include "instar/engine/bytes.h"
#include "instar/engine/vpc.h"
#include "measure/measure_internal.h"
#include "vpc/vpc_create.h"
#include "vpc/vpc_write.h"

namespace instar {

namespace {

using K = MeasureOptionKey;
using T = CreateOptionType;

int ProbeVpc(const uint8_t* buffer, size_t, const char*, size_t) {
  return BytesEqual(buffer, "conectix", 8) ? 100 : 0;
}

// vpc_get_info(): the block size as the cluster size.
void DescribeVpc(Image& image, ImageDescription* description) {
  description->cluster_size = static_cast<const VpcImage&>(image).cluster_size();
}

// block/vpc.c vpc_create_opts.
constexpr CreateOption kVpcOptions[] = {
    {"size", K::kSize, T::kSize},
    {"subformat", K::kSubformat, T::kString},
    {"force_size", K::kForceSize, T::kBool},
};

}  // namespace

const FormatDriver kVpcDriver = {
    .format = ImageFormat::kVpc,
    .name = "vpc",
    .probe = ProbeVpc,
    .open = OpenVpcImage,
    .describe = DescribeVpc,
    .create_options = CreateOptions(kVpcOptions),
    .create = vpc::CreateVpc,
    .open_writer = vpc::OpenVpcWriter,
    .predict_size = measure_internal::PredictVpcSize,
};

}  // namespace instar
