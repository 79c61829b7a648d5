// The table cache every format reads its metadata through.
#include "core/table_cache.h"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "testing/memory_device.h"

namespace instar {
namespace {

using testing::MemoryDevice;

// Byte i of the file is i * 7 + 1 (mod 256): no two neighbours alike.
MemoryDevice PatternDevice(size_t size) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(i * 7 + 1);
  return MemoryDevice(std::move(bytes));
}

struct CacheFixture {
  explicit CacheFixture(size_t slots) : arena(memory.data(), memory.size()) {
    cache = TableCache::Create(arena, slots);
  }
  std::vector<uint8_t> memory = std::vector<uint8_t>(1 << 20);
  Arena arena;
  TableCache* cache = nullptr;
};

TEST(TableCacheTest, ReadsWhatTheDeviceHoldsAcrossChunks) {
  MemoryDevice device = PatternDevice(5 * TableCache::kChunkBytes);
  CacheFixture f(4);
  ASSERT_NE(f.cache, nullptr);
  std::vector<uint8_t> out(3 * TableCache::kChunkBytes);
  const uint64_t offset = TableCache::kChunkBytes - 5;
  ASSERT_TRUE(f.cache->Read(device, offset, out.data(), out.size()).ok());
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(out[i], device.bytes()[offset + i]) << i;
  }
}

TEST(TableCacheTest, LoadsEntriesInEitherByteOrderEvenAcrossAChunkEnd) {
  MemoryDevice device(std::vector<uint8_t>(2 * TableCache::kChunkBytes));
  const uint64_t at = TableCache::kChunkBytes - 3;  // straddles the first chunk's end
  for (int i = 0; i < 8; ++i) device.bytes()[at + i] = static_cast<uint8_t>(0x11 * (i + 1));
  CacheFixture f(2);
  EXPECT_EQ(*f.cache->LoadBE64(device, at), 0x1122334455667788u);
  EXPECT_EQ(*f.cache->LoadLE64(device, at), 0x8877665544332211u);
  EXPECT_EQ(*f.cache->LoadBE32(device, at), 0x11223344u);
  EXPECT_EQ(*f.cache->LoadLE32(device, at + 4), 0x88776655u);
  EXPECT_EQ(*f.cache->LoadByte(device, at + 2), 0x33u);
}

TEST(TableCacheTest, ReadsPastTheEndOfTheFileAsZeros) {
  MemoryDevice device = PatternDevice(100);
  CacheFixture f(1);
  EXPECT_EQ(*f.cache->LoadBE64(device, 96),
            uint64_t{device.bytes()[96]} << 56 | uint64_t{device.bytes()[97]} << 48 |
                uint64_t{device.bytes()[98]} << 40 | uint64_t{device.bytes()[99]} << 32);
  EXPECT_EQ(*f.cache->LoadLE64(device, 1 << 20), 0u);
}

TEST(TableCacheTest, HitsDoNotReadTheDeviceAgain) {
  MemoryDevice device = PatternDevice(4 * TableCache::kChunkBytes);
  CacheFixture f(2);
  ASSERT_TRUE(f.cache->LoadLE32(device, 0).ok());
  ASSERT_TRUE(f.cache->LoadLE32(device, TableCache::kChunkBytes).ok());
  const int reads = device.reads();
  for (uint64_t at = 0; at < 2 * TableCache::kChunkBytes; at += 8) {
    ASSERT_TRUE(f.cache->LoadLE64(device, at).ok());
  }
  EXPECT_EQ(device.reads(), reads);
}

TEST(TableCacheTest, ReplacesTheLeastRecentlyUsedChunk) {
  constexpr uint64_t kChunk = TableCache::kChunkBytes;
  MemoryDevice device = PatternDevice(4 * kChunk);
  CacheFixture f(2);
  ASSERT_TRUE(f.cache->LoadByte(device, 0 * kChunk).ok());  // A
  ASSERT_TRUE(f.cache->LoadByte(device, 1 * kChunk).ok());  // B
  ASSERT_TRUE(f.cache->LoadByte(device, 0 * kChunk).ok());  // A again: B is now oldest
  ASSERT_TRUE(f.cache->LoadByte(device, 2 * kChunk).ok());  // C replaces B
  int reads = device.reads();
  ASSERT_TRUE(f.cache->LoadByte(device, 0 * kChunk).ok());  // A: still there
  EXPECT_EQ(device.reads(), reads);
  ASSERT_TRUE(f.cache->LoadByte(device, 1 * kChunk).ok());  // B: read again
  EXPECT_EQ(device.reads(), reads + 1);
}

TEST(TableCacheTest, KeysChunksByDevice) {
  MemoryDevice one = PatternDevice(TableCache::kChunkBytes);
  MemoryDevice two(std::vector<uint8_t>(TableCache::kChunkBytes, 0xab));
  CacheFixture f(4);
  EXPECT_EQ(*f.cache->LoadByte(one, 10), one.bytes()[10]);
  EXPECT_EQ(*f.cache->LoadByte(two, 10), 0xabu);
  EXPECT_EQ(*f.cache->LoadByte(one, 10), one.bytes()[10]);
}

// A device whose reads fail while `failing` is set.
class FlakyDevice final : public BlockDevice {
 public:
  explicit FlakyDevice(MemoryDevice& inner) : inner_(inner) {}
  Status Read(uint64_t offset, void* buffer, size_t length) override {
    if (failing) {
      // Scribble first, as a short read would, to catch a chunk kept anyway.
      for (size_t i = 0; i < length; ++i) static_cast<uint8_t*>(buffer)[i] = 0xee;
      return Status::IOError("read failed");
    }
    return inner_.Read(offset, buffer, length);
  }
  uint64_t Size() const override { return inner_.Size(); }
  Result<uint64_t> SeekData(uint64_t offset) override { return inner_.SeekData(offset); }
  Result<uint64_t> SeekHole(uint64_t offset) override { return inner_.SeekHole(offset); }
  bool failing = false;

 private:
  MemoryDevice& inner_;
};

TEST(TableCacheTest, AFailedReadLeavesNothingCached) {
  MemoryDevice inner = PatternDevice(TableCache::kChunkBytes);
  FlakyDevice device(inner);
  CacheFixture f(1);
  device.failing = true;
  EXPECT_EQ(f.cache->LoadByte(device, 5).status().code(), StatusCode::kIOError);
  device.failing = false;
  EXPECT_EQ(*f.cache->LoadByte(device, 5), inner.bytes()[5]);
}

TEST(TableCacheTest, RefusesRangesThatWrapAndAnEmptyArena) {
  MemoryDevice device = PatternDevice(16);
  CacheFixture f(1);
  uint8_t buffer[16];
  EXPECT_FALSE(f.cache->Read(device, UINT64_MAX - 4, buffer, sizeof(buffer)).ok());
  EXPECT_FALSE(f.cache->LoadLE64(device, UINT64_MAX - 3).ok());
  // The last chunk of the 64-bit space cannot be read whole: the device says so.
  EXPECT_FALSE(f.cache->LoadByte(device, UINT64_MAX - 10).ok());

  uint8_t small[TableCache::kChunkBytes];
  Arena tiny(small, sizeof(small));
  EXPECT_EQ(TableCache::Create(tiny, 1), nullptr);
  EXPECT_EQ(TableCache::Create(f.arena, 0), nullptr);
}

}  // namespace
}  // namespace instar
