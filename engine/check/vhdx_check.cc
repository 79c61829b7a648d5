// vhdx's check (qemu's vhdx_co_check()): the BAT entries checked as the
// open checks them when not opened for a check, each bad one a corruption.
// A log that needed replaying is never replayed read-only (the open fails
// first), so nothing is ever "fixed".
#include "check/check_internal.h"
#include "instar/engine/vhdx.h"

namespace instar {

Status CheckVhdx(Image& image, const QemuVersion& /*compat*/, Arena& arena, CheckLog& log,
                 CheckResult* result) {
  return static_cast<VhdxImage&>(image).CheckBatEntries(arena, log, &result->corruptions);
}

}  // namespace instar
