// Placeholder until the vhdx reader lands.
#include "core/formats.h"

namespace instar {

Result<Image*> OpenVhdxImage(BlockDevice&, DeviceOpener&, Arena&, const OpenOptions&) {
  return Status::NotSupported("vhdx images are not supported yet");
}

}  // namespace instar
