// Placeholder until the qcow2 reader lands.
#include "core/formats.h"

namespace instar {

Result<Image*> OpenQcow2Image(BlockDevice&, DeviceOpener&, Arena&, const OpenOptions&) {
  return Status::NotSupported("qcow2 images are not supported yet");
}

}  // namespace instar
