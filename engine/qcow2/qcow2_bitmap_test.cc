// The bitmap directory of qcow2-bitmap.qcow2 (b0 at directory offset 0, b1
// at 32; the directory at 0xa0000; the bitmaps extension at header offset
// 504; b0's bitmap table at 0x80000), mutated the way qemu's bitmap loading
// is tested. Each mutation was applied with Python to a copy of the corpus
// image and given to `qemu-img info -f qcow2 --output=json` (5.2.0 and
// 10.0.13 alike unless noted); the quoted line is what they printed.
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "instar/engine/bytes.h"
#include "qcow2/qcow2_test_util.h"

namespace instar {
namespace {

using testing::MapOpener;
using testing::MemoryDevice;

constexpr size_t kDirectory = 655360;
constexpr size_t kSecondEntry = kDirectory + 32;
constexpr size_t kBitmapsExtension = 504;

using Mutation = std::function<void(std::vector<uint8_t>&)>;

std::unique_ptr<qcow2_testing::OpenedQcow2> Open(MemoryDevice& device, MapOpener& opener,
                                                 const Mutation& mutate,
                                                 const char* compat = "10.0.13") {
  device = MemoryDevice::LoadFile(qcow2_testing::SourcePath("cases/images/qcow2-bitmap.qcow2"));
  mutate(device.bytes());
  return qcow2_testing::OpenQcow2For(device, compat, opener, Qcow2OpenParams{.no_io = true});
}

struct BitmapError {
  const char* name;
  Mutation mutate;
  const char* message;
};

const BitmapError kErrors[] = {
    // "Bitmap already exists: b0"
    {"duplicate_name", [](auto& b) { b[kSecondEntry + 25] = '0'; }, "Bitmap already exists: b0"},
    // "Could not read bitmap_table table from image for bitmap 'b0': Invalid argument"
    {"reserved_bits_in_table_entry",
     [](auto& b) { StoreBE64(b.data() + 0x80000, 0x0100000000000000ull); },
     "Could not read bitmap_table table from image for bitmap: Invalid argument"},
    // "Could not read bitmap 'b0' from image: Invalid argument"
    {"table_size_mismatch", [](auto& b) { StoreBE32(b.data() + kDirectory + 8, 2); },
     "Could not read bitmap 'b0' from image: Invalid argument"},
    // "Less bitmaps found than specified in header extension"
    {"header_counts_three", [](auto& b) { StoreBE32(b.data() + kBitmapsExtension + 8, 3); },
     "Less bitmaps found than specified in header extension"},
    // "Bitmap 'b0' doesn't satisfy the constraints"
    {"type_2", [](auto& b) { b[kDirectory + 16] = 2; },
     "Bitmap 'b0' doesn't satisfy the constraints"},
    // "Bitmap extra data is not supported"
    {"extra_data", [](auto& b) { StoreBE32(b.data() + kDirectory + 20, 8); },
     "Bitmap extra data is not supported"},
    // "Requested bitmap directory size is zero"
    {"directory_size_zero", [](auto& b) { StoreBE64(b.data() + kBitmapsExtension + 16, 0); },
     "Requested bitmap directory size is zero"},
    // 10.0.13: "Failed to read bitmap directory: Input/output error"
    // (5.2.0 reads zeros there: "Bitmap '' doesn't satisfy the constraints")
    {"directory_past_block_layer_limit",
     [](auto& b) { StoreBE64(b.data() + kBitmapsExtension + 24, 0x7fffffffffff0000ull); },
     "Failed to read bitmap directory: Input/output error"},
};

// The message as qemu-img prints it, its name and numbers filled in.
std::string Message(const Status& status) {
  char text[512];
  FormatStatusMessage(status, text, sizeof(text));
  return text;
}

class Qcow2BitmapErrorTest : public ::testing::TestWithParam<BitmapError> {};

TEST_P(Qcow2BitmapErrorTest, OpenFails) {
  MemoryDevice device;
  MapOpener opener;
  auto opened = Open(device, opener, GetParam().mutate);
  ASSERT_FALSE(opened->ok());
  EXPECT_EQ(Message(opened->status), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(Bitmaps, Qcow2BitmapErrorTest, ::testing::ValuesIn(kErrors),
                         [](const ::testing::TestParamInfo<BitmapError>& param_info) {
                           return std::string(param_info.param.name);
                         });

TEST(Qcow2BitmapTest, DirectoryPastTheLimitIsReadAsZerosBy52) {
  MemoryDevice device;
  MapOpener opener;
  auto opened = Open(
      device, opener,
      [](auto& b) { StoreBE64(b.data() + kBitmapsExtension + 24, 0x7fffffffffff0000ull); },
      "5.2.0");
  ASSERT_FALSE(opened->ok());
  EXPECT_EQ(Message(opened->status), "Bitmap '' doesn't satisfy the constraints");
}

// b1 renamed b0 and marked in use: info lists both
//   {"flags": ["auto"], "name": "b0", "granularity": 65536},
//   {"flags": ["in-use"], "name": "b0", "granularity": 131072}
// and `qemu-img measure -O qcow2` prints "bitmaps size: 196608": the second
// is not loaded, so only b0 counts (131072 for it, 65536 for the directory).
TEST(Qcow2BitmapTest, InUseDuplicateIsListedButNotLoaded) {
  MemoryDevice device;
  MapOpener opener;
  auto opened = Open(device, opener, [](auto& b) {
    b[kSecondEntry + 25] = '0';
    StoreBE32(b.data() + kSecondEntry + 12, qcow2::kBitmapInUse);
  });
  ASSERT_TRUE(opened->ok()) << opened->status.message();
  Qcow2BitmapCursor cursor(*opened->image);
  Qcow2Bitmap first;
  Qcow2Bitmap second;
  ASSERT_TRUE(*cursor.Next(&first));
  EXPECT_EQ(std::string(first.name.data, first.name.size), "b0");
  EXPECT_TRUE(first.loaded);
  EXPECT_TRUE(first.auto_enabled());
  ASSERT_TRUE(*cursor.Next(&second));
  EXPECT_EQ(std::string(second.name.data, second.name.size), "b0");
  EXPECT_EQ(second.granularity, 131072u);
  EXPECT_TRUE(second.in_use());
  EXPECT_FALSE(second.loaded);
  uint64_t bitmaps_size = 0;
  uint64_t directory = 0;
  for (const Qcow2Bitmap* bitmap : {&first, &second}) {
    if (!bitmap->loaded) continue;
    const uint64_t bytes =
        DivRoundUp(DivRoundUp(opened->image->VirtualSize(), bitmap->granularity), 8);
    const uint64_t clusters = DivRoundUp(bytes, 65536);
    bitmaps_size += clusters * 65536 + AlignUp(clusters * 8, 65536);
    directory += AlignUp(24 + bitmap->name.size, 8);
  }
  bitmaps_size += AlignUp(directory, 65536);
  EXPECT_EQ(bitmaps_size, 196608u);
}

// The autoclear bit cleared: qemu warns "a program lacking bitmap support
// modified this file, so all bitmaps are now considered inconsistent", info
// lists no bitmaps and measure prints "bitmaps size: 0".
TEST(Qcow2BitmapTest, ExtensionWithoutAutoclearBitIsIgnored) {
  MemoryDevice device;
  MapOpener opener;
  auto opened = Open(device, opener, [](auto& b) { StoreBE64(b.data() + 88, 0); });
  ASSERT_TRUE(opened->ok()) << opened->status.message();
  EXPECT_TRUE(opened->image->bitmaps_extension_ignored());
  EXPECT_EQ(opened->image->bitmap_count(), 0u);
  Qcow2BitmapCursor cursor(*opened->image);
  Qcow2Bitmap bitmap;
  EXPECT_FALSE(*cursor.Next(&bitmap));
}

// The two directory entries swapped: info lists b1 first, then b0.
TEST(Qcow2BitmapTest, DirectoryOrderIsKept) {
  MemoryDevice device;
  MapOpener opener;
  auto opened = Open(device, opener, [](auto& b) {
    std::vector<uint8_t> first(b.begin() + kDirectory, b.begin() + kDirectory + 32);
    std::copy(b.begin() + kSecondEntry, b.begin() + kSecondEntry + 32, b.begin() + kDirectory);
    std::copy(first.begin(), first.end(), b.begin() + kSecondEntry);
  });
  ASSERT_TRUE(opened->ok()) << opened->status.message();
  Qcow2BitmapCursor cursor(*opened->image);
  Qcow2Bitmap bitmap;
  ASSERT_TRUE(*cursor.Next(&bitmap));
  EXPECT_EQ(std::string(bitmap.name.data, bitmap.name.size), "b1");
  ASSERT_TRUE(*cursor.Next(&bitmap));
  EXPECT_EQ(std::string(bitmap.name.data, bitmap.name.size), "b0");
}

}  // namespace
}  // namespace instar
