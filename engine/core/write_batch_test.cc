// WriteBatch's device calls: small writes gathered, a write as large as
// the batch passed on whole, WriteLent's promise that when it returns only
// its own bytes may still be lent (convert reads its next data into the
// other of its two buffers on the strength of it), and with room for two
// buffers each batch lent and the other one filled next.
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
  Status WriteLent(uint64_t offset, const void* data, size_t length) override {
    Record("lent", offset, length);
    lent_from.push_back(static_cast<const uint8_t*>(data));
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
  std::vector<const uint8_t*> lent_from;  // each WriteLent's memory

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

// With room for two buffers every batch passed on is lent, from the two in
// turn: the buffer lent last is never the one the next writes go into, and
// each flush is the call whose answer ends the loan before it. Their bytes
// are the writes'.
TEST(WriteBatchTwoBuffersTest, LendsEachBatchAndFillsTheOtherBuffer) {
  std::vector<uint8_t> memory(2 * WriteBatch::kCapacity + (64 << 10));
  Arena arena(memory.data(), memory.size());
  RecordingDevice device;
  WriteBatch batch(device);
  ASSERT_TRUE(batch.Init(arena));
  std::vector<std::vector<uint8_t>> seen;
  const std::vector<uint8_t> a(512, 'a');
  const std::vector<uint8_t> b(512, 'b');
  const std::vector<uint8_t> c(512, 'c');
  ASSERT_TRUE(batch.Write(0, a.data(), a.size()).ok());
  ASSERT_TRUE(batch.Write(512, a.data(), a.size()).ok());
  ASSERT_TRUE(batch.Write(8192, b.data(), b.size()).ok());  // not contiguous: the first batch goes
  ASSERT_EQ(device.lent_from.size(), 1u);
  seen.emplace_back(device.lent_from[0], device.lent_from[0] + 1024);
  ASSERT_TRUE(batch.WriteZeros(65536, 512).ok());  // the second
  ASSERT_EQ(device.lent_from.size(), 2u);
  seen.emplace_back(device.lent_from[1], device.lent_from[1] + 512);
  ASSERT_TRUE(batch.Write(1 << 20, c.data(), c.size()).ok());
  ASSERT_TRUE(batch.Flush().ok());
  ASSERT_EQ(device.lent_from.size(), 4u);
  EXPECT_EQ(device.calls, (std::vector<std::string>{"lent 0 1024", "lent 8192 512",
                                                    "lent 65536 512", "lent 1048576 512"}));
  EXPECT_NE(device.lent_from[0], device.lent_from[1]);
  EXPECT_EQ(device.lent_from[0], device.lent_from[2]);
  EXPECT_EQ(device.lent_from[1], device.lent_from[3]);
  EXPECT_EQ(seen[0], std::vector<uint8_t>(1024, 'a'));
  EXPECT_EQ(seen[1], std::vector<uint8_t>(512, 'b'));
  EXPECT_EQ(std::vector<uint8_t>(device.lent_from[3], device.lent_from[3] + 512), c);

  // Moving to another file: what is pending goes with a copy, and a file
  // left with a batch lent gets a call of its own (no bytes) first.
  RecordingDevice next;
  ASSERT_TRUE(batch.Write(0, a.data(), a.size()).ok());
  ASSERT_TRUE(batch.SwitchTo(next).ok());
  ASSERT_TRUE(batch.Write(0, b.data(), b.size()).ok());
  ASSERT_TRUE(batch.Write(4096, b.data(), b.size()).ok());
  ASSERT_TRUE(batch.SwitchTo(device).ok());
  EXPECT_EQ(device.calls.back(), "write 0 512");
  EXPECT_EQ(next.calls, (std::vector<std::string>{"lent 0 512", "write 4096 512"}));
  next.calls.clear();
  ASSERT_TRUE(batch.Write(0, c.data(), c.size()).ok());
  ASSERT_TRUE(batch.Write(4096, c.data(), c.size()).ok());
  ASSERT_TRUE(batch.SwitchTo(next).ok());
  EXPECT_EQ(device.calls.back(), "write 4096 512");
  ASSERT_TRUE(batch.Write(0, c.data(), c.size()).ok());
  ASSERT_TRUE(batch.Write(4096, c.data(), c.size()).ok());  // lends the first
  ASSERT_TRUE(batch.SwitchTo(device).ok());                 // "write 4096"
  ASSERT_TRUE(batch.Flush().ok());
  ASSERT_TRUE(batch.SwitchTo(next).ok());  // nothing pending, nothing lent to `device`
  EXPECT_EQ(next.calls, (std::vector<std::string>{"lent 0 512", "write 4096 512"}));
  // Lent last, nothing pending: a call of no bytes on the file left.
  device.calls.clear();
  ASSERT_TRUE(batch.Write(0, a.data(), a.size()).ok());
  ASSERT_TRUE(batch.Write(4096, a.data(), a.size()).ok());
  ASSERT_TRUE(batch.Flush().ok());
  ASSERT_TRUE(batch.SwitchTo(device).ok());
  EXPECT_EQ(next.calls.back(), "write 0 0");
}

}  // namespace
}  // namespace instar
