// MemoryDevice: a WritableDevice over bytes in memory, for engine tests.
//
// Holes can be declared explicitly so tests can exercise the file layer's
// SeekData/SeekHole answers the way a sparse host file would give them; by
// default the whole file is data. LoadFile() reads a corpus image.
//
// WriteLent() is taken at its word, strictly: the bytes are copied only at
// the device's next call (a read included) or when bytes() is looked at,
// so a caller that changed lent memory before then leaves wrong bytes.
#ifndef INSTAR_ENGINE_TESTING_MEMORY_DEVICE_H_
#define INSTAR_ENGINE_TESTING_MEMORY_DEVICE_H_

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "instar/engine/create.h"

namespace instar::testing {

class MemoryDevice final : public WritableDevice {
 public:
  MemoryDevice() = default;
  explicit MemoryDevice(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}

  std::vector<uint8_t>& bytes() {
    ApplyLent();
    return bytes_;
  }

  // Declares [offset, offset + length) a hole (reads still return bytes_).
  void AddHole(uint64_t offset, uint64_t length) { holes_[offset] = offset + length; }
  // Declares every all-zero `block`-sized block a hole, like a sparse copy.
  void PunchZeroBlocks(uint64_t block = 4096) {
    for (uint64_t off = 0; off < bytes_.size(); off += block) {
      uint64_t n = std::min<uint64_t>(block, bytes_.size() - off);
      bool zero = true;
      for (uint64_t i = 0; i < n && zero; ++i) zero = bytes_[off + i] == 0;
      if (zero) AddHole(off, n);
    }
  }

  Status Read(uint64_t offset, void* buffer, size_t length) override {
    ApplyLent();
    ++reads_;
    uint64_t end;
    if (__builtin_add_overflow(offset, length, &end))
      return Status::IOError("read range overflows");
    std::memset(buffer, 0, length);
    if (offset < bytes_.size()) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(length, bytes_.size() - offset));
      std::memcpy(buffer, bytes_.data() + offset, n);
    }
    return Status::Ok();
  }
  uint64_t Size() const override {
    const uint64_t lent_end = lent_.data != nullptr ? lent_.offset + lent_.length : 0;
    return lent_end > bytes_.size() ? lent_end : bytes_.size();
  }
  Result<uint64_t> SeekData(uint64_t offset) override {
    ApplyLent();
    uint64_t pos = offset;
    while (pos < bytes_.size()) {
      uint64_t hole_end = HoleEndAt(pos);
      if (hole_end == pos) return pos;
      pos = hole_end;
    }
    return kNoData;
  }
  Result<uint64_t> SeekHole(uint64_t offset) override {
    ApplyLent();
    uint64_t pos = offset;
    while (pos < bytes_.size() && HoleEndAt(pos) == pos) {
      auto next = holes_.upper_bound(pos);
      pos = next == holes_.end() ? bytes_.size() : std::min<uint64_t>(next->first, bytes_.size());
    }
    return std::min<uint64_t>(pos, bytes_.size());
  }

  // Writing a range makes it data: the holes declared over it shrink.
  Status Write(uint64_t offset, const void* data, size_t length) override {
    ApplyLent();
    return WriteNow(offset, data, length);
  }
  Status WriteLent(uint64_t offset, const void* data, size_t length) override {
    ApplyLent();
    uint64_t end;
    if (__builtin_add_overflow(offset, length, &end) || end > kMaxEnd)
      return Status::IOError("write range past the device's limit");
    lent_ = Lent{offset, data, length};
    return Status::Ok();
  }
  Status Truncate(uint64_t size) override {
    ApplyLent();
    if (size > kMaxEnd) return Status::IOError("truncate past the device's limit");
    uint64_t old_size = bytes_.size();
    bytes_.resize(size);
    if (size > old_size) AddHole(old_size, size - old_size);
    return Status::Ok();
  }
  Status Allocate(uint64_t offset, uint64_t length) override {
    ApplyLent();
    uint64_t end;
    if (__builtin_add_overflow(offset, length, &end) || end > kMaxEnd)
      return Status::IOError("allocate range past the device's limit");
    if (end > bytes_.size()) bytes_.resize(end);
    allocated_[offset] = end;
    return Status::Ok();
  }
  Status Flush() override {
    ApplyLent();
    ++flushes_;
    return Status::Ok();
  }
  // A hole punched: zeros, declared a hole, the length kept.
  Status ZeroRange(uint64_t offset, uint64_t length) override {
    ApplyLent();
    uint64_t end;
    if (__builtin_add_overflow(offset, length, &end)) return Status::IOError("range overflows");
    if (end > bytes_.size()) end = bytes_.size();
    if (offset >= end) return Status::Ok();
    std::memset(bytes_.data() + offset, 0, static_cast<size_t>(end - offset));
    AddHole(offset, end - offset);
    return Status::Ok();
  }

  // Another output beside this one, as the host creates the files
  // FormatDriver::sibling_outputs names; OpenSibling() finds only these.
  MemoryDevice& AddSibling(const std::string& name) {
    std::shared_ptr<MemoryDevice>& sibling = siblings_[name];
    if (sibling == nullptr) sibling = std::make_shared<MemoryDevice>();
    return *sibling;
  }
  // The sibling `name`, or null; opened: whether OpenSibling() asked for it.
  MemoryDevice* sibling(const std::string& name) {
    auto it = siblings_.find(name);
    return it == siblings_.end() ? nullptr : it->second.get();
  }
  const std::map<std::string, std::shared_ptr<MemoryDevice>>& siblings() const { return siblings_; }
  Result<WritableDevice*> OpenSibling(const char* name, size_t length, Arena&) override {
    auto it = siblings_.find(std::string(name, length));
    if (it == siblings_.end()) return Status::IOError("no such output beside the image");
    opened_siblings_.insert(it->first);
    return static_cast<WritableDevice*>(it->second.get());
  }
  bool SiblingOpened(const std::string& name) const { return opened_siblings_.count(name) != 0; }

  int reads() const { return reads_; }
  int flushes() const { return flushes_; }
  // The ranges Allocate() reserved, start -> end.
  const std::map<uint64_t, uint64_t>& allocated() const { return allocated_; }

  static MemoryDevice LoadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return MemoryDevice(
        std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
  }

 private:
  Status WriteNow(uint64_t offset, const void* data, size_t length) {
    uint64_t end;
    if (__builtin_add_overflow(offset, length, &end) || end > kMaxEnd)
      return Status::IOError("write range past the device's limit");
    if (end > bytes_.size()) bytes_.resize(end);
    if (length != 0) std::memcpy(bytes_.data() + offset, data, length);
    RemoveHoles(offset, end);
    return Status::Ok();
  }
  // The lent write, made now.
  void ApplyLent() {
    if (lent_.data == nullptr) return;
    const Lent lent = lent_;
    lent_ = Lent{};
    (void)WriteNow(lent.offset, lent.data, lent.length);
  }

  // End of the hole containing `pos`, or `pos` when it is data.
  uint64_t HoleEndAt(uint64_t pos) const {
    auto it = holes_.upper_bound(pos);
    if (it == holes_.begin()) return pos;
    --it;
    return pos < it->second ? std::min<uint64_t>(it->second, bytes_.size()) : pos;
  }

  // Cuts [start, end) out of the declared holes.
  void RemoveHoles(uint64_t start, uint64_t end) {
    std::map<uint64_t, uint64_t> kept;
    for (auto [hole_start, hole_end] : holes_) {
      if (hole_end <= start || hole_start >= end) {
        kept[hole_start] = hole_end;
        continue;
      }
      if (hole_start < start) kept[hole_start] = start;
      if (hole_end > end) kept[end] = hole_end;
    }
    holes_ = std::move(kept);
  }

  // Tests never need more; it keeps a hostile size from allocating.
  static constexpr uint64_t kMaxEnd = uint64_t{1} << 32;

  struct Lent {
    uint64_t offset = 0;
    const void* data = nullptr;
    size_t length = 0;
  };

  std::vector<uint8_t> bytes_;
  Lent lent_;                           // a WriteLent not made yet
  std::map<uint64_t, uint64_t> holes_;  // start -> end, non-overlapping
  std::map<uint64_t, uint64_t> allocated_;
  int reads_ = 0;
  int flushes_ = 0;
  std::map<std::string, std::shared_ptr<MemoryDevice>> siblings_;
  std::set<std::string> opened_siblings_;
};

}  // namespace instar::testing

#endif  // INSTAR_ENGINE_TESTING_MEMORY_DEVICE_H_
