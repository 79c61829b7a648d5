// The raw driver (qemu's bdrv_raw): the fallback of probing.
#include "core/formats.h"
#include "measure/measure_internal.h"
#include "raw/raw_create.h"
#include "raw/raw_resize.h"
#include "raw/raw_write.h"

namespace instar {

namespace {

using K = MeasureOptionKey;
using T = CreateOptionType;

// raw_probe: anything, with the lowest score.
int ProbeRaw(const uint8_t*, size_t, const char*, size_t) { return 1; }

// block/raw-format.c raw_create_opts.
constexpr CreateOption kRawOptions[] = {
    {"size", K::kSize, T::kSize},
};

}  // namespace

// raw has no bdrv_get_info of its own (qemu asks the file, which has
// nothing to say), so no describe hook.
const FormatDriver kRawDriver = {
    .format = ImageFormat::kRaw,
    .name = "raw",
    .probe = ProbeRaw,
    .open = OpenRawImage,
    .create_options = CreateOptions(kRawOptions),
    .measure = measure_internal::MeasureRaw,
    .create = CreateRaw,
    .resize = ResizeRaw,
    .open_writer = OpenRawWriter,
};

}  // namespace instar
