// WriteBatch's device calls: small writes gathered, a write as large as
// the batch passed on whole, and WriteLent's promise that when it returns
// only its own bytes may still be lent (convert reads its next data into
// the other of its two buffers on the strength of it).
#include "core/write_batch.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace instar {
namespace {

// Records each call as "<kind> <offset> <length>".
class RecordingDevice final : public WritableDevice {
 public:
  Status Read(uint64_t offset, void* /*buffer*/, size_t length) override {
    Record("read", offset, length);
    return Status::Ok();
  }
  uint64_t Size() const override { return 0; }
  Result<uint64_t> SeekData(uint64_t offset) override { return offset; }
  Result<uint64_t> SeekHole(uint64_t offset) override { return offset; }
  Status Write(uint64_t offset, const void* /*data*/, size_t length) override {
    Record("write", offset, length);
    return Status::Ok();
  }
  Status WriteLent(uint64_t offset, const void* /*data*/, size_t length) override {
    Record("lent", offset, length);
    return Status::Ok();
  }
  Status Truncate(uint64_t size) override {
    Record("truncate", size, 0);
    return Status::Ok();
  }
  Status Allocate(uint64_t offset, uint64_t length) override {
    Record("allocate", offset, length);
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }

  std::vector<std::string> calls;

 private:
  void Record(const char* kind, uint64_t offset, uint64_t length) {
    calls.push_back(std::string(kind) + " " + std::to_string(offset) + " " +
                    std::to_string(length));
  }
};

class WriteBatchTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(batch_.Init(arena_)); }

  std::vector<uint8_t> memory_ = std::vector<uint8_t>(WriteBatch::kCapacity + (64 << 10));
  Arena arena_{memory_.data(), memory_.size()};
  RecordingDevice device_;
  WriteBatch batch_{device_};
  std::vector<uint8_t> data_ = std::vector<uint8_t>(WriteBatch::kCapacity);
};

TEST_F(WriteBatchTest, GathersContiguousWritesAndPassesLargeOnesWhole) {
  ASSERT_TRUE(batch_.Write(0, data_.data(), 512).ok());
  ASSERT_TRUE(batch_.Write(512, data_.data(), 512).ok());
  EXPECT_TRUE(device_.calls.empty());
  ASSERT_TRUE(batch_.Write(4096, data_.data(), data_.size()).ok());
  ASSERT_TRUE(batch_.Flush().ok());
  const size_t whole = WriteBatch::kCapacity;
  EXPECT_EQ(device_.calls,
            (std::vector<std::string>{"write 0 1024", "write 4096 " + std::to_string(whole)}));
}

TEST_F(WriteBatchTest, AfterWriteLentOnlyItsOwnBytesMayBeLent) {
  const size_t whole = WriteBatch::kCapacity;
  // Large: lent, as it is.
  ASSERT_TRUE(batch_.WriteLent(0, data_.data(), whole).ok());
  // Small, while that one may still be lent: a device write of its own,
  // whose answer ends the loan (a copy into the batch would not).
  ASSERT_TRUE(batch_.WriteLent(whole, data_.data(), 4096).ok());
  // Small, nothing lent: into the batch, like Write().
  ASSERT_TRUE(batch_.WriteLent(whole + 4096, data_.data(), 4096).ok());
  ASSERT_TRUE(batch_.Flush().ok());
  EXPECT_EQ(device_.calls,
            (std::vector<std::string>{"lent 0 " + std::to_string(whole),
                                      "write " + std::to_string(whole) + " 4096",
                                      "write " + std::to_string(whole + 4096) + " 4096"}));
  // A device call through the batch ends the loan as well.
  device_.calls.clear();
  ASSERT_TRUE(batch_.WriteLent(0, data_.data(), whole).ok());
  ASSERT_TRUE(batch_.Allocate(8 * whole, 4096).ok());
  ASSERT_TRUE(batch_.Flush().ok());
  ASSERT_TRUE(batch_.WriteLent(whole, data_.data(), 4096).ok());
  ASSERT_TRUE(batch_.Flush().ok());
  EXPECT_EQ(device_.calls,
            (std::vector<std::string>{"lent 0 " + std::to_string(whole),
                                      "allocate " + std::to_string(8 * whole) + " 4096",
                                      "write " + std::to_string(whole) + " 4096"}));
}

}  // namespace
}  // namespace instar
