// The vpc guest-data writer against real qemu: each sequence of writes is
// issued by qemu (`qemu-img dd -O vpc` of every qemu-img of
// testing/qemu_img.h; `qemu-io -c 'write -P ...'` of the system qemu) and
// by the writer over the create hook's image, and the files must be equal
// byte for byte but for what the create hook took from the clock and the
// random generator (each footer's timestamp, checksum and UUID, checked on
// their own by vpc_create_test.cc; the writer copies the footer as it
// found it). The qemu-io sequences are also run over qemu-img's own empty
// image, where nothing is masked. Every result reopens with the engine's
// reader and reads back what was written.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "instar/engine/bytes.h"
#include "testing/create_hook.h"
#include "testing/memory_device.h"
#include "testing/qemu_img.h"
#include "testing/qemu_writes.h"
#include "testing/write_fuzz.h"
#include "testing/write_sequence.h"

namespace instar {
namespace {

using testing::GuestWrite;
using testing::MaskedRange;
using testing::QemuImgBinaries;
using testing::QemuImgBinary;

constexpr uint64_t kNow = 1796000000;

std::vector<uint8_t> TestRandom() {
  std::vector<uint8_t> random(64);
  for (size_t i = 0; i < random.size(); ++i) random[i] = static_cast<uint8_t>(0x3c ^ (i * 29));
  return random;
}

// Both footers' timestamp, checksum and UUID.
std::vector<MaskedRange> FooterMasks(const std::vector<uint8_t>& bytes) {
  std::vector<MaskedRange> masks;
  if (bytes.size() < 512) return masks;
  for (uint64_t footer : {uint64_t{0}, uint64_t{bytes.size() - 512}}) {
    masks.push_back({footer + 24, 4});
    masks.push_back({footer + 64, 20});
  }
  return masks;
}

// The two footers are the same 512 bytes (the writer moves the one it read).
void ExpectFootersEqual(const std::vector<uint8_t>& bytes, bool fixed) {
  ASSERT_GE(bytes.size(), 512u);
  if (fixed) return;
  EXPECT_TRUE(BytesEqual(bytes.data(), bytes.data() + bytes.size() - 512, 512));
}

struct DdCase {
  uint64_t input_size;
  testing::DdOperands operands;
};

const DdCase kDdCases[] = {
    // cases/dd.json's, from a 1 MiB input.
    {1 << 20, {}},
    {1 << 20, {1000, 0, false, 3, true}},
    {1 << 20, {65536, 2, true, 4, true}},
    {1 << 20, {512, 0, false, 0, true}},
    // Writes across 2 MiB blocks, and a disk whose CHS size is larger.
    {5 << 20, {1500000, 0, false, 0, false}},
    {3000001, {1 << 20, 1, true, 0, false}},
};

TEST(VpcWriteTest, QemuImgDdSequencesMatchByteForByte) {
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty()) << "no qemu-img on PATH";
  testing::ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  for (const QemuImgBinary& qemu : binaries) {
    for (const DdCase& c : kDdCases) {
      std::string args;
      for (const std::string& a : testing::DdArguments(c.operands)) args += " " + a;
      SCOPED_TRACE(qemu.version_text + " dd of " + std::to_string(c.input_size) + args);
      const std::vector<uint8_t> input = testing::PatternInput(c.input_size);
      ASSERT_TRUE(testing::WriteSparseFile(dir.File("in.raw"), input));
      std::string output;
      ASSERT_EQ(testing::QemuImgDd(qemu, "vpc", c.operands, dir.File("in.raw"),
                                   dir.File("qemu.vhd"), &output),
                0)
          << output;
      const std::vector<uint8_t> expected = testing::ReadWholeFile(dir.File("qemu.vhd"));

      uint64_t size = 0;
      const std::vector<GuestWrite> writes = testing::DdWrites(input, c.operands, &size);
      testing::CreateOutcome made = testing::RunCreateHook(
          ImageFormat::kVpc, "", size, qemu.version, "t.vhd", kNow, TestRandom());
      ASSERT_TRUE(made.status.ok()) << made.status.message();
      WriterEntropy entropy;
      ASSERT_EQ(testing::RunWriter(ImageFormat::kVpc, made.device, qemu.version, entropy, writes),
                "");
      const std::vector<uint8_t>& bytes = made.device.bytes();
      EXPECT_EQ(testing::FirstDifference(bytes, expected, FooterMasks(expected)), "");
      ExpectFootersEqual(bytes, false);
      EXPECT_EQ(testing::VerifyWritten(ImageFormat::kVpc, made.device, qemu.version, writes), "");
      // qemu-img info says the same of both files.
      ASSERT_TRUE(testing::WriteSparseFile(dir.File("instar.vhd"), bytes));
      EXPECT_EQ(testing::QemuImgInfoJson(qemu, dir.File("instar.vhd")),
                testing::QemuImgInfoJson(qemu, dir.File("qemu.vhd")));
    }
  }
}

struct IoCase {
  const char* size;
  const char* options;
  std::vector<GuestWrite> writes;
};

std::vector<IoCase> IoCases() {
  return {
      // Out of order, unaligned, across blocks, rewrites of allocated
      // ranges and of the block written last.
      {"16M",
       "",
       {{6 << 20, 4096, 0xab},
        {1000, 3000, 0x11},
        {(2 << 20) - 700, 5000, 0x22},
        {1000, 100, 0x33},
        {6 << 20, 512, 0x44},
        {(10 << 20) + 1, 5 << 20, 0x55},
        {0, 512, 0x66}}},
      // The last block, partly inside the disk.
      {"3000001", "", {{2900000, 100001, 0x77}, {0, 1, 0x78}}},
      {"100G", "", {{(50ull << 30) + 3, 70000, 0x79}, {1ull << 30, 4 << 20, 0x7a}}},
      {"8M", "subformat=fixed", {{0, 512, 0x81}, {12345, 1 << 20, 0x82}, {7 << 20, 4096, 0x83}}},
  };
}

TEST(VpcWriteTest, QemuIoSequencesMatchByteForByte) {
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty());
  const QemuImgBinary& qemu = binaries[0];  // the system qemu-img, qemu-io's version
  testing::ScratchDir dir;
  for (const IoCase& c : IoCases()) {
    SCOPED_TRACE(std::string(c.size) + " -o '" + c.options + "'");
    const std::string path = dir.File("qemu.vhd");
    std::string output;
    ASSERT_EQ(testing::QemuImgCreate(qemu, "vpc", c.options, path, c.size, &output), 0) << output;
    testing::MemoryDevice qemu_empty(testing::ReadWholeFile(path));
    ASSERT_EQ(testing::QemuIoWrites("vpc", path, c.writes, &output), 0) << output;
    const std::vector<uint8_t> expected = testing::ReadWholeFile(path);
    const bool fixed = std::string(c.options).find("fixed") != std::string::npos;

    // Over qemu-img's own empty image: nothing to mask.
    WriterEntropy entropy;
    ASSERT_EQ(testing::RunWriter(ImageFormat::kVpc, qemu_empty, qemu.version, entropy, c.writes),
              "");
    EXPECT_EQ(testing::FirstDifference(qemu_empty.bytes(), expected, {}), "");

    // Over the create hook's.
    const uint64_t size = testing::ParseSizeArgument(c.size, qemu.version);
    testing::CreateOutcome made = testing::RunCreateHook(ImageFormat::kVpc, c.options, size,
                                                         qemu.version, "t.vhd", kNow, TestRandom());
    ASSERT_TRUE(made.status.ok());
    ASSERT_EQ(testing::RunWriter(ImageFormat::kVpc, made.device, qemu.version, entropy, c.writes),
              "");
    EXPECT_EQ(testing::FirstDifference(made.device.bytes(), expected, FooterMasks(expected)), "");
    ExpectFootersEqual(made.device.bytes(), fixed);
    EXPECT_EQ(testing::VerifyWritten(ImageFormat::kVpc, made.device, qemu.version, c.writes), "");
  }
}

// A write past the virtual disk is refused and writes nothing.
TEST(VpcWriteTest, RefusesWritesPastTheDisk) {
  testing::CreateOutcome made = testing::RunCreateHook(
      ImageFormat::kVpc, "", 1 << 20, QemuVersion{7, 2, 22}, "t.vhd", kNow, TestRandom());
  ASSERT_TRUE(made.status.ok());
  const std::vector<uint8_t> before = made.device.bytes();
  const uint64_t size =
      testing::Reopen(ImageFormat::kVpc, made.device, QemuVersion{7, 2, 22}).virtual_size;
  WriterEntropy entropy;
  EXPECT_NE(testing::RunWriter(ImageFormat::kVpc, made.device, QemuVersion{7, 2, 22}, entropy,
                               {{size - 10, 11, 0x1}}),
            "");
  EXPECT_EQ(made.device.bytes(), before);
  EXPECT_EQ(testing::RunWriter(ImageFormat::kVpc, made.device, QemuVersion{7, 2, 22}, entropy,
                               {{size - 10, 10, 0x1}}),
            "");
}

// The fuzzer's body (vpc_write_fuzz.cc) over a fixed sample: every
// image written reopens, passes the engine's check and reads back what
// was written.
TEST(VpcWriteTest, FuzzBodyHoldsOnASample) {
  size_t wrote = 0;
  const std::vector<std::vector<uint8_t>> inputs = testing::SampleWriteFuzzInputs(60, 6, 21);
  for (const std::vector<uint8_t>& input : inputs) {
    bool written = false;
    EXPECT_EQ(testing::RunWriteFuzzInput(ImageFormat::kVpc, input.data(), input.size(), &written),
              "");
    wrote += written ? 1 : 0;
  }
  // The sample reaches the writes, not only the create hook's refusals.
  EXPECT_GT(wrote, inputs.size() / 2);
}

}  // namespace
}  // namespace instar
