// raw's writer: qemu's raw format driver passes a guest write to the file
// at the same offset (raw_co_pwritev with no offset option), so the bytes
// go straight to the device, gathered into as few device writes as the
// sequence allows (core/write_batch.h). A write-zeroes is the file's
// (raw_co_pwrite_zeroes): a hole punched where the file system can.
// Close writes nothing of raw's own;
// Finish() flushes (qemu-img's blk_unref() flushes the file).
#include "raw/raw_write.h"

#include "core/write_batch.h"

namespace instar {

namespace {

class RawWriter final : public ImageWriter {
 public:
  RawWriter(WritableDevice& device, uint64_t virtual_size)
      : device_(device), batch_(device), virtual_size_(virtual_size) {}

  bool Init(Arena& arena) { return batch_.Init(arena); }

  Status Write(uint64_t offset, const uint8_t* data, size_t length) override {
    return WriteData(offset, data, length, false);
  }
  Status WriteLent(uint64_t offset, const uint8_t* data, size_t length) override {
    return WriteData(offset, data, length, true);
  }

  // raw_co_pwrite_zeroes passes the write-zeroes (with unmap) to the file:
  // file-posix punches a hole (WritableDevice::ZeroRange).
  Status WriteZeroes(uint64_t offset, uint64_t length) override {
    if (finished_) return Status::InvalidArgument("write after the image was closed");
    uint64_t end = 0;
    if (__builtin_add_overflow(offset, length, &end) || end > virtual_size_) {
      return Status::OutOfRange("write past the end of the image");
    }
    INSTAR_RETURN_IF_ERROR(batch_.Flush());
    return device_.ZeroRange(offset, length);
  }

  Status Finish() override {
    if (finished_) return Status::InvalidArgument("the image was closed twice");
    finished_ = true;
    INSTAR_RETURN_IF_ERROR(batch_.Flush());
    return device_.Flush();
  }

 private:
  Status WriteData(uint64_t offset, const uint8_t* data, size_t length, bool lent) {
    if (finished_) return Status::InvalidArgument("write after the image was closed");
    uint64_t end = 0;
    if (__builtin_add_overflow(offset, length, &end) || end > virtual_size_) {
      return Status::OutOfRange("write past the end of the image");
    }
    return lent ? batch_.WriteLent(offset, data, length) : batch_.Write(offset, data, length);
  }

  WritableDevice& device_;
  WriteBatch batch_;
  uint64_t virtual_size_;
  bool finished_ = false;
};

}  // namespace

Result<ImageWriter*> OpenRawWriter(Image& image, WritableDevice& device, const WriterEntropy&,
                                   const QemuVersion&, Arena& arena) {
  auto* writer = arena.New<RawWriter>(device, image.VirtualSize());
  if (writer == nullptr || !writer->Init(arena)) {
    return Status::NoSpace("out of memory opening a raw image for writing");
  }
  return static_cast<ImageWriter*>(writer);
}

}  // namespace instar
