#include "instar/engine/raw.h"

#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "testing/corpus.h"
#include "testing/memory_device.h"

namespace instar {
namespace {

using testing::MemoryDevice;

Result<Image*> OpenRaw(MemoryDevice& device, std::vector<uint8_t>& buffer,
                       std::unique_ptr<Arena>& arena) {
  buffer.resize(4096);
  arena = std::make_unique<Arena>(buffer.data(), buffer.size());
  testing::MapOpener opener;
  return OpenImage(ImageFormat::kRaw, device, opener, *arena, OpenOptions{{10, 0, 13}});
}

// `qemu-img info --output=json raw-sparse.raw` (every version): virtual
// size 3145728. `qemu-img map --output=json`: every entry has "offset"
// equal to its start (the zero and data flags come from the file's holes,
// which the generic layer asks for).
TEST(RawTest, CorpusImage) {
  MemoryDevice device(testing::CorpusBytes("raw-sparse.raw"));
  std::vector<uint8_t> buffer;
  std::unique_ptr<Arena> arena;
  auto image = OpenRaw(device, buffer, arena);
  ASSERT_TRUE(image.ok()) << image.status().message();
  EXPECT_EQ((*image)->format(), ImageFormat::kRaw);
  EXPECT_EQ((*image)->VirtualSize(), 3145728u);
  EXPECT_TRUE((*image)->HasDriverBlockStatus());
  EXPECT_FALSE((*image)->HasBacking());
  EXPECT_EQ(&(*image)->file(), &device);
  auto status = (*image)->DriverBlockStatus(true, 4096, 3145728 - 4096);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->flags, block_status::kRaw | block_status::kOffsetValid);
  EXPECT_EQ(status->bytes, 3145728u - 4096);
  EXPECT_EQ(status->map, 4096u);
  EXPECT_EQ(status->file, &device);
}

// `qemu-img info --output=json` of a 1000-byte file prints virtual size
// 1024 (qemu counts whole sectors), and `qemu-img map --output=json` ends
// at 1024; an empty file is 0 bytes.
TEST(RawTest, SizeInWholeSectors) {
  MemoryDevice odd(std::vector<uint8_t>(1000, 7));
  std::vector<uint8_t> buffer;
  std::unique_ptr<Arena> arena;
  auto image = OpenRaw(odd, buffer, arena);
  ASSERT_TRUE(image.ok());
  EXPECT_EQ((*image)->VirtualSize(), 1024u);
  EXPECT_EQ(static_cast<RawImage*>(*image)->file_length(), 1000u);
  auto status = (*image)->DriverBlockStatus(false, 512, 4096);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->bytes, 512u);  // clamped to the end
  EXPECT_FALSE((*image)->DriverBlockStatus(false, 1024, 1).ok());
  EXPECT_FALSE((*image)->DriverBlockStatus(false, 0, 0).ok());

  MemoryDevice empty;
  auto none = OpenRaw(empty, buffer, arena);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ((*none)->VirtualSize(), 0u);
}

TEST(RawTest, ArenaTooSmall) {
  MemoryDevice device(std::vector<uint8_t>(512));
  uint8_t tiny[8];
  Arena arena(tiny, sizeof(tiny));
  testing::MapOpener opener;
  auto image = OpenImage(ImageFormat::kRaw, device, opener, arena, OpenOptions{});
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), StatusCode::kNoSpace);
}

}  // namespace
}  // namespace instar
