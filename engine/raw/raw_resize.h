// raw's resize hook (raw_resize.cc), for the raw driver's table.
#ifndef INSTAR_ENGINE_RAW_RAW_RESIZE_H_
#define INSTAR_ENGINE_RAW_RAW_RESIZE_H_

#include "instar/engine/arena.h"
#include "instar/engine/create.h"
#include "instar/engine/image.h"
#include "instar/engine/modify.h"
#include "instar/engine/status.h"
#include "instar/engine/version.h"

namespace instar {

Status ResizeRaw(Image& image, WritableDevice& device, const ResizeRequest& request,
                 const QemuVersion& compat, Arena& arena);

}  // namespace instar

#endif  // INSTAR_ENGINE_RAW_RAW_RESIZE_H_
