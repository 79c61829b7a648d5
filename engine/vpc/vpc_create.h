// Private to engine/vpc: the size rounding that `qemu-img create -f vpc`
// applies (shared by the create hook and instar's measure prediction), and
// the create hook itself.
#ifndef INSTAR_ENGINE_VPC_VPC_CREATE_H_
#define INSTAR_ENGINE_VPC_VPC_CREATE_H_

#include <cstdint>

#include "instar/engine/create.h"
#include "instar/engine/measure.h"

namespace instar::vpc {

// A CHS geometry as the footer stores it.
struct Geometry {
  uint16_t cylinders = 0;
  uint8_t heads = 0;
  uint8_t sectors_per_track = 0;
  int64_t Product() const { return int64_t{cylinders} * heads * sectors_per_track; }
};

// What block/vpc.c vpc_co_create_opts() and calculate_rounded_image_size()
// make of a requested size: the size rounded up to whole sectors, then,
// unless `force_size`, up to the smallest CHS geometry at least as large.
// At the largest geometry (65535 x 16 x 255; always with force_size) the
// sector count is the size's own.
struct RoundedSize {
  Geometry geometry;
  uint64_t sectors = 0;  // the disk, in 512-byte sectors
};

// Fails with "The image size is too large for file format 'vpc'" beyond
// 2040 GiB (or a size that does not fit int64_t once rounded).
Status RoundSize(uint64_t size, bool force_size, RoundedSize* out, MeasureError* error);

// The create hook (FormatDriver::create): block/vpc.c vpc_co_create().
Status CreateVpc(const CreateRequest& request, WritableDevice& device, const QemuVersion& compat,
                 Arena& arena, MeasureError* error);

}  // namespace instar::vpc

#endif  // INSTAR_ENGINE_VPC_VPC_CREATE_H_
