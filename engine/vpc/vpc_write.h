// Private to engine/vpc: the guest-data writer (FormatDriver::open_writer).
#ifndef INSTAR_ENGINE_VPC_VPC_WRITE_H_
#define INSTAR_ENGINE_VPC_VPC_WRITE_H_

#include "instar/engine/arena.h"
#include "instar/engine/create.h"
#include "instar/engine/image.h"
#include "instar/engine/modify.h"

namespace instar::vpc {

// block/vpc.c vpc_co_pwritev over `image` (a VpcImage the reader opened
// over `device`). vpc takes nothing from the clock or the random
// generator when it writes: `entropy` is unused.
Result<ImageWriter*> OpenVpcWriter(Image& image, WritableDevice& device,
                                   const WriterEntropy& entropy, const QemuVersion& compat,
                                   Arena& arena);

}  // namespace instar::vpc

#endif  // INSTAR_ENGINE_VPC_VPC_WRITE_H_
