// raw's create hook over a MemoryDevice: each preallocation mode's file,
// and the refusals qemu-img prints (their words checked against live
// qemu-img by vmm/cli/create_cli_test.cc).
#include "raw/raw_create.h"

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "instar/engine/format_driver.h"
#include "testing/memory_device.h"

namespace instar {
namespace {

constexpr QemuVersion kCompat{11, 1, 3};

struct Created {
  Status status;
  MeasureError error;
  std::string error_text;
};

Created Create(const char* options, uint64_t size, testing::MemoryDevice& device) {
  static std::vector<uint8_t> arena_bytes(4 << 20);
  Arena arena(arena_bytes.data(), arena_bytes.size());
  ParsedMeasureOptions parsed;
  Created out;
  out.status = ParseMeasureOptions(ImageFormat::kRaw, options, std::strlen(options), kCompat, arena,
                                   &parsed, &out.error);
  EXPECT_TRUE(out.status.ok()) << out.status.message();
  CreateRequest request;
  request.options = &parsed;
  request.size = size;
  const FormatDriver* raw = FindFormatDriver(ImageFormat::kRaw);
  EXPECT_EQ(raw->create, &CreateRaw);
  out.status = raw->create(request, device, kCompat, arena, &out.error);
  char text[512];
  FormatMeasureError(out.error, text, sizeof(text));
  out.error_text = text;
  return out;
}

TEST(RawCreateTest, OffIsAHoleOfTheSize) {
  testing::MemoryDevice device(std::vector<uint8_t>(100, 0xAA));
  const Created created = Create("", 3 << 20, device);
  ASSERT_TRUE(created.status.ok()) << created.status.message();
  // Emptied first, then grown: the old bytes are gone.
  EXPECT_EQ(device.bytes(), std::vector<uint8_t>(3 << 20, 0));
  EXPECT_TRUE(device.allocated().empty());
  EXPECT_EQ(device.flushes(), 1);
}

// file-posix rounds the size up to 512 bytes (qemu-img create -f raw of
// 100 bytes makes a 512-byte file, of 1000 bytes a 1024-byte one).
TEST(RawCreateTest, TheSizeIsRoundedUpToASector) {
  for (const auto& [size, file] :
       {std::pair<uint64_t, uint64_t>{100, 512}, {512, 512}, {1000, 1024}, {5000, 5120}}) {
    for (const char* options : {"", "preallocation=falloc", "preallocation=full"}) {
      testing::MemoryDevice device;
      const Created created = Create(options, size, device);
      ASSERT_TRUE(created.status.ok()) << created.status.message();
      EXPECT_EQ(device.Size(), file) << size << " " << options;
    }
  }
}

TEST(RawCreateTest, FallocReservesTheWholeFile) {
  testing::MemoryDevice device;
  const Created created = Create("preallocation=falloc", 1 << 20, device);
  ASSERT_TRUE(created.status.ok()) << created.status.message();
  EXPECT_EQ(device.Size(), 1u << 20);
  ASSERT_EQ(device.allocated().size(), 1u);
  EXPECT_EQ(device.allocated().begin()->first, 0u);
  EXPECT_EQ(device.allocated().begin()->second, 1u << 20);
}

TEST(RawCreateTest, FullWritesZerosOverTheWholeFile) {
  testing::MemoryDevice device;
  // Not a multiple of the write size: the last write is short.
  const uint64_t size = (3 << 20) + 512;
  const Created created = Create("preallocation=full", size, device);
  ASSERT_TRUE(created.status.ok()) << created.status.message();
  EXPECT_EQ(device.bytes(), std::vector<uint8_t>(size, 0));
}

TEST(RawCreateTest, AnEmptyImage) {
  testing::MemoryDevice device(std::vector<uint8_t>(10, 1));
  for (const char* options : {"", "preallocation=falloc", "preallocation=full"}) {
    const Created created = Create(options, 0, device);
    ASSERT_TRUE(created.status.ok()) << options << ": " << created.status.message();
    EXPECT_EQ(device.Size(), 0u) << options;
  }
}

TEST(RawCreateTest, MetadataIsRefused) {
  testing::MemoryDevice device;
  const Created created = Create("preallocation=metadata", 1 << 20, device);
  EXPECT_FALSE(created.status.ok());
  EXPECT_EQ(created.error_text, "qemu-img: Unsupported preallocation mode: metadata\n");
}

TEST(RawCreateTest, AnUnknownModeIsRefusedWhenTheCreateRuns) {
  testing::MemoryDevice device;
  const Created created = Create("preallocation=bogus", 1 << 20, device);
  EXPECT_FALSE(created.status.ok());
  EXPECT_EQ(created.error_text, "qemu-img: invalid parameter value: bogus\n");
  EXPECT_EQ(device.Size(), 0u);
}

TEST(RawCreateTest, AFailingDeviceIsReported) {
  testing::MemoryDevice device;
  // Past the MemoryDevice's limit, as past the host's write limit.
  const Created created = Create("preallocation=full", uint64_t{1} << 40, device);
  EXPECT_FALSE(created.status.ok());
  EXPECT_EQ(created.error_text.rfind("qemu-img: Could not resize file: ", 0), 0u)
      << created.error_text;
}

}  // namespace
}  // namespace instar
