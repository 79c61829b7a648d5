// qcow2's open_writer hook (qcow2_write.cc), for the qcow2 driver's table.
#ifndef INSTAR_ENGINE_QCOW2_QCOW2_WRITE_H_
#define INSTAR_ENGINE_QCOW2_QCOW2_WRITE_H_

#include "instar/engine/arena.h"
#include "instar/engine/create.h"
#include "instar/engine/image.h"
#include "instar/engine/modify.h"
#include "instar/engine/status.h"
#include "instar/engine/version.h"

namespace instar::qcow2_internal {

// qemu's qcow2 write path (qcow2_co_pwritev_part) for an image this
// driver's create hook just wrote: see qcow2_write.cc.
Result<ImageWriter*> OpenQcow2Writer(Image& image, WritableDevice& device,
                                     const WriterEntropy& entropy, const QemuVersion& compat,
                                     Arena& arena);

}  // namespace instar::qcow2_internal

#endif  // INSTAR_ENGINE_QCOW2_QCOW2_WRITE_H_
