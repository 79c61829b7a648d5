// libFuzzer target: vpc images from arbitrary bytes. The first byte picks
// the qemu version to follow and whether to repair the footer checksum (so
// inputs get past it); the rest is the file.
// Build with clang and -DINSTAR_FUZZ=ON; run as vpc_fuzz [corpus dir].
#include <cstddef>
#include <cstdint>
#include <vector>

#include "instar/engine/bytes.h"
#include "instar/engine/vpc.h"
#include "testing/memory_device.h"

namespace {

constexpr instar::QemuVersion kVersions[] = {{5, 2, 0}, {7, 2, 22}, {10, 0, 13}, {11, 1, 3}};

void RepairChecksum(std::vector<uint8_t>& bytes, size_t footer) {
  if (bytes.size() < footer + 512) return;
  instar::StoreBE32(&bytes[footer + 64], 0);
  uint32_t sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += bytes[footer + i];
  instar::StoreBE32(&bytes[footer + 64], ~sum);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t control = data[0];
  std::vector<uint8_t> bytes(data + 1, data + size);
  if ((control & 4) != 0) {
    RepairChecksum(bytes, 0);
    if (bytes.size() >= 512) RepairChecksum(bytes, (bytes.size() - 512) & ~size_t{511});
  }
  instar::testing::MemoryDevice device(std::move(bytes));
  (void)instar::ProbeFormat(device, "input.vhd", 9);

  static std::vector<uint8_t> buffer(1 << 20);
  instar::Arena arena(buffer.data(), buffer.size());
  instar::OpenOptions options;
  options.compat = kVersions[control & 3];
  const auto calc = static_cast<instar::VpcSizeCalc>((control >> 3) % 3);
  auto image = instar::OpenVpcImage(device, arena, options, calc);
  if (!image.ok()) return 0;
  instar::Image& vpc = **image;
  uint64_t offset = 0;
  for (int i = 0; i < 4096 && offset < vpc.VirtualSize(); ++i) {
    auto status = vpc.DriverBlockStatus(true, offset, vpc.VirtualSize() - offset);
    if (!status.ok() || status->bytes == 0) break;
    offset += status->bytes;
  }
  return 0;
}
