// libFuzzer target: probing arbitrary bytes and reading them as raw.
// Build with clang and -DINSTAR_FUZZ=ON; run as raw_fuzz [corpus dir].
#include <cstddef>
#include <cstdint>
#include <vector>

#include "instar/engine/image.h"
#include "testing/memory_device.h"

namespace {

class NoFiles final : public instar::DeviceOpener {
 public:
  instar::Result<instar::BlockDevice*> Open(const char*, size_t) override {
    return instar::Status::IOError("no other files");
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  instar::testing::MemoryDevice device(std::vector<uint8_t>(data, data + size));
  // The name's suffix matters to the dmg probe.
  const char* name = size > 0 && (data[0] & 1) != 0 ? "input.dmg" : "input";
  size_t name_length = 0;
  while (name[name_length] != '\0') ++name_length;
  (void)instar::ProbeFormat(device, name, name_length);

  static std::vector<uint8_t> buffer(1 << 20);
  instar::Arena arena(buffer.data(), buffer.size());
  NoFiles opener;
  auto image =
      instar::OpenImage(instar::ImageFormat::kRaw, device, opener, arena, instar::OpenOptions{});
  if (!image.ok()) return 0;
  uint64_t offset = 0;
  for (int i = 0; i < 64 && offset < (*image)->VirtualSize(); ++i) {
    auto status = (*image)->DriverBlockStatus(true, offset, (*image)->VirtualSize() - offset);
    if (!status.ok() || status->bytes == 0) break;
    offset += status->bytes;
  }
  return 0;
}
