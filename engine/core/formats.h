// The per-format openers that OpenImage() dispatches to. Each lives in its
// format's folder (engine/qcow2/qcow2_image.cc ...). Private to the engine.
#ifndef INSTAR_ENGINE_CORE_FORMATS_H_
#define INSTAR_ENGINE_CORE_FORMATS_H_

#include "instar/engine/image.h"

namespace instar {

Result<Image*> OpenRawImage(BlockDevice& device, DeviceOpener& opener, Arena& arena,
                            const OpenOptions& options);
Result<Image*> OpenQcow2Image(BlockDevice& device, DeviceOpener& opener, Arena& arena,
                              const OpenOptions& options);
Result<Image*> OpenVmdkImage(BlockDevice& device, DeviceOpener& opener, Arena& arena,
                             const OpenOptions& options);
Result<Image*> OpenVpcImage(BlockDevice& device, DeviceOpener& opener, Arena& arena,
                            const OpenOptions& options);
Result<Image*> OpenVhdxImage(BlockDevice& device, DeviceOpener& opener, Arena& arena,
                             const OpenOptions& options);

}  // namespace instar

#endif  // INSTAR_ENGINE_CORE_FORMATS_H_
