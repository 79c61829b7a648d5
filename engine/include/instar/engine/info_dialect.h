// InfoOpenDialect: what `qemu-img info` reads differently per qemu-img
// version, for the side that reads the image (the guest and the engine's
// BDRV_O_NO_IO open). What info prints differently is the host's
// InfoDialect (vmm/render/info_dialect.h).
//
// The two halves are split because this one runs in the guest: it must stay
// freestanding (no std library), so it is a constexpr function of the
// version in this header, computed from the version the host put in the
// operation config.
#ifndef INSTAR_ENGINE_INFO_DIALECT_H_
#define INSTAR_ENGINE_INFO_DIALECT_H_

#include "instar/engine/version.h"

namespace instar {

struct InfoOpenDialect {
  // qcow2_get_info() reports the dirty bit ("cleanly shut down: no",
  // "dirty-flag": true) in 7.2, not in 5.2; the matrix has nothing in
  // between, 7.0 is where we draw the line.
  bool reports_dirty_flag = true;
  // bdrv_get_info() refuses a cluster size above BDRV_MAX_ALIGNMENT (1 GiB)
  // since 7.2, so info prints neither cluster size nor dirty flag; 5.2
  // passes any through.
  bool refuses_cluster_above_max_alignment = true;
  // BDRV_O_NO_IO leaves a qcow2's external data file closed: the fix for
  // CVE-2024-4467, in 9.1 and the 9.0.2, 8.2.6 and 7.2.13 stable releases.
  // Older releases open it (and fail when it is missing).
  bool no_io_skips_data_file = true;
  // A LUKS qcow2 without its crypto header extension fails to open even
  // under BDRV_O_NO_IO in 9.1 and later; older releases (7.2) skip the
  // check.
  bool no_io_checks_crypto_header = true;
};

constexpr InfoOpenDialect InfoOpenDialectFor(const QemuVersion& v) {
  InfoOpenDialect d;
  d.reports_dirty_flag = v.AtLeast(7, 0);
  d.refuses_cluster_above_max_alignment = v.AtLeast(7, 0);
  d.no_io_skips_data_file = v.AtLeast(9, 1) || (v.major == 9 && v.minor == 0 && v.micro >= 2) ||
                            (v.major == 8 && v.minor == 2 && v.micro >= 6) ||
                            (v.major == 7 && v.minor == 2 && v.micro >= 13);
  d.no_io_checks_crypto_header = v.AtLeast(9, 1);
  return d;
}

}  // namespace instar

#endif  // INSTAR_ENGINE_INFO_DIALECT_H_
