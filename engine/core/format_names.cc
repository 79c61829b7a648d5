// Format names as qemu's drivers spell them (BlockDriver.format_name).
#include "instar/engine/bytes.h"
#include "instar/engine/image.h"

namespace instar {

namespace {

struct FormatName {
  ImageFormat format;
  const char* name;
  size_t length;
};

constexpr FormatName kFormatNames[] = {
    {ImageFormat::kRaw, "raw", 3},
    {ImageFormat::kQcow2, "qcow2", 5},
    {ImageFormat::kVmdk, "vmdk", 4},
    {ImageFormat::kVpc, "vpc", 3},
    {ImageFormat::kVhdx, "vhdx", 4},
    {ImageFormat::kQed, "qed", 3},
    {ImageFormat::kVdi, "vdi", 3},
    {ImageFormat::kQcow, "qcow", 4},
    {ImageFormat::kLuks, "luks", 4},
    {ImageFormat::kBochs, "bochs", 5},
    {ImageFormat::kCloop, "cloop", 5},
    {ImageFormat::kDmg, "dmg", 3},
    {ImageFormat::kParallels, "parallels", 9},
};

}  // namespace

const char* ImageFormatName(ImageFormat format) {
  for (const FormatName& entry : kFormatNames) {
    if (entry.format == format) return entry.name;
  }
  return "";
}

ImageFormat ImageFormatFromDriverName(const char* name, size_t length) {
  if (name == nullptr) return ImageFormat::kUnknown;
  for (const FormatName& entry : kFormatNames) {
    if (entry.length == length && BytesEqual(entry.name, name, length)) return entry.format;
  }
  return ImageFormat::kUnknown;
}

ImageFormat ImageFormatFromName(const char* name, size_t length) {
  // qemu-img has no "vhd" driver, but users say vhd for vpc images.
  if (name != nullptr && length == 3 && BytesEqual(name, "vhd", 3)) return ImageFormat::kVpc;
  return ImageFormatFromDriverName(name, length);
}

bool IsSupportedFormat(ImageFormat format) {
  switch (format) {
    case ImageFormat::kRaw:
    case ImageFormat::kQcow2:
    case ImageFormat::kVmdk:
    case ImageFormat::kVpc:
    case ImageFormat::kVhdx:
      return true;
    default:
      return false;
  }
}

}  // namespace instar
