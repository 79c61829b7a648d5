// Private to engine/vhdx: the guest-data writer (FormatDriver::open_writer).
#ifndef INSTAR_ENGINE_VHDX_VHDX_WRITE_H_
#define INSTAR_ENGINE_VHDX_VHDX_WRITE_H_

#include "instar/engine/arena.h"
#include "instar/engine/create.h"
#include "instar/engine/image.h"
#include "instar/engine/modify.h"

namespace instar::vhdx {

// block/vhdx.c vhdx_open (read-write) and vhdx_co_writev over `image` (a
// VhdxImage the reader opened over `device`), with the GUIDs qemu
// generates taken from `entropy` in the order vhdx_write.cc documents.
// A differencing image, a log to replay or a logical sector size other
// than 512 is NotSupported. Opening writes the headers.
Result<ImageWriter*> OpenVhdxWriter(Image& image, WritableDevice& device,
                                    const WriterEntropy& entropy, const QemuVersion& compat,
                                    Arena& arena);

}  // namespace instar::vhdx

#endif  // INSTAR_ENGINE_VHDX_VHDX_WRITE_H_
