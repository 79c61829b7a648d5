// The format drivers' check hooks (FormatDriver::check), one file each in
// engine/check. Private to the engine.
#ifndef INSTAR_ENGINE_CHECK_CHECK_INTERNAL_H_
#define INSTAR_ENGINE_CHECK_CHECK_INTERNAL_H_

#include "instar/engine/arena.h"
#include "instar/engine/check.h"
#include "instar/engine/image.h"
#include "instar/engine/status.h"
#include "instar/engine/version.h"

namespace instar {

// qcow2_co_check() (qcow2_check.cc).
Status CheckQcow2(Image& image, const QemuVersion& compat, Arena& arena, CheckLog& log,
                  CheckResult* result);

// vhdx_co_check() (vhdx_check.cc).
Status CheckVhdx(Image& image, const QemuVersion& compat, Arena& arena, CheckLog& log,
                 CheckResult* result);

// vmdk_co_check() (vmdk_check.cc).
Status CheckVmdk(Image& image, const QemuVersion& compat, Arena& arena, CheckLog& log,
                 CheckResult* result);

}  // namespace instar

#endif  // INSTAR_ENGINE_CHECK_CHECK_INTERNAL_H_
