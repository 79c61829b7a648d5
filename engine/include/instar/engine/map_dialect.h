// MapDialect: what `qemu-img map` does differently per qemu-img version.
// One rule decides both what an extent carries (the guest's walk merges
// on it) and what the JSON output prints (the host's renderer), so it
// lives here, freestanding, for both sides.
#ifndef INSTAR_ENGINE_MAP_DIALECT_H_
#define INSTAR_ENGINE_MAP_DIALECT_H_

#include "instar/engine/version.h"

namespace instar {

struct MapDialect {
  // MapEntry has "present" (BDRV_BLOCK_ALLOCATED) since 6.0: printed in
  // the JSON output after "depth" and compared when merging. 5.2 has
  // neither.
  bool has_present = true;
  // ... and "compressed" (BDRV_BLOCK_COMPRESSED) since 8.2, after "data".
  // 7.2 has neither (and its qcow2 driver does not report the flag).
  bool has_compressed = true;
};

constexpr MapDialect MapDialectFor(const QemuVersion& v) {
  MapDialect d;
  d.has_present = v.AtLeast(6, 0);
  d.has_compressed = v.AtLeast(8, 2);
  return d;
}

}  // namespace instar

#endif  // INSTAR_ENGINE_MAP_DIALECT_H_
