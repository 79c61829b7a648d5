// Placeholder until the raw reader lands.
#include "core/formats.h"

namespace instar {

Result<Image*> OpenRawImage(BlockDevice&, DeviceOpener&, Arena&, const OpenOptions&) {
  return Status::NotSupported("raw images are not supported yet");
}

}  // namespace instar
