// QemuVersion: the qemu-img release whose behaviour we reproduce.
//
// Parsed from what `qemu-img --version` prints on its first line
// ("qemu-img version 7.2.22 (Debian ...)" -> 7.2.22) or from a bare
// "X.Y.Z". Ordering is numeric per component, so 10.0.2 > 7.2.22.
#ifndef INSTAR_ENGINE_VERSION_H_
#define INSTAR_ENGINE_VERSION_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/status.h"

namespace instar {

struct QemuVersion {
  uint16_t major = 0;
  uint16_t minor = 0;
  uint16_t micro = 0;

  constexpr bool AtLeast(uint16_t a, uint16_t b, uint16_t c = 0) const {
    if (major != a) return major > a;
    if (minor != b) return minor > b;
    return micro >= c;
  }
  friend constexpr bool operator==(const QemuVersion&, const QemuVersion&) = default;
  friend constexpr bool operator<(const QemuVersion& x, const QemuVersion& y) {
    return !x.AtLeast(y.major, y.minor, y.micro);
  }
};

// Parses "X.Y.Z" (exactly three numeric components, each < 65536).
Result<QemuVersion> ParseQemuVersion(const char* text, size_t length);

// Finds the version in a `--version` banner: the first token after
// "qemu-img version " (or "qemu-io version "). Only the first line is read.
Result<QemuVersion> ParseVersionBanner(const char* text, size_t length);

// Writes "X.Y.Z" and a NUL into `out` (at least 18 bytes); returns the length.
size_t FormatQemuVersion(const QemuVersion& version, char* out);

}  // namespace instar

#endif  // INSTAR_ENGINE_VERSION_H_
