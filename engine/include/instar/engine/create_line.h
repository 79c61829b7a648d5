// The option list of qemu-img create's "Formatting 'FILE', fmt=F ..." line.
//
// bdrv_img_create() prints, after its checks and before the driver runs,
// every option of the merged create option list (the driver's create_opts,
// then the file protocol's, a name only once) in the list's order: the
// value set (-o, the size, -b, -F) or, when unset, the option's default
// text (def_value_str); an option with neither is left out. A number or
// size prints as the parsed number ("cluster_size=4k" prints 4096), a
// string as given with ',' doubled, a boolean as given.
//
// The defaults are a table here (kCreateLineDefaults in create_line.cc),
// each with the first release that prints it. What else qemu-img create
// does differently per release is CreateDialect's to say.
#ifndef INSTAR_ENGINE_CREATE_LINE_H_
#define INSTAR_ENGINE_CREATE_LINE_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/measure.h"
#include "instar/engine/version.h"

namespace instar {

// A backing file given without its format (-b without -F).
enum class BackingWithoutFormat : uint8_t {
  // 5.2: "qemu-img: warning: Deprecated use of backing file without
  // explicit backing format (detected format of F)", and the probed format
  // is used (printed as backing_fmt=F).
  kWarnAndProbe,
  // 6.1 and later: refused, "qemu-img: FILE: Backing file specified
  // without backing format", then the hint "Detected format of F."
  kRefuse,
};

struct CreateDialect {
  BackingWithoutFormat backing_without_format = BackingWithoutFormat::kRefuse;
};

constexpr CreateDialect CreateDialectFor(const QemuVersion& compat) {
  CreateDialect dialect;
  if (!compat.AtLeast(6, 1)) dialect.backing_without_format = BackingWithoutFormat::kWarnAndProbe;
  return dialect;
}

// Writes "size=1048576 preallocation=full" (for `options`, parsed for its
// target, with the size already set in it) into out[0, capacity),
// NUL-terminated when there is room; returns the full length, like
// snprintf.
size_t FormatCreateOptions(const ParsedMeasureOptions& options, const QemuVersion& compat,
                           char* out, size_t capacity);

}  // namespace instar

#endif  // INSTAR_ENGINE_CREATE_LINE_H_
