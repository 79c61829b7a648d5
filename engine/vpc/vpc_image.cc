// Placeholder until the vpc reader lands.
#include "core/formats.h"

namespace instar {

Result<Image*> OpenVpcImage(BlockDevice&, DeviceOpener&, Arena&, const OpenOptions&) {
  return Status::NotSupported("vpc images are not supported yet");
}

}  // namespace instar
