// raw's open_writer hook (raw_write.cc), for the raw driver's table.
#ifndef INSTAR_ENGINE_RAW_RAW_WRITE_H_
#define INSTAR_ENGINE_RAW_RAW_WRITE_H_

#include "instar/engine/arena.h"
#include "instar/engine/create.h"
#include "instar/engine/image.h"
#include "instar/engine/modify.h"
#include "instar/engine/status.h"
#include "instar/engine/version.h"

namespace instar {

Result<ImageWriter*> OpenRawWriter(Image& image, WritableDevice& device,
                                   const WriterEntropy& entropy, const QemuVersion& compat,
                                   Arena& arena);

}  // namespace instar

#endif  // INSTAR_ENGINE_RAW_RAW_WRITE_H_
