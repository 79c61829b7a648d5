// libFuzzer target: vmdk images from arbitrary bytes. The first byte picks
// the qemu version to follow; the rest is the image file, which is also what
// every extent file a descriptor names opens to (so descriptors can nest).
// Build with clang and -DINSTAR_FUZZ=ON; run as vmdk_fuzz [corpus dir].
#include <cstddef>
#include <cstdint>
#include <vector>

#include "instar/engine/vmdk.h"
#include "testing/memory_device.h"

namespace {

constexpr instar::QemuVersion kVersions[] = {{5, 2, 0}, {7, 2, 22}, {10, 0, 13}, {11, 1, 3}};

class SameFile final : public instar::DeviceOpener {
 public:
  explicit SameFile(instar::BlockDevice* device) : device_(device) {}
  instar::Result<instar::BlockDevice*> Open(const char*, size_t length) override {
    if (length % 7 == 3) return instar::Status::IOError("no such file");
    return device_;
  }

 private:
  instar::BlockDevice* device_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t control = data[0];
  instar::testing::MemoryDevice device(std::vector<uint8_t>(data + 1, data + size));
  (void)instar::ProbeFormat(device, "input.vmdk", 10);

  static std::vector<uint8_t> buffer(8 << 20);
  instar::Arena arena(buffer.data(), buffer.size());
  instar::OpenOptions options;
  options.compat = kVersions[control & 3];
  SameFile opener(&device);
  auto image = instar::OpenImage(instar::ImageFormat::kVmdk, device, opener, arena, options);
  if (!image.ok()) return 0;
  auto& vmdk = *static_cast<instar::VmdkImage*>(*image);
  for (size_t i = 0; i < vmdk.extent_count(); ++i) (void)vmdk.extent(i).cluster_size();
  uint64_t offset = 0;
  for (int i = 0; i < 4096 && offset < vmdk.VirtualSize(); ++i) {
    auto status = vmdk.DriverBlockStatus(true, offset, vmdk.VirtualSize() - offset);
    if (!status.ok() || status->bytes == 0) break;
    offset += status->bytes;
  }
  // And a few far offsets, for large sparse images.
  for (uint64_t k = 1; k <= 16 && vmdk.VirtualSize() > 0; ++k) {
    (void)vmdk.DriverBlockStatus(true, vmdk.VirtualSize() / 17 * k, 512);
  }
  return 0;
}
