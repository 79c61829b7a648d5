// Private to engine/vmdk: the guest-data writer (FormatDriver::open_writer).
#ifndef INSTAR_ENGINE_VMDK_VMDK_WRITE_H_
#define INSTAR_ENGINE_VMDK_VMDK_WRITE_H_

#include "instar/engine/arena.h"
#include "instar/engine/create.h"
#include "instar/engine/image.h"
#include "instar/engine/modify.h"

namespace instar::vmdk {

// block/vmdk.c vmdk_pwritev and vmdk_co_pwritev_compressed over `image` (a
// VmdkImage the reader opened over `device`), an image of a subformat our
// create hook makes, over a parent (its backing file opened, with the CID
// the image names) or not: its hosted sparse extents (in the
// image file or beside it; one compressed extent with markers for
// streamOptimized) and its flat extents (each in a file of its own, which
// `device` opens with OpenSibling()); anything else is NotSupported. The
// new CID written at the first write is entropy.random[0..4) as a
// little-endian uint32_t (qemu's g_random_int()).
Result<ImageWriter*> OpenVmdkWriter(Image& image, WritableDevice& device,
                                    const WriterEntropy& entropy, const QemuVersion& compat,
                                    Arena& arena);

}  // namespace instar::vmdk

#endif  // INSTAR_ENGINE_VMDK_VMDK_WRITE_H_
