// The vmdk driver (qemu's bdrv_vmdk). qemu-img cannot measure a vmdk
// target; instar's prediction (vmdk_measure.cc) is the predict_size hook.
// The create hook is vmdk_create.cc, the guest-data writer vmdk_write.cc.
#include "check/check_internal.h"
#include "core/formats.h"
#include "instar/engine/bytes.h"
#include "instar/engine/vmdk.h"
#include "measure/measure_internal.h"
#include "vmdk/vmdk_create.h"
#include "vmdk/vmdk_write.h"

namespace instar {

namespace {

using K = MeasureOptionKey;
using T = CreateOptionType;

// vmdk_probe: a binary sparse header, or a text descriptor whose first line
// that is neither a comment nor blank (blank lines must start with a space)
// is "version=1|2|3".
int ProbeVmdk(const uint8_t* b, size_t size, const char*, size_t) {
  const uint32_t magic = LoadBE32(b);
  if (magic == 0x434f5744 || magic == 0x4b444d56) return 100;  // "COWD", "KDMV"
  size_t p = 0;
  while (p < size) {
    if (b[p] == '#') {
      while (p < size && b[p] != '\n') ++p;
      ++p;
      continue;
    }
    if (b[p] == ' ') {
      while (p < size && b[p] == ' ') ++p;
      if (p < size && b[p] == '\r') ++p;
      if (p == size || b[p] != '\n') return 0;
      ++p;
      continue;
    }
    static constexpr char kDigits[] = {'1', '2', '3'};
    for (char digit : kDigits) {
      const char unix_line[] = {'v', 'e', 'r', 's', 'i', 'o', 'n', '=', digit, '\n'};
      const char dos_line[] = {'v', 'e', 'r', 's', 'i', 'o', 'n', '=', digit, '\r', '\n'};
      if (size - p >= sizeof(unix_line) && BytesEqual(b + p, unix_line, sizeof(unix_line))) {
        return 100;
      }
      if (size - p >= sizeof(dos_line) && BytesEqual(b + p, dos_line, sizeof(dos_line))) {
        return 100;
      }
    }
    return 0;
  }
  return 0;
}

// vmdk_get_info(): fails unless every extent is of the first one's kind.
void DescribeDriverInfo(const VmdkImage& image, ImageDescription* description) {
  if (image.extent_count() == 0) {
    description->has_driver_info = false;
    return;
  }
  const VmdkExtent& first = image.extent(0);
  const bool first_flat = first.kind == VmdkExtentKind::kFlat;
  for (size_t i = 1; i < image.extent_count(); ++i) {
    const VmdkExtent& e = image.extent(i);
    const bool flat = e.kind == VmdkExtentKind::kFlat;
    if (flat != first_flat || e.compressed != first.compressed ||
        (!first_flat && e.cluster_sectors != first.cluster_sectors)) {
      description->has_driver_info = false;
      return;
    }
  }
  if (!first_flat) description->cluster_size = first.cluster_size();
}

// vmdk_get_info(), the parent named by the descriptor, and
// vmdk_get_specific_info().
void DescribeVmdk(Image& image, ImageDescription* description) {
  auto& vmdk = static_cast<VmdkImage&>(image);
  DescribeDriverInfo(vmdk, description);
  if (vmdk.has_parent_file_name_hint() && vmdk.parent_file_name_hint_length() > 0) {
    description->backing_name = vmdk.parent_file_name_hint();
    description->backing_name_length = vmdk.parent_file_name_hint_length();
    description->backing_format = "vmdk";
    description->backing_format_length = 4;
  }
  description->vmdk = &vmdk;
}

// block/vmdk.c vmdk_create_opts; "toolsversion" is absent from 5.2.
constexpr CreateOption kVmdkOptions[] = {
    {"size", K::kSize, T::kSize},
    {"adapter_type", K::kAdapterType, T::kString},
    {"backing_file", K::kBackingFile, T::kString},
    {"backing_fmt", K::kBackingFmt, T::kString},
    {"compat6", K::kCompat6, T::kBool},
    {"hwversion", K::kHwVersion, T::kString},
    {"toolsversion", K::kToolsVersion, T::kString, measure_internal::kVmdkToolsVersionMajor,
     measure_internal::kVmdkToolsVersionMinor},
    {"subformat", K::kSubformat, T::kString},
    {"zeroed_grain", K::kZeroedGrain, T::kBool},
};

}  // namespace

namespace {

// A streamOptimized vmdk's compressed grains (VmdkImage::ReadCompressed).
Result<uint64_t> ReadVmdkData(Image& image, uint64_t offset, uint64_t bytes, uint8_t* out,
                              Arena& scratch) {
  return static_cast<VmdkImage&>(image).ReadCompressed(offset, bytes, out, scratch);
}

}  // namespace

const FormatDriver kVmdkDriver = {
    .format = ImageFormat::kVmdk,
    .name = "vmdk",
    .probe = ProbeVmdk,
    .open = OpenVmdkImage,
    .supports_backing = true,
    .check = CheckVmdk,
    .read_data = ReadVmdkData,
    .describe = DescribeVmdk,
    .create_options = CreateOptions(kVmdkOptions),
    .create = vmdk::CreateVmdk,
    .sibling_outputs = vmdk::VmdkSiblingOutputs,
    .siblings_in_place = vmdk::VmdkSiblingsInPlace,
    .open_writer = vmdk::OpenVmdkWriter,
    .compressed_writes = true,
    .predict_size = measure_internal::PredictVmdkSize,
};

}  // namespace instar
