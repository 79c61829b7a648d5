// raw's create hook (raw_create.cc), for the raw driver's table.
#ifndef INSTAR_ENGINE_RAW_RAW_CREATE_H_
#define INSTAR_ENGINE_RAW_RAW_CREATE_H_

#include "instar/engine/arena.h"
#include "instar/engine/create.h"
#include "instar/engine/measure.h"
#include "instar/engine/status.h"
#include "instar/engine/version.h"

namespace instar {

Status CreateRaw(const CreateRequest& request, WritableDevice& device, const QemuVersion& compat,
                 Arena& arena, MeasureError* error);

}  // namespace instar

#endif  // INSTAR_ENGINE_RAW_RAW_CREATE_H_
