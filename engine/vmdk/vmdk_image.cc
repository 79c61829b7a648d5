// Placeholder until the vmdk reader lands.
#include "core/formats.h"

namespace instar {

Result<Image*> OpenVmdkImage(BlockDevice&, DeviceOpener&, Arena&, const OpenOptions&) {
  return Status::NotSupported("vmdk images are not supported yet");
}

}  // namespace instar
