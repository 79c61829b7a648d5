// The vmdk guest-data writer against real qemu: each sequence of writes is
// issued by qemu (`qemu-img dd -O vmdk` of every qemu-img of
// testing/qemu_img.h; `qemu-io -c 'write -P ...'` of the system qemu) and
// by the writer over the create hook's image (and, for qemu-io, over
// qemu-img create's own), and the files must be equal byte for byte.
// Nothing is masked: the one random field, the CID qemu writes at the
// first write (g_random_int()), is read from qemu's file and given to the
// writer as its entropy; the create hook's CID is overwritten by it (its
// length, which can leave bytes after the new text, is qemu's). Every
// result reopens with the engine's reader, passes its check and qemu-img
// check, and reads back what was written.
#include <gtest/gtest.h>

#include <algorithm>
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
using testing::QemuImgBinaries;
using testing::QemuImgBinary;

constexpr uint64_t kNow = 1796000000;

// The CID in the descriptor at sector 1 (qemu prints it %x).
uint32_t DescriptorCid(const std::vector<uint8_t>& bytes) {
  const std::string text(bytes.begin() + std::min<size_t>(bytes.size(), 512),
                         bytes.begin() + std::min<size_t>(bytes.size(), 10752));
  const size_t at = text.find("\nCID=");
  if (at == std::string::npos) return 0;
  return static_cast<uint32_t>(std::stoul(text.substr(at + 5, 8), nullptr, 16));
}

// A CID for the create hook whose hex is as long as qemu's create CID
// was, as far as qemu's final file tells: when the CID written at the
// first write is shorter by two digits or more, the old text's last bytes
// stay after the new end (see ShorterCidLeavesTheOldLastByte), as many as
// it is shorter, less one. Only the length matters: the write replaces
// the value.
uint32_t CreateCidFor(const std::vector<uint8_t>& bytes) {
  const uint32_t cid = DescriptorCid(bytes);
  size_t digits = 1;
  while (digits < 8 && (cid >> (4 * digits)) != 0) ++digits;
  size_t end = 512;
  while (end < bytes.size() && end < 10752 && bytes[end] != 0) ++end;
  size_t left = 0;
  while (end + 1 + left < bytes.size() && bytes[end + 1 + left] != 0) ++left;
  if (left > 0) digits += left + 1;
  return digits >= 8 ? 0x80000000u : uint32_t{1} << (4 * (digits - 1));
}

std::vector<uint8_t> RandomWithCid(uint32_t cid) {
  std::vector<uint8_t> random(64, 0x5a);
  StoreLE32(random.data(), cid);
  return random;
}

WriterEntropy EntropyWithCid(uint32_t cid) {
  WriterEntropy entropy;
  for (uint8_t& b : entropy.random) b = 0xc3;
  StoreLE32(entropy.random, cid);
  return entropy;
}

// Checks the writer's image `bytes` against qemu's `expected` (at `path`,
// where `ours` is written for qemu-img).
void ExpectSameAsQemu(const QemuImgBinary& qemu, testing::MemoryDevice& device,
                      const std::vector<uint8_t>& expected, const std::vector<GuestWrite>& writes,
                      const std::string& theirs, const std::string& ours) {
  EXPECT_EQ(testing::FirstDifference(device.bytes(), expected, {}), "");
  EXPECT_EQ(testing::VerifyWritten(ImageFormat::kVmdk, device, qemu.version, writes), "");
  ASSERT_TRUE(testing::WriteSparseFile(ours, device.bytes()));
  std::string output;
  EXPECT_EQ(testing::QemuImgCheck(qemu, "vmdk", ours, &output), 0) << output;
  std::string info = testing::QemuImgInfoJson(qemu, ours);
  EXPECT_FALSE(info.empty());
  EXPECT_EQ(info, testing::QemuImgInfoJson(qemu, theirs));
}

struct DdCase {
  uint64_t input_size;
  testing::DdOperands operands;
};

const DdCase kDdCases[] = {
    // cases/dd.json's, from a 1 MiB input, but count=0: qemu-img dd
    // cannot reopen the empty vmdk it creates ("Unsupported image type
    // 'monolithicSparse'"), and writes nothing.
    {1 << 20, {}},
    {1 << 20, {1000, 0, false, 3, true}},
    {1 << 20, {65536, 2, true, 4, true}},
    // Writes across grains and across grain tables (32 MiB each).
    {40 << 20, {3000001, 0, false, 0, false}},
    {300000, {4096, 1, true, 0, false}},
};

TEST(VmdkWriteTest, QemuImgDdSequencesMatchByteForByte) {
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
      const std::string theirs = dir.File("qemu.vmdk");
      std::string output;
      ASSERT_EQ(testing::QemuImgDd(qemu, "vmdk", c.operands, dir.File("in.raw"), theirs, &output),
                0)
          << output;
      const std::vector<uint8_t> expected = testing::ReadWholeFile(theirs);
      const uint32_t cid = DescriptorCid(expected);

      uint64_t size = 0;
      const std::vector<GuestWrite> writes = testing::DdWrites(input, c.operands, &size);
      // The descriptor names the extent after the file qemu-img wrote.
      testing::CreateOutcome made =
          testing::RunCreateHook(ImageFormat::kVmdk, "", size, qemu.version, theirs, kNow,
                                 RandomWithCid(CreateCidFor(expected)));
      ASSERT_TRUE(made.status.ok()) << made.status.message();
      ASSERT_EQ(testing::RunWriter(ImageFormat::kVmdk, made.device, qemu.version,
                                   EntropyWithCid(cid), writes),
                "");
      ExpectSameAsQemu(qemu, made.device, expected, writes, theirs, dir.File("instar.vmdk"));
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
      // Out of order, unaligned, across grains and grain tables, rewrites
      // of allocated grains.
      {"80M",
       "",
       {{40 << 20, 4096, 0xab},
        {1000, 3000, 0x11},
        {(32 << 20) - 700, 70000, 0x22},
        {1000, 100, 0x33},
        {40 << 20, 512, 0x44},
        {(50 << 20) + 1, 5 << 20, 0x55},
        {0, 1, 0x66}}},
      {"100G", "", {{(50ull << 30) + 3, 70000, 0x79}, {1ull << 30, 4 << 20, 0x7a}}},
      {"5M", "zeroed_grain=on", {{65536, 65536, 0x81}, {12345, 200000, 0x82}}},
      {"3000001", "compat6=on", {{2900000, 100001, 0x83}}},
  };
}

TEST(VmdkWriteTest, QemuIoSequencesMatchByteForByte) {
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty());
  const QemuImgBinary& qemu = binaries[0];  // the system qemu-img, qemu-io's version
  testing::ScratchDir dir;
  for (const IoCase& c : IoCases()) {
    SCOPED_TRACE(std::string(c.size) + " -o '" + c.options + "'");
    const std::string theirs = dir.File("qemu.vmdk");
    std::string output;
    ASSERT_EQ(testing::QemuImgCreate(qemu, "vmdk", c.options, theirs, c.size, &output), 0)
        << output;
    testing::MemoryDevice qemu_empty(testing::ReadWholeFile(theirs));
    ASSERT_EQ(testing::QemuIoWrites("vmdk", theirs, c.writes, &output), 0) << output;
    const std::vector<uint8_t> expected = testing::ReadWholeFile(theirs);
    const uint32_t cid = DescriptorCid(expected);

    // Over qemu-img's own empty image.
    ASSERT_EQ(testing::RunWriter(ImageFormat::kVmdk, qemu_empty, qemu.version, EntropyWithCid(cid),
                                 c.writes),
              "");
    EXPECT_EQ(testing::FirstDifference(qemu_empty.bytes(), expected, {}), "");

    // Over the create hook's.
    const uint64_t size = testing::ParseSizeArgument(c.size, qemu.version);
    testing::CreateOutcome made =
        testing::RunCreateHook(ImageFormat::kVmdk, c.options, size, qemu.version, theirs, kNow,
                               RandomWithCid(CreateCidFor(expected)));
    ASSERT_TRUE(made.status.ok());
    ASSERT_EQ(testing::RunWriter(ImageFormat::kVmdk, made.device, qemu.version, EntropyWithCid(cid),
                                 c.writes),
              "");
    ExpectSameAsQemu(qemu, made.device, expected, c.writes, theirs, dir.File("instar.vmdk"));
  }
}

// The CID qemu writes is %x: no leading zeros; the text after the old CID
// moves up and the descriptor's old last byte stays after its new end.
TEST(VmdkWriteTest, ShorterCidLeavesTheOldLastByte) {
  const QemuVersion compat{7, 2, 22};
  testing::CreateOutcome made = testing::RunCreateHook(ImageFormat::kVmdk, "", 1 << 20, compat,
                                                       "t.vmdk", kNow, RandomWithCid(0xabcdef12));
  ASSERT_TRUE(made.status.ok());
  const std::vector<uint8_t> before = made.device.bytes();
  const std::string old_text(reinterpret_cast<const char*>(before.data() + 512));
  ASSERT_EQ(testing::RunWriter(ImageFormat::kVmdk, made.device, compat, EntropyWithCid(0x5),
                               {{0, 512, 0x1}}),
            "");
  const std::vector<uint8_t>& after = made.device.bytes();
  const std::string new_text(reinterpret_cast<const char*>(after.data() + 512));
  EXPECT_EQ(new_text.size(), old_text.size() - 7);
  EXPECT_NE(new_text.find("\nCID=5\nparentCID=ffffffff\n"), std::string::npos);
  EXPECT_EQ(after[512 + new_text.size() + 1], before[512 + new_text.size() + 1]);
  EXPECT_EQ(DescriptorCid(after), 5u);
  // And the test's reading of such a file: the create CID had 8 digits.
  EXPECT_EQ(CreateCidFor(after), 0x80000000u);
}

// What the writer does not handle is refused before anything is written;
// a write past the disk is refused.
TEST(VmdkWriteTest, RefusesWhatItCannotWrite) {
  const QemuVersion compat{7, 2, 22};
  testing::CreateOutcome stream =
      testing::RunCreateHook(ImageFormat::kVmdk, "subformat=streamOptimized", 1 << 20, compat,
                             "t.vmdk", kNow, RandomWithCid(1));
  ASSERT_TRUE(stream.status.ok());
  EXPECT_NE(testing::RunWriter(ImageFormat::kVmdk, stream.device, compat, EntropyWithCid(2), {}),
            "");
  testing::CreateOutcome made = testing::RunCreateHook(ImageFormat::kVmdk, "", 1 << 20, compat,
                                                       "t.vmdk", kNow, RandomWithCid(1));
  ASSERT_TRUE(made.status.ok());
  const std::vector<uint8_t> before = made.device.bytes();
  EXPECT_NE(testing::RunWriter(ImageFormat::kVmdk, made.device, compat, EntropyWithCid(2),
                               {{(1 << 20) - 1, 2, 0x1}}),
            "");
  EXPECT_EQ(made.device.bytes(), before);
}

// The fuzzer's body (vmdk_write_fuzz.cc) over a fixed sample: every
// image written reopens, passes the engine's check and reads back what
// was written.
TEST(VmdkWriteTest, FuzzBodyHoldsOnASample) {
  size_t wrote = 0;
  const std::vector<std::vector<uint8_t>> inputs = testing::SampleWriteFuzzInputs(60, 6, 21);
  for (const std::vector<uint8_t>& input : inputs) {
    bool written = false;
    EXPECT_EQ(testing::RunWriteFuzzInput(ImageFormat::kVmdk, input.data(), input.size(), &written),
              "");
    wrote += written ? 1 : 0;
  }
  // The sample reaches the writes, not only the create hook's refusals.
  EXPECT_GT(wrote, inputs.size() / 2);
}

}  // namespace
}  // namespace instar
