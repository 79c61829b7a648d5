// SparseDevice: a WritableDevice that keeps only the 64 KiB pages written
// to, so a writer can make a file of terabytes (a fixed vhdx, a large
// vpc) in a test or a fuzzer without the memory. Unwritten ranges read as
// zeros and are holes to SeekData/SeekHole. Writes past `page_limit`
// stored pages fail with IOError, which bounds what a fuzzed writer can
// make the process hold.
#ifndef INSTAR_ENGINE_TESTING_SPARSE_DEVICE_H_
#define INSTAR_ENGINE_TESTING_SPARSE_DEVICE_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>

#include "instar/engine/create.h"

namespace instar::testing {

class SparseDevice final : public WritableDevice {
 public:
  static constexpr uint64_t kPageSize = 64 << 10;
  // A file offset is an off_t, as the sandbox's ABI bounds it.
  static constexpr uint64_t kMaxEnd = static_cast<uint64_t>(INT64_MAX);

  explicit SparseDevice(size_t page_limit = 4096) : page_limit_(page_limit) {}

  Status Read(uint64_t offset, void* buffer, size_t length) override {
    uint64_t end;
    if (__builtin_add_overflow(offset, length, &end)) return Status::IOError("read overflows");
    auto* out = static_cast<uint8_t*>(buffer);
    std::memset(out, 0, length);
    for (uint64_t at = offset; at < end;) {
      const uint64_t page = at / kPageSize;
      const uint64_t within = at % kPageSize;
      const uint64_t n = std::min(kPageSize - within, end - at);
      auto it = pages_.find(page);
      if (it != pages_.end() && at < size_) {
        const uint64_t valid = std::min(n, size_ - at);
        std::memcpy(out + (at - offset), it->second.get() + within, valid);
      }
      at += n;
    }
    return Status::Ok();
  }
  uint64_t Size() const override { return size_; }
  Result<uint64_t> SeekData(uint64_t offset) override {
    for (auto it = pages_.lower_bound(offset / kPageSize); it != pages_.end(); ++it) {
      const uint64_t start = std::max(offset, it->first * kPageSize);
      if (start < size_) return start;
    }
    return kNoData;
  }
  Result<uint64_t> SeekHole(uint64_t offset) override {
    uint64_t at = offset;
    while (at < size_ && pages_.count(at / kPageSize) != 0) at = (at / kPageSize + 1) * kPageSize;
    return std::min(at, size_);
  }

  Status Write(uint64_t offset, const void* data, size_t length) override {
    uint64_t end;
    if (__builtin_add_overflow(offset, length, &end) || end > kMaxEnd) {
      return Status::IOError("write range past the device's limit");
    }
    const auto* in = static_cast<const uint8_t*>(data);
    for (uint64_t at = offset; at < end;) {
      const uint64_t page = at / kPageSize;
      const uint64_t within = at % kPageSize;
      const uint64_t n = std::min(kPageSize - within, end - at);
      auto it = pages_.find(page);
      if (it == pages_.end()) {
        if (pages_.size() >= page_limit_) return Status::IOError("sparse device is full");
        std::unique_ptr<uint8_t[]> fresh(new uint8_t[kPageSize]());
        it = pages_.emplace(page, std::move(fresh)).first;
      }
      std::memcpy(it->second.get() + within, in + (at - offset), n);
      at += n;
    }
    if (end > size_) size_ = end;
    return Status::Ok();
  }
  Status Truncate(uint64_t size) override {
    if (size > kMaxEnd) return Status::IOError("truncate past the device's limit");
    if (size < size_) {
      // Drop whole pages past the end and zero the tail of the last one, so
      // a later growth reads zeros there.
      pages_.erase(pages_.lower_bound((size + kPageSize - 1) / kPageSize), pages_.end());
      auto it = pages_.find(size / kPageSize);
      if (it != pages_.end() && size % kPageSize != 0) {
        std::memset(it->second.get() + size % kPageSize, 0, kPageSize - size % kPageSize);
      }
    }
    size_ = size;
    return Status::Ok();
  }
  Status Allocate(uint64_t offset, uint64_t length) override {
    uint64_t end;
    if (__builtin_add_overflow(offset, length, &end) || end > kMaxEnd) {
      return Status::IOError("allocate range past the device's limit");
    }
    if (end > size_) size_ = end;
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }

  size_t pages() const { return pages_.size(); }

 private:
  size_t page_limit_;
  uint64_t size_ = 0;
  std::map<uint64_t, std::unique_ptr<uint8_t[]>> pages_;
};

}  // namespace instar::testing

#endif  // INSTAR_ENGINE_TESTING_SPARSE_DEVICE_H_
