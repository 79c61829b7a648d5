// Expected numbers come from the qemu-img binaries of the matrix
// (qemu-img-binaries/x86_64/<version>/qemu-img); each test names the
// command. Images built here can be written out with
// INSTAR_TEST_DUMP_DIR=<dir> to run the same commands on them.
#include "instar/engine/vhdx.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "instar/engine/bytes.h"
#include "testing/corpus.h"
#include "testing/memory_device.h"
#include "vhdx/crc32c.h"

namespace instar {
namespace {

using testing::MemoryDevice;

constexpr QemuVersion k10013{10, 0, 13};
constexpr uint64_t kHeader1 = 64 * 1024;
constexpr uint64_t kHeader2 = 128 * 1024;
constexpr uint64_t kRegions = 192 * 1024;
constexpr uint64_t kMetadata = 3 << 20;  // metadata region of the corpus images
constexpr uint64_t kBat = 2 << 20;       // BAT region of the corpus images
// Metadata items of the corpus images, relative to kMetadata.
constexpr uint64_t kFileParameters = 65536;
constexpr uint64_t kDiskSize = 65544;
constexpr uint64_t kLogicalSector = 65568;

class VhdxTest : public ::testing::Test {
 protected:
  Result<VhdxImage*> Open(MemoryDevice& device, QemuVersion compat = k10013) {
    if (arena_buffer_.empty()) arena_buffer_.resize(1 << 20);
    arena_ = std::make_unique<Arena>(arena_buffer_.data(), arena_buffer_.size());
    INSTAR_ASSIGN_OR_RETURN(Image * image, OpenImage(ImageFormat::kVhdx, device, opener_, *arena_,
                                                     OpenOptions{compat}));
    EXPECT_EQ(image->format(), ImageFormat::kVhdx);
    return static_cast<VhdxImage*>(image);
  }

  std::vector<uint8_t> arena_buffer_;
  std::unique_ptr<Arena> arena_;
  testing::MapOpener opener_;
};

void FixChecksum(std::vector<uint8_t>& b, uint64_t offset, size_t length) {
  StoreLE32(&b[offset + 4], 0);
  StoreLE32(&b[offset + 4], vhdx::Crc32c(&b[offset], length));
}
void FixHeaders(std::vector<uint8_t>& b) {
  FixChecksum(b, kHeader1, 4096);
  FixChecksum(b, kHeader2, 4096);
}
void FixRegions(std::vector<uint8_t>& b) { FixChecksum(b, kRegions, 65536); }

// `qemu-img info --output=json` (every version): virtual size and
// cluster-size; `qemu-img map --output=json` reports the whole disk as data
// (vhdx has no block status of its own).
TEST_F(VhdxTest, CorpusImages) {
  struct Case {
    const char* name;
    uint64_t size;
    uint64_t cluster;
    bool fixed;
    std::vector<uint64_t> written;  // offsets the corpus recipe wrote
  };
  const Case cases[] = {
      {"vhdx-dynamic.vhdx", 67108864, 8388608, false, {0, 9u << 20}},
      {"vhdx-fixed.vhdx", 4194304, 8388608, true, {0}},
      {"vhdx-block1m.vhdx", 16777216, 1048576, false, {2u << 20}},
  };
  for (const Case& c : cases) {
    MemoryDevice device(testing::CorpusBytes(c.name));
    ASSERT_FALSE(device.bytes().empty()) << c.name;
    auto image = Open(device);
    ASSERT_TRUE(image.ok()) << c.name << ": " << image.status().message();
    VhdxImage& vhdx = **image;
    EXPECT_EQ(vhdx.VirtualSize(), c.size) << c.name;
    EXPECT_EQ(vhdx.cluster_size(), c.cluster) << c.name;
    EXPECT_EQ(vhdx.block_size(), c.cluster) << c.name;
    EXPECT_EQ(vhdx.leave_blocks_allocated(), c.fixed) << c.name;
    EXPECT_FALSE(vhdx.has_parent());
    EXPECT_EQ(vhdx.logical_sector_size(), 512u);
    EXPECT_EQ(vhdx.version(), 1u);
    EXPECT_EQ(vhdx.bat_offset(), kBat);
    EXPECT_EQ(vhdx.metadata_offset(), kMetadata);
    EXPECT_FALSE(vhdx.HasDriverBlockStatus());
    auto status = vhdx.DriverBlockStatus(true, 0, 512);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.status().code(), StatusCode::kNotSupported);
    // Written blocks are present in the file; a fixed image has all.
    for (uint64_t offset = 0; offset < vhdx.VirtualSize(); offset += vhdx.block_size()) {
      auto block = vhdx.PayloadBlock(offset);
      ASSERT_TRUE(block.ok());
      bool written = c.fixed;
      for (uint64_t w : c.written) written |= w / vhdx.block_size() == offset / vhdx.block_size();
      if (written) {
        EXPECT_EQ(block->state, vhdx_block_state::kFullyPresent) << c.name << " " << offset;
        EXPECT_LT(block->file_offset, device.Size());
        EXPECT_EQ(block->file_offset % (1 << 20), 0u);
      } else {
        EXPECT_NE(block->state, vhdx_block_state::kFullyPresent) << c.name << " " << offset;
      }
    }
    EXPECT_FALSE(vhdx.PayloadBlock(vhdx.VirtualSize()).ok());
  }
}

// The smallest corpus image is the base of the damaged copies: 16 MiB
// virtual, 1 MiB blocks, block 2 present at 8 MiB in the file.
std::vector<uint8_t> Base() { return testing::CorpusBytes("vhdx-block1m.vhdx"); }

struct Mutation {
  const char* name;
  void (*apply)(std::vector<uint8_t>&);
  StatusCode code;
};

// Each dumped and refused by `qemu-img info -f vhdx` (10.0.13): with
// "Invalid argument" where we say Corruption and "Operation not supported"
// where we say NotSupported, unless the comment quotes another message.
const Mutation kMutations[] = {
    {"bad-signature", [](std::vector<uint8_t>& b) { b[0] = 'V'; }, StatusCode::kCorruption},
    // "No valid VHDX header found"
    {"headers-bad-crc",
     [](std::vector<uint8_t>& b) {
       b[kHeader1 + 100] ^= 1;
       b[kHeader2 + 100] ^= 1;
     },
     StatusCode::kCorruption},
    {"headers-version-2",
     [](std::vector<uint8_t>& b) {
       StoreLE16(&b[kHeader1 + 66], 2);
       StoreLE16(&b[kHeader2 + 66], 2);
       FixHeaders(b);
     },
     StatusCode::kCorruption},
    // "No valid VHDX header found" (same sequence number, different headers)
    {"headers-same-sequence",
     [](std::vector<uint8_t>& b) {
       StoreLE64(&b[kHeader1 + 8], LoadLE64(&b[kHeader2 + 8]));
       FixHeaders(b);
     },
     StatusCode::kCorruption},
    // The log is not at a multiple of 1 MiB.
    {"log-offset",
     [](std::vector<uint8_t>& b) {
       StoreLE64(&b[kHeader2 + 72], 1536 * 1024);
       FixHeaders(b);
     },
     StatusCode::kCorruption},
    {"log-version",
     [](std::vector<uint8_t>& b) {
       StoreLE16(&b[kHeader2 + 64], 1);
       FixHeaders(b);
     },
     StatusCode::kCorruption},
    {"regions-bad-crc", [](std::vector<uint8_t>& b) { b[kRegions + 1000] ^= 1; },
     StatusCode::kCorruption},
    {"regions-too-many",
     [](std::vector<uint8_t>& b) {
       StoreLE32(&b[kRegions + 8], 2048);
       FixRegions(b);
     },
     StatusCode::kCorruption},
    // The BAT region moved onto the metadata region: "VHDX region
    // 3145728-4194304 overlaps with region 3145728-4194304".
    {"regions-overlap",
     [](std::vector<uint8_t>& b) {
       StoreLE64(&b[kRegions + 16 + 16], kMetadata);
       FixRegions(b);
     },
     StatusCode::kCorruption},
    // ... onto the log: "VHDX region 1048576-2097152 overlaps ...".
    {"regions-overlap-log",
     [](std::vector<uint8_t>& b) {
       StoreLE64(&b[kRegions + 16 + 16], 1 << 20);
       FixRegions(b);
     },
     StatusCode::kCorruption},
    // A region qemu does not know, marked required.
    {"regions-unknown-required",
     [](std::vector<uint8_t>& b) {
       b[kRegions + 16] ^= 0xff;  // the BAT's GUID
       StoreLE32(&b[kRegions + 16 + 28], 1);
       FixRegions(b);
     },
     StatusCode::kNotSupported},
    // An unknown region that is not required is skipped, but then the BAT
    // is missing.
    {"regions-no-bat",
     [](std::vector<uint8_t>& b) {
       b[kRegions + 16] ^= 0xff;
       FixRegions(b);
     },
     StatusCode::kCorruption},
    {"metadata-signature", [](std::vector<uint8_t>& b) { b[kMetadata] = 'M'; },
     StatusCode::kCorruption},
    // A required metadata item missing.
    {"metadata-missing-size", [](std::vector<uint8_t>& b) { b[kMetadata + 32 + 32] ^= 0xff; },
     StatusCode::kNotSupported},
    {"metadata-duplicate",
     [](std::vector<uint8_t>& b) { std::memcpy(&b[kMetadata + 32 + 32], &b[kMetadata + 32], 16); },
     StatusCode::kCorruption},
    {"metadata-too-many", [](std::vector<uint8_t>& b) { StoreLE16(&b[kMetadata + 10], 2048); },
     StatusCode::kCorruption},
    {"logical-sector-4096",
     [](std::vector<uint8_t>& b) { StoreLE32(&b[kMetadata + kLogicalSector], 4096); },
     StatusCode::kNotSupported},
    {"block-size-3m",
     [](std::vector<uint8_t>& b) { StoreLE32(&b[kMetadata + kFileParameters], 3 << 20); },
     StatusCode::kCorruption},
    {"block-size-512k",
     [](std::vector<uint8_t>& b) { StoreLE32(&b[kMetadata + kFileParameters], 512 << 10); },
     StatusCode::kCorruption},
    {"block-size-512m",
     [](std::vector<uint8_t>& b) { StoreLE32(&b[kMetadata + kFileParameters], 512 << 20); },
     StatusCode::kCorruption},
    {"has-parent",
     [](std::vector<uint8_t>& b) { StoreLE32(&b[kMetadata + kFileParameters + 4], 2); },
     StatusCode::kCorruption},
    // The BAT region holds 131072 entries; a 2 PiB disk needs more.
    {"bat-too-small",
     [](std::vector<uint8_t>& b) { StoreLE64(&b[kMetadata + kDiskSize], uint64_t{1} << 51); },
     StatusCode::kCorruption},
    // 1 EiB: more blocks than qemu's 32-bit count holds.
    {"exabyte",
     [](std::vector<uint8_t>& b) { StoreLE64(&b[kMetadata + kDiskSize], uint64_t{1} << 60); },
     StatusCode::kCorruption},
    // "VHDX BAT entry 1 start offset 1099511627776 points after end of file
    // (9437184). Image has probably been truncated."
    {"bat-past-eof",
     [](std::vector<uint8_t>& b) { StoreLE64(&b[kBat + 8], (uint64_t{1} << 40) | 6); },
     StatusCode::kCorruption},
    // A block over the BAT region: "VHDX region 2097152-3145728 overlaps
    // with region 2097152-3145728".
    {"block-over-bat", [](std::vector<uint8_t>& b) { StoreLE64(&b[kBat + 8], kBat | 6); },
     StatusCode::kCorruption},
    // "VHDX BAT entry 1 offset overflow."
    {"bat-offset-overflow",
     [](std::vector<uint8_t>& b) { StoreLE64(&b[kBat + 8], 0xfffffffffff00006); },
     StatusCode::kCorruption},
    // The metadata region is read past the end of the file: zeros.
    {"truncated", [](std::vector<uint8_t>& b) { b.resize(3 << 20); }, StatusCode::kCorruption},
    // "VHDX BAT entry 2 end offset 9437183 points after end of file
    // (8392704). Image has probably been truncated."
    {"truncated-block", [](std::vector<uint8_t>& b) { b.resize((8 << 20) + 4096); },
     StatusCode::kCorruption},
};

TEST_F(VhdxTest, RefusesDamagedImages) {
  for (const Mutation& m : kMutations) {
    std::vector<uint8_t> bytes = Base();
    m.apply(bytes);
    testing::DumpForQemu(std::string(m.name) + ".vhdx", bytes);
    MemoryDevice device(std::move(bytes));
    auto image = Open(device);
    ASSERT_FALSE(image.ok()) << m.name;
    EXPECT_EQ(image.status().code(), m.code) << m.name << ": " << image.status().message();
  }
}

// Changes qemu accepts (`qemu-img info` 10.0.13 opens each, virtual size
// 16777216).
TEST_F(VhdxTest, AcceptedVariations) {
  const Mutation accepted[] = {
      // The current header is damaged: the other one is used.
      {"header2-bad-crc", [](std::vector<uint8_t>& b) { b[kHeader2 + 100] ^= 1; }, StatusCode::kOk},
      // Two identical headers (Disk2VHD).
      {"headers-identical",
       [](std::vector<uint8_t>& b) { std::memcpy(&b[kHeader1], &b[kHeader2], 4096); },
       StatusCode::kOk},
      // An unknown region that is not required, next to the two known.
      {"regions-extra",
       [](std::vector<uint8_t>& b) {
         StoreLE32(&b[kRegions + 8], 3);
         std::memset(&b[kRegions + 16 + 64], 0x11, 16);
         StoreLE64(&b[kRegions + 16 + 64 + 16], 5 << 20);
         StoreLE32(&b[kRegions + 16 + 64 + 24], 1 << 20);
         StoreLE32(&b[kRegions + 16 + 64 + 28], 0);
         FixRegions(b);
       },
       StatusCode::kOk},
      // A disk size that is not a multiple of 512 is cut down to sectors.
      {"odd-size",
       [](std::vector<uint8_t>& b) { StoreLE64(&b[kMetadata + kDiskSize], (16u << 20) + 100); },
       StatusCode::kOk},
  };
  for (const Mutation& m : accepted) {
    std::vector<uint8_t> bytes = Base();
    m.apply(bytes);
    testing::DumpForQemu(std::string(m.name) + ".vhdx", bytes);
    MemoryDevice device(std::move(bytes));
    auto image = Open(device);
    ASSERT_TRUE(image.ok()) << m.name << ": " << image.status().message();
    EXPECT_EQ((*image)->VirtualSize(), 16777216u) << m.name;
  }
}

// A log with an entry qemu would replay. `qemu-img info log-replay.vhdx`:
// "VHDX image file 'log-replay.vhdx' opened read-only, but contains a log
// that needs to be replayed".
std::vector<uint8_t> WithLog(uint32_t descriptor_signature, bool good_crc) {
  std::vector<uint8_t> b = Base();
  const uint8_t guid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  std::memcpy(&b[kHeader2 + 48], guid, 16);
  FixHeaders(b);
  const uint64_t log = LoadLE64(&b[kHeader2 + 72]);
  uint8_t* e = &b[log];
  std::memset(e, 0, 4096);
  StoreLE32(e + 0, 0x65676f6c);  // "loge"
  StoreLE32(e + 8, 4096);        // entry length
  StoreLE64(e + 16, 1);          // sequence number
  StoreLE32(e + 24, 1);          // one descriptor
  std::memcpy(e + 32, guid, 16);
  StoreLE32(e + 64, descriptor_signature);
  StoreLE64(e + 64 + 8, 4096);       // zero length
  StoreLE64(e + 64 + 16, 64 << 20);  // file offset
  StoreLE64(e + 64 + 24, 1);         // sequence number
  StoreLE32(e + 4, vhdx::Crc32c(e, 4096) + (good_crc ? 0 : 1));
  return b;
}

TEST_F(VhdxTest, LogThatNeedsReplay) {
  const std::vector<uint8_t> replay = WithLog(0x6f72657a, true);
  testing::DumpForQemu("log-replay.vhdx", replay);
  MemoryDevice device(replay);
  auto image = Open(device);
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), StatusCode::kNotSupported);

  // A bad checksum: nothing to replay (`qemu-img info` opens it).
  const std::vector<uint8_t> stale = WithLog(0x6f72657a, false);
  testing::DumpForQemu("log-stale.vhdx", stale);
  MemoryDevice stale_device(stale);
  auto opened = Open(stale_device);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ((*opened)->VirtualSize(), 16777216u);

  // A valid entry header with a broken descriptor fails the open
  // (`qemu-img info log-bad-descriptor.vhdx`: "Invalid argument").
  const std::vector<uint8_t> broken = WithLog(0x12345678, true);
  testing::DumpForQemu("log-bad-descriptor.vhdx", broken);
  MemoryDevice broken_device(broken);
  auto refused = Open(broken_device);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kCorruption);

  // A log GUID with an empty log opens.
  std::vector<uint8_t> empty = Base();
  std::memset(&empty[kHeader2 + 48], 0x5a, 16);
  FixHeaders(empty);
  testing::DumpForQemu("log-empty.vhdx", empty);
  MemoryDevice empty_device(empty);
  EXPECT_TRUE(Open(empty_device).ok());
}

// A log far larger than the file: the walk stops at the end of the file
// instead of reading 4 GiB of zeros.
TEST_F(VhdxTest, HugeLogIsCheap) {
  std::vector<uint8_t> b = Base();
  std::memset(&b[kHeader2 + 48], 0x5a, 16);
  StoreLE32(&b[kHeader2 + 68], 0xfff00000);
  StoreLE64(&b[kHeader2 + 72], 1 << 30);
  FixHeaders(b);
  MemoryDevice device(b);
  auto image = Open(device);
  ASSERT_TRUE(image.ok()) << image.status().message();
  EXPECT_LT(device.reads(), 100);
}

// Regression: a log whose offset plus length passes 2^64 was refused ("vhdx
// log ends beyond 2^64", a check of instar's own), but qemu registers the
// log region with the wrapped end, which then overlaps nothing:
// `qemu-img info mal-vhdx-log-wraps.vhdx` (every version) prints the image.
TEST_F(VhdxTest, LogRegionEndingPast2e64Opens) {
  std::vector<uint8_t> b = Base();
  StoreLE64(&b[kHeader2 + 72], 0xfffffffffff00000);  // log offset; length 1 MiB
  FixHeaders(b);
  for (const QemuVersion& version : {QemuVersion{5, 2, 0}, QemuVersion{7, 2, 22}, k10013}) {
    MemoryDevice device(b);
    auto image = Open(device, version);
    ASSERT_TRUE(image.ok()) << image.status().message();
    EXPECT_EQ((*image)->VirtualSize(), 16777216u);
  }
}

// Regression: a log (with a log GUID) at 2^63 - 1 MiB was refused for every
// version, but 5.2 refuses only reads at negative offsets, and the walk's
// header reads there end below 2^63: `qemu-img info
// mal-vhdx-log-past-max-length.vhdx` opens it in 5.2.0 and fails with
// "Input/output error" from 7.2 (reads past BDRV_MAX_LENGTH).
TEST_F(VhdxTest, LogNearInt64MaxOpensIn52Only) {
  std::vector<uint8_t> b = Base();
  std::memset(&b[kHeader2 + 48], 0x5a, 16);
  StoreLE64(&b[kHeader2 + 72], (uint64_t{1} << 63) - (1 << 20));
  FixHeaders(b);
  MemoryDevice device(b);
  auto old = Open(device, QemuVersion{5, 2, 0});
  ASSERT_TRUE(old.ok()) << old.status().message();
  auto newer = Open(device, QemuVersion{7, 2, 22});
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), StatusCode::kCorruption);
  // One MiB higher, 5.2's last header read would start at 2^63.
  StoreLE64(&b[kHeader2 + 72], uint64_t{1} << 63);
  FixHeaders(b);
  MemoryDevice past(b);
  EXPECT_FALSE(Open(past, QemuVersion{5, 2, 0}).ok());
}

TEST_F(VhdxTest, TruncatedCopies) {
  const std::vector<uint8_t>& full = Base();
  for (size_t size = 0; size < full.size(); size += 256 * 1024 + 512) {
    MemoryDevice device(std::vector<uint8_t>(full.begin(), full.begin() + size));
    auto image = Open(device);
    if (image.ok()) {
      EXPECT_EQ((*image)->VirtualSize(), 16777216u);
    }
  }
}

}  // namespace
}  // namespace instar
