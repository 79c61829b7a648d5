// Expected numbers come from the qemu-img binaries of the matrix
// (qemu-img-binaries/x86_64/<version>/qemu-img); each test names the command.
// Images built here can be written out with INSTAR_TEST_DUMP_DIR=<dir> to
// run the same commands on them.
#include "instar/engine/vpc.h"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "instar/engine/bytes.h"
#include "testing/corpus.h"
#include "testing/memory_device.h"

namespace instar {
namespace {

using testing::MemoryDevice;

constexpr QemuVersion k520{5, 2, 0};
constexpr QemuVersion k7222{7, 2, 22};
constexpr QemuVersion k10013{10, 0, 13};
constexpr QemuVersion kAllVersions[] = {{5, 2, 0},   {7, 2, 18}, {7, 2, 22}, {10, 0, 2},
                                        {10, 0, 13}, {11, 1, 2}, {11, 1, 3}};

class VpcTest : public ::testing::Test {
 protected:
  Result<VpcImage*> Open(MemoryDevice& device, QemuVersion compat = k10013,
                         VpcSizeCalc calc = VpcSizeCalc::kAuto) {
    arenas_.emplace_back(1 << 20);
    arena_ = std::make_unique<Arena>(arenas_.back().data(), arenas_.back().size());
    OpenOptions options;
    options.compat = compat;
    INSTAR_ASSIGN_OR_RETURN(Image * image, OpenVpcImage(device, *arena_, options, calc));
    EXPECT_EQ(image->format(), ImageFormat::kVpc);
    return static_cast<VpcImage*>(image);
  }
  // Opens through the generic entry point.
  Result<Image*> OpenGeneric(MemoryDevice& device) {
    arenas_.emplace_back(1 << 20);
    arena_ = std::make_unique<Arena>(arenas_.back().data(), arenas_.back().size());
    testing::MapOpener opener;
    return OpenImage(ImageFormat::kVpc, device, opener, *arena_, OpenOptions{k10013});
  }

  std::vector<std::vector<uint8_t>> arenas_;
  std::unique_ptr<Arena> arena_;
};

void SetChecksum(std::vector<uint8_t>& bytes, size_t footer) {
  StoreBE32(&bytes[footer + 64], 0);
  uint32_t sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += bytes[footer + i];
  StoreBE32(&bytes[footer + 64], ~sum);
}

std::vector<uint8_t> Dynamic() { return testing::CorpusBytes("vpc-dynamic.vhd"); }
std::vector<uint8_t> Fixed() { return testing::CorpusBytes("vpc-fixed.vhd"); }

// `qemu-img info --output=json vpc-dynamic.vhd` and
// `qemu-img map --output=json vpc-dynamic.vhd`, every version: virtual size
// 67125248, cluster-size 2097152; [0, 2 MiB) data at offset 2560, the rest
// zero without data.
TEST_F(VpcTest, DynamicCorpusImage) {
  for (const QemuVersion& version : kAllVersions) {
    MemoryDevice device(Dynamic());
    ASSERT_FALSE(device.bytes().empty());
    auto image = Open(device, version);
    ASSERT_TRUE(image.ok()) << image.status().message();
    VpcImage& vpc = **image;
    EXPECT_EQ(vpc.VirtualSize(), 67125248u);
    EXPECT_TRUE(vpc.has_cluster_size());
    EXPECT_EQ(vpc.cluster_size(), 2097152u);
    EXPECT_FALSE(vpc.footer_at_end());
    EXPECT_TRUE(vpc.uses_chs());
    EXPECT_EQ(std::string(vpc.footer().creator_app, 4), "qemu");
    EXPECT_EQ(vpc.footer().disk_type, vpc_disk_type::kDynamic);
    EXPECT_EQ(vpc.footer().cylinders, 964);
    EXPECT_EQ(vpc.footer().heads, 8);
    EXPECT_EQ(vpc.footer().sectors_per_track, 17);
    EXPECT_EQ(vpc.block_size(), 2097152u);
    EXPECT_EQ(vpc.bitmap_size(), 512u);
    EXPECT_EQ(vpc.max_table_entries(), 33u);
    EXPECT_EQ(vpc.bat_offset(), 1536u);
    EXPECT_TRUE(vpc.HasDriverBlockStatus());

    auto first = vpc.DriverBlockStatus(true, 0, vpc.VirtualSize());
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(first->flags, block_status::kData | block_status::kOffsetValid);
    EXPECT_EQ(first->bytes, 2097152u);
    EXPECT_EQ(first->map, 2560u);
    EXPECT_EQ(first->file, &device);
    // Inside the block, the offset moves along.
    auto inside = vpc.DriverBlockStatus(true, 65536, 4096);
    ASSERT_TRUE(inside.ok());
    EXPECT_EQ(inside->bytes, 4096u);
    EXPECT_EQ(inside->map, 2560u + 65536);
    // Every later block is unallocated: one run to the end.
    auto rest = vpc.DriverBlockStatus(true, 2097152, vpc.VirtualSize() - 2097152);
    ASSERT_TRUE(rest.ok());
    EXPECT_EQ(rest->flags, block_status::kZero);
    EXPECT_EQ(rest->bytes, 65028096u);
  }
}

// `qemu-img info -f vpc --output=json vpc-fixed.vhd`: virtual size 2123776
// (the CHS geometry), no cluster-size; `qemu-img map -f vpc` shows data at
// the same offsets.
TEST_F(VpcTest, FixedCorpusImage) {
  for (const QemuVersion& version : kAllVersions) {
    MemoryDevice device(Fixed());
    auto image = Open(device, version);
    ASSERT_TRUE(image.ok()) << image.status().message();
    EXPECT_EQ((*image)->VirtualSize(), 2123776u);
    EXPECT_FALSE((*image)->has_cluster_size());
    EXPECT_TRUE((*image)->footer_at_end());
    EXPECT_EQ((*image)->footer().disk_type, vpc_disk_type::kFixed);
    auto status = (*image)->DriverBlockStatus(false, 4096, 8192);
    ASSERT_TRUE(status.ok());
    EXPECT_EQ(status->flags,
              block_status::kData | block_status::kOffsetValid | block_status::kRecurse);
    EXPECT_EQ(status->bytes, 8192u);
    EXPECT_EQ(status->map, 4096u);
    // Requests past the end are clamped; at the end they are refused.
    auto tail = (*image)->DriverBlockStatus(false, 2123776 - 512, 1 << 20);
    ASSERT_TRUE(tail.ok());
    EXPECT_EQ(tail->bytes, 512u);
    EXPECT_FALSE((*image)->DriverBlockStatus(false, 2123776, 512).ok());
    EXPECT_FALSE((*image)->DriverBlockStatus(false, 0, 0).ok());
  }
}

TEST_F(VpcTest, OpensThroughOpenImage) {
  MemoryDevice device(Dynamic());
  auto image = OpenGeneric(device);
  ASSERT_TRUE(image.ok()) << image.status().message();
  EXPECT_EQ((*image)->VirtualSize(), 67125248u);
}

// A dynamic image whose end footer says dynamic: qemu 5.2 takes any end
// footer as fixed (`qemu-img info` 5.2.0: virtual size 2123776, no
// cluster_size), 7.2 and later refuse it ("invalid VPC image").
TEST_F(VpcTest, EndFooterMustBeFixedSince72) {
  std::vector<uint8_t> bytes = Fixed();
  const size_t footer = bytes.size() - 512;
  StoreBE32(&bytes[footer + 60], vpc_disk_type::kDynamic);
  SetChecksum(bytes, footer);
  testing::DumpForQemu("vpc-end-dynamic.vhd", bytes);
  MemoryDevice device(bytes);
  auto old = Open(device, k520);
  ASSERT_TRUE(old.ok()) << old.status().message();
  EXPECT_EQ((*old)->VirtualSize(), 2123776u);
  EXPECT_FALSE((*old)->has_cluster_size());
  // 5.2 would divide by its zero block size here; we refuse.
  EXPECT_FALSE((*old)->DriverBlockStatus(false, 0, 512).ok());
  for (const QemuVersion& version : {k7222, k10013}) {
    auto image = Open(device, version);
    ASSERT_FALSE(image.ok());
    EXPECT_EQ(image.status().code(), StatusCode::kCorruption);
  }
}

// Sizes by creator application. With CHS 4 * 16 * 63 = 4032 sectors and a
// current_size of 4 MiB (`qemu-img info -f vpc`):
//   "qemu", every version: 2064384 (CHS);
//   "win ", every version: 4194304 (current_size);
//   "wa\0\0" (Azure): 5.2.0 and 7.2.22 2064384, 10.0.13 4194304.
TEST_F(VpcTest, SizeRuleDependsOnCreatorAndVersion) {
  auto make = [](const char* app) {
    std::vector<uint8_t> bytes = Fixed();
    const size_t footer = bytes.size() - 512;
    std::memcpy(&bytes[footer + 28], app, 4);
    StoreBE64(&bytes[footer + 48], 4u << 20);
    StoreBE16(&bytes[footer + 56], 4);
    bytes[footer + 58] = 16;
    bytes[footer + 59] = 63;
    SetChecksum(bytes, footer);
    return bytes;
  };
  struct Case {
    const char* app;
    QemuVersion version;
    uint64_t size;
  };
  const Case cases[] = {
      {"qemu", k520, 2064384},   {"qemu", k7222, 2064384},   {"qemu", k10013, 2064384},
      {"win ", k520, 4194304},   {"win ", k7222, 4194304},   {"win ", k10013, 4194304},
      {"wa\0\0", k520, 2064384}, {"wa\0\0", k7222, 2064384}, {"wa\0\0", k10013, 4194304},
      {"tap\0", k7222, 4194304}, {"vpc ", k10013, 2064384},
  };
  testing::DumpForQemu("vpc-creator-qemu.vhd", make("qemu"));
  testing::DumpForQemu("vpc-creator-win.vhd", make("win "));
  testing::DumpForQemu("vpc-creator-wa.vhd", make("wa\0\0"));
  for (const Case& c : cases) {
    MemoryDevice device(make(c.app));
    auto image = Open(device, c.version);
    ASSERT_TRUE(image.ok()) << image.status().message();
    EXPECT_EQ((*image)->VirtualSize(), c.size) << c.app << " " << c.version.major;
  }
  // force_size_calc (`qemu-img info --image-opts
  // driver=vpc,force_size_calc=...,file.filename=vpc-creator-qemu.vhd`):
  // chs 2064384 for "win ", current_size 4194304 for "qemu".
  MemoryDevice win(make("win "));
  auto forced_chs = Open(win, k10013, VpcSizeCalc::kChs);
  ASSERT_TRUE(forced_chs.ok());
  EXPECT_EQ((*forced_chs)->VirtualSize(), 2064384u);
  MemoryDevice qemu(make("qemu"));
  auto forced_size = Open(qemu, k10013, VpcSizeCalc::kCurrentSize);
  ASSERT_TRUE(forced_size.ok());
  EXPECT_EQ((*forced_size)->VirtualSize(), 4194304u);
}

// The largest CHS geometry means "use current_size" even for "vpc ", and
// more than 2040 GiB is refused (`qemu-img info`: "File too large").
TEST_F(VpcTest, MaximumGeometryAndSizeLimit) {
  auto make = [](uint64_t current_size) {
    std::vector<uint8_t> bytes = Fixed();
    const size_t footer = bytes.size() - 512;
    std::memcpy(&bytes[footer + 28], "vpc ", 4);
    StoreBE64(&bytes[footer + 48], current_size);
    StoreBE16(&bytes[footer + 56], 65535);
    bytes[footer + 58] = 16;
    bytes[footer + 59] = 255;
    SetChecksum(bytes, footer);
    return bytes;
  };
  MemoryDevice large(make(uint64_t{1} << 40));
  auto image = Open(large, k10013);
  ASSERT_TRUE(image.ok()) << image.status().message();
  EXPECT_EQ((*image)->VirtualSize(), uint64_t{1} << 40);
  EXPECT_FALSE((*image)->uses_chs());
  const std::vector<uint8_t> exabyte = make(uint64_t{1} << 60);
  testing::DumpForQemu("vpc-1eib.vhd", exabyte);
  MemoryDevice huge(exabyte);
  auto refused = Open(huge, k10013);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kOutOfRange);
}

// A footer at offset 0 that says "fixed" is still opened through the
// dynamic header, but block status then answers as for a fixed image
// (`qemu-img map -f vpc --output=json vpc-start-fixed.vhd`, 10.0.13:
// data at the same offsets over the whole disk).
TEST_F(VpcTest, StartFooterSayingFixed) {
  std::vector<uint8_t> bytes = Dynamic();
  StoreBE32(&bytes[60], vpc_disk_type::kFixed);
  SetChecksum(bytes, 0);
  testing::DumpForQemu("vpc-start-fixed.vhd", bytes);
  MemoryDevice device(bytes);
  auto image = Open(device, k10013);
  ASSERT_TRUE(image.ok()) << image.status().message();
  EXPECT_FALSE((*image)->has_cluster_size());
  auto status = (*image)->DriverBlockStatus(false, 4 << 20, 512);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->map, 4u << 20);
  EXPECT_NE(status->flags & block_status::kRecurse, 0u);
}

struct Mutation {
  const char* name;
  void (*apply)(std::vector<uint8_t>&);
  StatusCode code;
};

// Each refused by qemu-img info 10.0.13 on the dumped file, with the
// message in the comment.
const Mutation kDynamicMutations[] = {
    // "Incorrect header checksum"
    {"bad-checksum", [](std::vector<uint8_t>& b) { b[100] ^= 1; }, StatusCode::kCorruption},
    // "Invalid header magic"
    {"bad-dynamic-magic", [](std::vector<uint8_t>& b) { b[512] = 'X'; }, StatusCode::kCorruption},
    // "Invalid block size 1000"
    {"block-size-1000", [](std::vector<uint8_t>& b) { StoreBE32(&b[512 + 32], 1000); },
     StatusCode::kCorruption},
    // "Invalid block size 256"
    {"block-size-256", [](std::vector<uint8_t>& b) { StoreBE32(&b[512 + 32], 256); },
     StatusCode::kCorruption},
    // "Invalid block size 0"
    {"block-size-0", [](std::vector<uint8_t>& b) { StoreBE32(&b[512 + 32], 0); },
     StatusCode::kCorruption},
    // "Page table too small"
    {"bat-too-small", [](std::vector<uint8_t>& b) { StoreBE32(&b[512 + 28], 1); },
     StatusCode::kCorruption},
    // "Max Table Entries too large (2147483647)"
    {"bat-huge", [](std::vector<uint8_t>& b) { StoreBE32(&b[512 + 28], 0x7fffffff); },
     StatusCode::kCorruption},
    // "Max Table Entries too large (-2147483648)"
    {"bat-negative", [](std::vector<uint8_t>& b) { StoreBE32(&b[512 + 28], 0x80000000); },
     StatusCode::kCorruption},
    // "Error reading pagetable"
    {"bat-offset-huge", [](std::vector<uint8_t>& b) { StoreBE64(&b[512 + 16], uint64_t{1} << 63); },
     StatusCode::kCorruption},
    // "Error reading dynamic VHD header"
    {"header-offset-huge",
     [](std::vector<uint8_t>& b) {
       StoreBE64(&b[16], UINT64_MAX - 100);
       SetChecksum(b, 0);
     },
     StatusCode::kCorruption},
    // "free_data_block_offset points after the end of file"
    {"block-past-eof", [](std::vector<uint8_t>& b) { StoreBE32(&b[1536 + 4], 0x100000); },
     StatusCode::kCorruption},
    // The same, for a BAT read past the end of the file (zeros: block 0).
    {"bat-past-eof", [](std::vector<uint8_t>& b) { StoreBE64(&b[512 + 16], 64u << 20); },
     StatusCode::kCorruption},
    // "free_data_block_offset points after the end of file"
    {"truncated", [](std::vector<uint8_t>& b) { b.resize(1 << 20); }, StatusCode::kCorruption},
    // "invalid VPC image" (no footer at either end)
    {"truncated-header",
     [](std::vector<uint8_t>& b) {
       b.resize(600);
       b[0] = 0;
     },
     StatusCode::kCorruption},
    // "invalid VPC image": qemu's file length is whole sectors, so a
    // 100-byte file is not "too small for a VHD header" but all zeros.
    {"tiny", [](std::vector<uint8_t>& b) { b.assign(100, 0); }, StatusCode::kCorruption},
    // "File too large"
    {"exabyte",
     [](std::vector<uint8_t>& b) {
       std::memcpy(&b[28], "win ", 4);
       StoreBE64(&b[48], uint64_t{1} << 60);
       SetChecksum(b, 0);
     },
     StatusCode::kOutOfRange},
};

TEST_F(VpcTest, RefusesDamagedImages) {
  for (const Mutation& m : kDynamicMutations) {
    std::vector<uint8_t> bytes = Dynamic();
    m.apply(bytes);
    testing::DumpForQemu(std::string("vpc-") + m.name + ".vhd", bytes);
    MemoryDevice device(bytes);
    auto image = Open(device, k10013);
    ASSERT_FALSE(image.ok()) << m.name;
    EXPECT_EQ(image.status().code(), m.code) << m.name << ": " << image.status().message();
  }
}

// A BAT with entries beyond the virtual size is fine, and entries after
// the table end are never looked at.
TEST_F(VpcTest, LargerTableThanNeeded) {
  std::vector<uint8_t> bytes = Dynamic();
  StoreBE32(&bytes[512 + 28], 40);
  MemoryDevice device(bytes);
  auto image = Open(device, k10013);
  ASSERT_TRUE(image.ok()) << image.status().message();
  auto last = (*image)->DriverBlockStatus(false, (*image)->VirtualSize() - 512, 512);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->flags, block_status::kZero);
}

}  // namespace
}  // namespace instar
