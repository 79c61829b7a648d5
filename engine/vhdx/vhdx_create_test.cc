// The vhdx writer against real qemu-img: each case is created by every
// qemu-img of testing/qemu_img.h and by the create hook with that version
// as compat, and the two files must be equal byte for byte but for what
// qemu draws from its random generator (the headers' sequence numbers and
// write GUIDs, the page 83 GUID) and the headers' CRCs over them, which
// are checked on their own. The image must open with the engine's reader
// at the size qemu-img info gives qemu's own image, pass the engine's
// check and qemu-img check, and for the create-info-json cases qemu-img
// info of it must print that version's baseline.
#include "vhdx/vhdx_create.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "instar/engine/bytes.h"
#include "testing/create_fuzz.h"
#include "testing/create_hook.h"
#include "testing/memory_device.h"
#include "testing/qemu_img.h"
#include "testing/sparse_device.h"
#include "vhdx/crc32c.h"

namespace instar {
namespace {

using testing::CreateOutcome;
using testing::MaskedRange;
using testing::QemuImgBinaries;
using testing::QemuImgBinary;

constexpr uint64_t kNow = 1796000000;
constexpr uint64_t kHeader1 = 64 << 10;
constexpr uint64_t kHeader2 = 128 << 10;

std::vector<uint8_t> TestRandom() {
  std::vector<uint8_t> random(64);
  for (size_t i = 0; i < random.size(); ++i) random[i] = static_cast<uint8_t>(0x3c ^ (i * 53));
  return random;
}

struct VhdxCase {
  const char* name;  // the create-info-json case, or "" for an edge case
  const char* size;
  const char* options;
};

const VhdxCase kCases[] = {
    // cases/create.json, target vhdx.
    {"1M-default", "1M", ""},
    {"64M-default", "64M", ""},
    {"1G-default", "1G", ""},
    {"1G-block-16M", "1G", "block_size=16M"},
    {"1G-block-32M", "1G", "block_size=32M"},
    // Edge sizes and options: empty (its BAT wraps to 8 million entries),
    // below a sector, not a multiple of a sector or a block, each
    // automatic block size, sector bitmap entries between payload entries,
    // the 64 TB limit, fixed images with and without zero blocks, log and
    // block sizes that qemu rounds or clamps.
    {"", "0", ""},
    {"", "1", ""},
    {"", "1000", ""},
    {"", "3000001", ""},
    {"", "2G", ""},
    {"", "101G", ""},
    {"", "33T", ""},
    {"", "64T", ""},
    {"", "1T", "block_size=1M"},
    {"", "5G", "block_size=1M,block_state_zero=off"},
    {"", "20M", "subformat=fixed"},
    {"", "20M", "subformat=fixed,block_state_zero=off"},
    {"", "3000001", "subformat=fixed,block_state_zero=off,block_size=2M"},
    {"", "1G", "subformat=dynamic,block_state_zero=off"},
    {"", "100M", "log_size=3000000"},
    {"", "100M", "log_size=8M,block_size=1"},
    {"", "100M", "block_size=300M"},
    {"", "100M", "block_size=0"},
};

// The clock- and random-derived bytes of qemu's image.
std::vector<MaskedRange> RandomMasks(const std::vector<uint8_t>& bytes) {
  std::vector<MaskedRange> masks = {{kHeader1 + 4, 44}, {kHeader2 + 4, 44}};
  if (bytes.size() >= (192 << 10) + 80) {
    const uint64_t metadata = LoadLE64(bytes.data() + (192 << 10) + 48 + 16);
    masks.push_back({metadata + (64 << 10) + 16, 16});
  }
  return masks;
}

void ExpectGuid(const uint8_t* guid, const uint8_t* random) {
  for (size_t i = 0; i < 16; ++i) {
    uint8_t expected = random[i];
    if (i == 6) expected = static_cast<uint8_t>((expected & 0x0f) | 0x40);
    if (i == 8) expected = static_cast<uint8_t>((expected & 0x3f) | 0x80);
    EXPECT_EQ(guid[i], expected) << "GUID byte " << i;
  }
}

// The masked fields, as the writer must fill them.
void ExpectRandomFields(const std::vector<uint8_t>& bytes, const std::vector<uint8_t>& random) {
  ASSERT_GE(bytes.size(), kHeader2 + 4096);
  const uint64_t sequence = LoadLE32(random.data());
  for (uint64_t header : {kHeader1, kHeader2}) {
    std::vector<uint8_t> copy(bytes.begin() + header, bytes.begin() + header + 4096);
    StoreLE32(copy.data() + 4, 0);
    EXPECT_EQ(LoadLE32(bytes.data() + header + 4), vhdx::Crc32c(copy.data(), copy.size()));
    EXPECT_EQ(LoadLE64(bytes.data() + header + 8), sequence + (header == kHeader2 ? 1 : 0));
    ExpectGuid(bytes.data() + header + 16, random.data() + 4);
    ExpectGuid(bytes.data() + header + 32, random.data() + 20);
  }
  const uint64_t metadata = LoadLE64(bytes.data() + (192 << 10) + 48 + 16);
  ASSERT_GE(bytes.size(), metadata + (64 << 10) + 40);
  ExpectGuid(bytes.data() + metadata + (64 << 10) + 16, random.data() + 36);
}

TEST(VhdxCreateTest, EveryCaseMatchesQemuImgByteForByte) {
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty()) << "no qemu-img on PATH";
  const std::vector<uint8_t> random = TestRandom();
  testing::ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  for (const QemuImgBinary& qemu : binaries) {
    for (const VhdxCase& c : kCases) {
      SCOPED_TRACE(qemu.version_text + " " + c.size + " -o '" + c.options + "'");
      const std::string theirs = dir.File("qemu.vhdx");
      const std::string ours = dir.File("instar.vhdx");
      std::string output;
      ASSERT_EQ(testing::QemuImgCreate(qemu, "vhdx", c.options, theirs, c.size, &output), 0)
          << output;
      const std::vector<uint8_t> expected = testing::ReadWholeFile(theirs);

      const uint64_t size = testing::ParseSizeArgument(c.size, qemu.version);
      CreateOutcome made = testing::RunCreateHook(ImageFormat::kVhdx, c.options, size, qemu.version,
                                                  ours, kNow, random);
      ASSERT_TRUE(made.status.ok()) << made.status.message() << " " << made.error_text;
      const std::vector<uint8_t>& bytes = made.device.bytes();
      EXPECT_EQ(testing::FirstDifference(bytes, expected, RandomMasks(expected)), "");
      ExpectRandomFields(bytes, random);

      // The engine's reader sees the size qemu-img info gives qemu's image,
      // and its check finds nothing.
      const int64_t qemu_size = testing::QemuImgVirtualSize(qemu, "vhdx", theirs);
      ASSERT_GE(qemu_size, 0);
      const testing::ReopenedImage reopened =
          testing::Reopen(ImageFormat::kVhdx, made.device, qemu.version);
      ASSERT_EQ(reopened.failure, "");
      EXPECT_EQ(reopened.virtual_size, static_cast<uint64_t>(qemu_size));
      ASSERT_TRUE(reopened.checked);
      EXPECT_EQ(reopened.check.corruptions, 0u);
      EXPECT_EQ(reopened.check.leaks, 0u);
      EXPECT_EQ(reopened.check.check_errors, 0u);

      // qemu-img accepts it: info and check, and the baseline for the
      // create-info-json cases.
      ASSERT_TRUE(testing::WriteSparseFile(ours, bytes));
      EXPECT_EQ(testing::QemuImgVirtualSize(qemu, "vhdx", ours), qemu_size);
      EXPECT_EQ(testing::QemuImgCheck(qemu, "vhdx", ours, &output), 0) << output;
      // qemu-img info prints the same for our image as for its own.
      const std::string info = testing::QemuImgInfoJson(qemu, ours);
      EXPECT_FALSE(info.empty());
      EXPECT_EQ(info, testing::QemuImgInfoJson(qemu, theirs));
      if (const std::string want = testing::CreateBaselineInfo("vhdx", qemu.version_text, c.name);
          !want.empty()) {
        EXPECT_EQ(info, want);
      }
    }
  }
}

// What qemu-img refuses, the hook refuses with the same words, writing
// nothing.
TEST(VhdxCreateTest, RefusesWhatQemuImgRefuses) {
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty());
  testing::ScratchDir dir;
  const struct {
    const char* size;
    const char* options;
  } kRefused[] = {
      {"70368744177665", ""},  // 64 TiB + 1: rounds up past the limit
      {"65T", "block_size=64M"}, {"1G", "log_size=4G"},   {"1G", "log_size=0"},
      {"1G", "block_size=3M"},   {"1G", "block_size=6M"}, {"1G", "subformat=sparse"},
  };
  for (const QemuImgBinary& qemu : binaries) {
    for (const auto& c : kRefused) {
      SCOPED_TRACE(qemu.version_text + " " + c.size + " " + c.options);
      std::string output;
      EXPECT_NE(
          testing::QemuImgCreate(qemu, "vhdx", c.options, dir.File("t.vhdx"), c.size, &output), 0);
      const uint64_t size = testing::ParseSizeArgument(c.size, qemu.version);
      CreateOutcome made = testing::RunCreateHook(ImageFormat::kVhdx, c.options, size, qemu.version,
                                                  "t.vhdx", kNow, TestRandom());
      EXPECT_FALSE(made.status.ok());
      EXPECT_TRUE(made.device.bytes().empty());
      EXPECT_EQ(made.error_text, testing::WithoutPath(output, dir.File("t.vhdx")));
    }
  }
}

// qemu's quirk (vhdx_create.h QemuRefusesCreatedImage): a fixed image
// without zero blocks, 4098 blocks of 1 MiB (so a sector bitmap entry
// before the last payload entry) and a partial last block. qemu-img
// creates it and then refuses to open it; the hook writes the same bytes
// (the first 16 MiB, where everything but the hole is, compared) and the
// engine's reader refuses them too.
TEST(VhdxCreateTest, KeepsQemusImageThatQemuCannotOpen) {
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty());
  testing::ScratchDir dir;
  const std::string options = "subformat=fixed,block_state_zero=off,block_size=1M";
  const char* kSize = "4296016384";  // 4097 MiB + 512
  for (const QemuImgBinary& qemu : binaries) {
    SCOPED_TRACE(qemu.version_text);
    const std::string theirs = dir.File("qemu.vhdx");
    std::string output;
    ASSERT_EQ(testing::QemuImgCreate(qemu, "vhdx", options, theirs, kSize, &output), 0) << output;
    EXPECT_LT(testing::QemuImgVirtualSize(qemu, "vhdx", theirs), 0);

    const uint64_t size = testing::ParseSizeArgument(kSize, qemu.version);
    std::vector<uint8_t> buffer(1 << 20);
    Arena arena(buffer.data(), buffer.size());
    ParsedMeasureOptions parsed;
    MeasureError error;
    ASSERT_TRUE(ParseMeasureOptions(ImageFormat::kVhdx, options.data(), options.size(),
                                    qemu.version, arena, &parsed, &error)
                    .ok());
    EXPECT_TRUE(vhdx::QemuRefusesCreatedImage(parsed, size));
    CreateRequest request;
    request.options = &parsed;
    request.size = size;
    testing::SparseDevice device;
    ASSERT_TRUE(vhdx::CreateVhdx(request, device, qemu.version, arena, &error).ok());
    ASSERT_EQ(device.Size(), testing::FileSize(theirs));
    const std::vector<uint8_t> expected = testing::ReadWholeFile(theirs, 16 << 20);
    std::vector<uint8_t> ours(expected.size());
    ASSERT_TRUE(device.Read(0, ours.data(), ours.size()).ok());
    EXPECT_EQ(testing::FirstDifference(ours, expected, RandomMasks(expected)), "");
    const testing::ReopenedImage reopened =
        testing::Reopen(ImageFormat::kVhdx, device, qemu.version);
    EXPECT_EQ(reopened.failure,
              "open: vhdx BAT entry points after the end of the file; the image has been "
              "truncated");
  }
}

// The fuzzer's body (vhdx_create_fuzz.cc) over a fixed sample: every image
// made reopens at no less than the size asked and passes the check.
TEST(VhdxCreateTest, FuzzBodyHoldsOnASample) {
  const std::vector<const char*> words = {
      "subformat=fixed", "subformat=dynamic", "block_state_zero=off", "block_size=1M",
      "block_size=2M",   "log_size=2M",       "block_size=256M",      "log_size=1"};
  size_t created = 0;
  for (const std::vector<uint8_t>& input : testing::SampleCreateFuzzInputs(words, 300, 7)) {
    bool made = false;
    const char* failure =
        testing::RunCreateFuzzInput(ImageFormat::kVhdx, "fuzz.vhdx", 9, input.data(), input.size(),
                                    vhdx::QemuRefusesCreatedImage, &made);
    EXPECT_EQ(failure, nullptr) << failure;
    created += made ? 1 : 0;
  }
  // The sample reaches the writer, not only the option parser's refusals.
  EXPECT_GT(created, 300 / 10);
}

}  // namespace
}  // namespace instar
