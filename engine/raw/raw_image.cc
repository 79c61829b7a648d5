// The raw format: qemu's block/raw-format.c without its offset/size options.
#include "instar/engine/raw.h"

#include "core/formats.h"
#include "instar/engine/bytes.h"

namespace instar {

namespace {

// qemu's BDRV_MAX_LENGTH: INT64_MAX aligned down to 1 GiB.
constexpr uint64_t kMaxImageLength = (uint64_t{1} << 63) - (uint64_t{1} << 30);

// The object the arena holds; never destroyed.
class RawReader final : public RawImage {
 public:
  RawReader(BlockDevice* file, uint64_t length, uint64_t size) : RawImage(file, length, size) {}

 private:
  ~RawReader() = default;
};

}  // namespace

Result<BlockStatus> RawImage::DriverBlockStatus(bool, uint64_t offset, uint64_t bytes) {
  if (bytes == 0 || offset >= virtual_size_) {
    return Status::InvalidArgument("block status range is outside the image");
  }
  if (bytes > virtual_size_ - offset) bytes = virtual_size_ - offset;
  BlockStatus status;
  status.flags = block_status::kRaw | block_status::kOffsetValid;
  status.bytes = bytes;
  status.map = offset;
  status.file = file_;
  return status;
}

Result<Image*> OpenRawImage(BlockDevice& device, DeviceOpener&, Arena& arena, const OpenOptions&) {
  const uint64_t length = device.Size();
  if (length > kMaxImageLength) return Status::OutOfRange("raw image is too large");
  const uint64_t size = AlignUp(length, 512);
  RawImage* image = arena.New<RawReader>(&device, length, size);
  if (image == nullptr) return Status::NoSpace("out of memory opening a raw image");
  return static_cast<Image*>(image);
}

}  // namespace instar
