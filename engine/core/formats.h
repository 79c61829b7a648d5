// The format drivers the table in format_driver.cc lists, each defined in
// its format's folder (engine/qcow2/qcow2_driver.cc ...), and the openers
// and measure hooks they point to. Private to the engine.
#ifndef INSTAR_ENGINE_CORE_FORMATS_H_
#define INSTAR_ENGINE_CORE_FORMATS_H_

#include "instar/engine/format_driver.h"

namespace instar {

// The formats the engine reads.
extern const FormatDriver kQcow2Driver;
extern const FormatDriver kVmdkDriver;
extern const FormatDriver kVpcDriver;
extern const FormatDriver kVhdxDriver;
extern const FormatDriver kRawDriver;
// The formats it only recognises (engine/core/recognised_drivers.cc).
extern const FormatDriver kQcowDriver;
extern const FormatDriver kQedDriver;
extern const FormatDriver kVdiDriver;
extern const FormatDriver kLuksDriver;
extern const FormatDriver kBochsDriver;
extern const FormatDriver kParallelsDriver;
extern const FormatDriver kDmgDriver;
extern const FormatDriver kCloopDriver;

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
