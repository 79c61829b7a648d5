// The vpc writer against real qemu-img: each case is created by every
// qemu-img of testing/qemu_img.h and by the create hook with that version
// as compat, and the two files must be equal byte for byte but for what
// qemu takes from its clock and random generator (each footer's timestamp,
// UUID and the checksum over them), which are checked on their own. The
// image must then open with the engine's reader at the size qemu-img info
// gives qemu's own image, and for the create-info-json cases qemu-img info
// of the image must print that version's baseline.
#include "vpc/vpc_create.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "instar/engine/bytes.h"
#include "instar/engine/vpc.h"
#include "testing/create_fuzz.h"
#include "testing/create_hook.h"
#include "testing/memory_device.h"
#include "testing/qemu_img.h"

namespace instar {
namespace {

using testing::CreateOutcome;
using testing::MaskedRange;
using testing::QemuImgBinaries;
using testing::QemuImgBinary;

constexpr uint64_t kNow = 1796000000;  // 2026-11-29
constexpr uint64_t kUnixTimeOf2000 = 946684800;

std::vector<uint8_t> TestRandom() {
  std::vector<uint8_t> random(64);
  for (size_t i = 0; i < random.size(); ++i) random[i] = static_cast<uint8_t>(0xa5 ^ (i * 37));
  return random;
}

struct VpcCase {
  const char* name;  // the create-info-json case, or "" for an edge case
  const char* size;  // as given to qemu-img create
  const char* options;
};

const VpcCase kCases[] = {
    // cases/create.json, target vhd.
    {"1M-default", "1M", ""},
    {"64M-default", "64M", ""},
    {"1G-default", "1G", ""},
    {"1M-fixed", "1M", "subformat=fixed"},
    {"16M-fixed", "16M", "subformat=fixed"},
    // Edge sizes: empty, below a sector, not a multiple of a sector or of
    // a block, the geometries of 16 and 255 sectors per track, the largest
    // dynamic disk, force_size.
    {"", "0", ""},
    {"", "1", ""},
    {"", "1000", ""},
    {"", "3000001", "subformat=dynamic"},
    {"", "100G", ""},
    {"", "2040G", ""},
    {"", "1000", "force_size=on"},
    {"", "1G", "force_size=on"},
    {"", "2040G", "force_size=on,subformat=dynamic"},
    {"", "1", "subformat=fixed"},
    {"", "3000001", "subformat=fixed,force_size=on"},
};

// The footers' clock- and random-derived bytes: timestamp, checksum, UUID.
std::vector<MaskedRange> FooterMasks(const std::vector<uint8_t>& bytes) {
  std::vector<MaskedRange> masks;
  for (uint64_t footer : {uint64_t{0}, uint64_t{bytes.size() - 512}}) {
    if (bytes.size() < 512) break;
    masks.push_back({footer + 24, 4});
    masks.push_back({footer + 64, 20});
  }
  return masks;
}

// The fields masked above, as the writer must fill them.
void ExpectFooterFields(const uint8_t* footer, const std::vector<uint8_t>& random) {
  EXPECT_EQ(LoadBE32(footer + 24), static_cast<uint32_t>(kNow - kUnixTimeOf2000));
  uint32_t sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += (i >= 64 && i < 68) ? 0 : footer[i];
  EXPECT_EQ(LoadBE32(footer + 64), ~sum);
  for (size_t i = 0; i < 16; ++i) {
    uint8_t expected = random[i];
    if (i == 6) expected = static_cast<uint8_t>((expected & 0x0f) | 0x40);
    if (i == 8) expected = static_cast<uint8_t>((expected & 0x3f) | 0x80);
    EXPECT_EQ(footer[68 + i], expected) << "UUID byte " << i;
  }
}

TEST(VpcCreateTest, EveryCaseMatchesQemuImgByteForByte) {
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty()) << "no qemu-img on PATH";
  const std::vector<uint8_t> random = TestRandom();
  testing::ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  for (const QemuImgBinary& qemu : binaries) {
    for (const VpcCase& c : kCases) {
      SCOPED_TRACE(qemu.version_text + " " + c.size + " -o '" + c.options + "'");
      const std::string theirs = dir.File("qemu.vhd");
      const std::string ours = dir.File("instar.vhd");
      std::string output;
      ASSERT_EQ(testing::QemuImgCreate(qemu, "vpc", c.options, theirs, c.size, &output), 0)
          << output;
      const std::vector<uint8_t> expected = testing::ReadWholeFile(theirs);

      const uint64_t size = testing::ParseSizeArgument(c.size, qemu.version);
      CreateOutcome made = testing::RunCreateHook(ImageFormat::kVpc, c.options, size, qemu.version,
                                                  ours, kNow, random);
      ASSERT_TRUE(made.status.ok()) << made.status.message() << " " << made.error_text;
      const std::vector<uint8_t>& bytes = made.device.bytes();
      const std::string difference =
          testing::FirstDifference(bytes, expected, FooterMasks(expected));
      EXPECT_EQ(difference, "");
      ASSERT_GE(bytes.size(), 512u);
      const bool fixed = std::string(c.options).find("fixed") != std::string::npos;
      if (!fixed) ExpectFooterFields(bytes.data(), random);
      ExpectFooterFields(bytes.data() + bytes.size() - 512, random);

      // The engine's reader sees the size qemu-img info gives qemu's image.
      const int64_t qemu_size = testing::QemuImgVirtualSize(qemu, "vpc", theirs);
      ASSERT_GE(qemu_size, 0);
      std::vector<uint8_t> arena_buffer(1 << 20);
      Arena arena(arena_buffer.data(), arena_buffer.size());
      OpenOptions open_options;
      open_options.compat = qemu.version;
      auto image = OpenVpcImage(made.device, arena, open_options, VpcSizeCalc::kAuto);
      ASSERT_TRUE(image.ok()) << image.status().message();
      EXPECT_EQ((*image)->VirtualSize(), static_cast<uint64_t>(qemu_size));

      // qemu-img info of our image prints the version's baseline.
      ASSERT_TRUE(testing::WriteSparseFile(ours, bytes));
      EXPECT_EQ(testing::QemuImgVirtualSize(qemu, "vpc", ours), qemu_size);
      // qemu-img info prints the same for our image as for its own.
      const std::string info = testing::QemuImgInfoJson(qemu, ours);
      EXPECT_FALSE(info.empty());
      EXPECT_EQ(info, testing::QemuImgInfoJson(qemu, theirs));
      if (const std::string want = testing::CreateBaselineInfo("vhd", qemu.version_text, c.name);
          !want.empty()) {
        EXPECT_EQ(info, want);
      }
    }
  }
}

// Past 2040 GiB qemu-img refuses, with or without force_size; the hook
// refuses with the same words and writes nothing.
TEST(VpcCreateTest, RefusesWhatQemuImgRefuses) {
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty());
  testing::ScratchDir dir;
  const struct {
    const char* size;
    const char* options;
  } kRefused[] = {
      {"2041G", ""},
      {"2190433321472", "force_size=on"},  // 2040 GiB + 512
      {"3T", ""},
      {"1M", "subformat=sparse"},
  };
  for (const QemuImgBinary& qemu : binaries) {
    for (const auto& c : kRefused) {
      SCOPED_TRACE(qemu.version_text + " " + c.size + " " + c.options);
      std::string output;
      EXPECT_NE(testing::QemuImgCreate(qemu, "vpc", c.options, dir.File("t.vhd"), c.size, &output),
                0);
      const uint64_t size = testing::ParseSizeArgument(c.size, qemu.version);
      CreateOutcome made = testing::RunCreateHook(ImageFormat::kVpc, c.options, size, qemu.version,
                                                  "t.vhd", kNow, TestRandom());
      EXPECT_FALSE(made.status.ok());
      EXPECT_TRUE(made.device.bytes().empty());
      EXPECT_EQ(made.error_text, testing::WithoutPath(output, dir.File("t.vhd")));
    }
  }
}

// The timestamp wraps as qemu's uint32_t does, and the UUID takes only the
// first 16 random bytes.
TEST(VpcCreateTest, ClockAndRandomBytes) {
  std::vector<uint8_t> random(64, 0xff);
  CreateOutcome made = testing::RunCreateHook(ImageFormat::kVpc, "", 1 << 20, QemuVersion{7, 2, 22},
                                              "t.vhd", 0, random);
  ASSERT_TRUE(made.status.ok());
  const uint8_t* footer = made.device.bytes().data();
  EXPECT_EQ(LoadBE32(footer + 24), static_cast<uint32_t>(0 - kUnixTimeOf2000));
  EXPECT_EQ(footer[68 + 6], 0x4f);
  EXPECT_EQ(footer[68 + 8], 0xbf);
  EXPECT_EQ(footer[68 + 15], 0xff);
}

// The fuzzer's body (vpc_create_fuzz.cc) over a fixed sample: every image
// made reopens at no less than the size asked.
TEST(VpcCreateTest, FuzzBodyHoldsOnASample) {
  const std::vector<const char*> words = {"subformat=fixed", "subformat=dynamic", "force_size=on",
                                          "force_size=off",  "size=1M",           "subformat=x"};
  size_t created = 0;
  for (const std::vector<uint8_t>& input : testing::SampleCreateFuzzInputs(words, 400, 12)) {
    bool made = false;
    const char* failure = testing::RunCreateFuzzInput(ImageFormat::kVpc, "fuzz.vhd", 8,
                                                      input.data(), input.size(), nullptr, &made);
    EXPECT_EQ(failure, nullptr) << failure;
    created += made ? 1 : 0;
  }
  // The sample reaches the writer, not only the option parser's refusals.
  EXPECT_GT(created, 400 / 10);
}

}  // namespace
}  // namespace instar
