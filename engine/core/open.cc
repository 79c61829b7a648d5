#include "core/formats.h"
#include "instar/engine/image.h"

namespace instar {

Result<Image*> OpenImage(ImageFormat format, BlockDevice& device, DeviceOpener& opener,
                         Arena& arena, const OpenOptions& options) {
  switch (format) {
    case ImageFormat::kRaw:
      return OpenRawImage(device, opener, arena, options);
    case ImageFormat::kQcow2:
      return OpenQcow2Image(device, opener, arena, options);
    case ImageFormat::kVmdk:
      return OpenVmdkImage(device, opener, arena, options);
    case ImageFormat::kVpc:
      return OpenVpcImage(device, opener, arena, options);
    case ImageFormat::kVhdx:
      return OpenVhdxImage(device, opener, arena, options);
    default:
      return Status::NotSupported("image format is not supported");
  }
}

}  // namespace instar
