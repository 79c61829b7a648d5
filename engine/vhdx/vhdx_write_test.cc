// The vhdx guest-data writer against real qemu: each sequence of writes is
// issued by qemu (`qemu-img dd -O vhdx` of every qemu-img of
// testing/qemu_img.h; `qemu-io -c 'write -P ...'` of the system qemu) and
// by the writer, over qemu-img create's own empty image (qemu-io) and over
// the create hook's. qemu's random GUIDs are read from qemu's file and
// given to the writer as its entropy in the order it consumes them (the
// session GUID, the two data write GUIDs, the first log GUID); the log
// GUIDs of later allocations, which the writer draws from its own stream,
// are masked with the CRCs of their log entries, and those entries are
// checked on their own (CRC-32C over the entry, a version 4 GUID). Over
// the create hook's image the create's own random fields differ too: the
// headers' sequence numbers and CRCs (checked on their own) are masked and
// the page 83 data is qemu's. qemu also leaves heap bytes in its log
// entries (ClearQemuHeapBytes() below). Every result reopens with the
// engine's reader, passes its check and qemu-img check, and reads back what
// was written.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "instar/engine/bytes.h"
#include "instar/engine/vhdx.h"
#include "testing/create_hook.h"
#include "testing/memory_device.h"
#include "testing/qemu_img.h"
#include "testing/qemu_writes.h"
#include "testing/write_fuzz.h"
#include "testing/write_sequence.h"
#include "vhdx/crc32c.h"
#include "vhdx/vhdx_log.h"

namespace instar {
namespace {

using testing::GuestWrite;
using testing::MaskedRange;
using testing::QemuImgBinaries;
using testing::QemuImgBinary;

constexpr uint64_t kHeader1 = 64 << 10;
constexpr uint64_t kHeader2 = 128 << 10;
constexpr uint64_t kLog = 1 << 20;  // qemu-img create's log offset
constexpr uint64_t kEntry = 8192;   // a log entry for one BAT entry

uint64_t LogEntries(const std::vector<uint8_t>& bytes) {
  uint64_t n = 0;
  while (kLog + (n + 1) * kEntry <= bytes.size() && kLog + n * kEntry < 2 * kLog &&
         BytesEqual(bytes.data() + kLog + n * kEntry, "loge", 4)) {
    ++n;
  }
  return n;
}

// The writer's entropy as qemu drew it: the session GUID (both headers'
// file write GUID), the data write GUIDs of the first write's two header
// updates (header 1's, then header 2's: a new image's current header is
// header 2, so the first update goes to header 1), the first log entry's
// log GUID.
WriterEntropy QemuEntropy(const std::vector<uint8_t>& bytes) {
  WriterEntropy entropy;
  CopyBytes(entropy.random, bytes.data() + kHeader1 + 16, 16);
  CopyBytes(entropy.random + 16, bytes.data() + kHeader1 + 32, 16);
  CopyBytes(entropy.random + 32, bytes.data() + kHeader2 + 32, 16);
  if (LogEntries(bytes) > 0) CopyBytes(entropy.random + 48, bytes.data() + kLog + 32, 16);
  return entropy;
}

// Log entries after the first: their GUID and CRC.
std::vector<MaskedRange> LaterLogMasks(const std::vector<uint8_t>& bytes) {
  std::vector<MaskedRange> masks;
  for (uint64_t i = 1; i < LogEntries(bytes); ++i) {
    masks.push_back({kLog + i * kEntry + 4, 4});
    masks.push_back({kLog + i * kEntry + 32, 16});
  }
  return masks;
}

// Every log entry of the writer's file is whole: its CRC-32C, a version 4
// log GUID.
void ExpectLogEntriesValid(const std::vector<uint8_t>& bytes) {
  for (uint64_t i = 0; i < LogEntries(bytes); ++i) {
    std::vector<uint8_t> entry(bytes.begin() + kLog + i * kEntry,
                               bytes.begin() + kLog + (i + 1) * kEntry);
    const uint32_t crc = LoadLE32(entry.data() + 4);
    StoreLE32(entry.data() + 4, 0);
    EXPECT_EQ(vhdx::Crc32c(entry.data(), entry.size()), crc) << "log entry " << i;
    EXPECT_EQ(entry[32 + 6] & 0xf0, 0x40);
    EXPECT_EQ(entry[32 + 8] & 0xc0, 0x80);
  }
}

// qemu builds a log entry in a buffer it never clears (vhdx_log_write()'s
// qemu_blockalign()), so the descriptor sector past its descriptors holds
// whatever the heap held there: mostly zeros, but now and then (under load,
// with qemu's I/O threads freeing buffers in another order) a freed copy of
// a BAT sector, which made these tests fail at random with "0x00 vs 0x02"
// in a log entry. Those bytes are no part of the format and the writer
// writes zeros: the expected file gets zeros there too, and the entry's
// CRC-32C, checked first over qemu's own bytes, is recomputed.
void ClearQemuHeapBytes(std::vector<uint8_t>* bytes) {
  for (uint64_t i = 0; i < LogEntries(*bytes); ++i) {
    uint8_t* entry = bytes->data() + kLog + i * kEntry;
    const uint32_t crc = LoadLE32(entry + 4);
    StoreLE32(entry + 4, 0);
    EXPECT_EQ(vhdx::Crc32c(entry, kEntry), crc) << "qemu's log entry " << i;
    ASSERT_EQ(LoadLE32(entry + 8), kEntry) << "qemu's log entry " << i;
    ASSERT_EQ(LoadLE32(entry + 24), 1u) << "qemu's log entry " << i;
    const uint64_t used = 64 + 32;  // the entry header, one descriptor
    FillBytes(entry + used, 0, vhdx::kLogSectorSize - used);
    StoreLE32(entry + 4, vhdx::Crc32c(entry, kEntry));
  }
}

// Sets MALLOC_PERTURB_ for the qemu programs the test runs, so that glibc
// fills what qemu allocates with non-zero bytes: every run then has what
// ClearQemuHeapBytes() is for, not only a run on a loaded machine.
class PerturbedQemuHeap {
 public:
  PerturbedQemuHeap() { ::setenv("MALLOC_PERTURB_", "165", 1); }
  ~PerturbedQemuHeap() { ::unsetenv("MALLOC_PERTURB_"); }
  PerturbedQemuHeap(const PerturbedQemuHeap&) = delete;
  PerturbedQemuHeap& operator=(const PerturbedQemuHeap&) = delete;
};

// The create's random fields that the writer keeps: the headers' sequence
// numbers (and so their CRCs).
std::vector<MaskedRange> HeaderMasks() { return {{kHeader1 + 4, 12}, {kHeader2 + 4, 12}}; }

// The create hook's random bytes for qemu's image in `bytes`: its page 83
// data (as the engine's reader finds it) and header 1's GUIDs.
std::vector<uint8_t> CreateRandomFor(const std::vector<uint8_t>& bytes, const QemuVersion& compat) {
  testing::MemoryDevice device(bytes);
  std::vector<uint8_t> buffer(8 << 20);
  Arena arena(buffer.data(), buffer.size());
  OpenOptions options;
  options.compat = compat;
  class NoFiles final : public DeviceOpener {
   public:
    Result<BlockDevice*> Open(const char*, size_t) override {
      return Status::IOError("no other files");
    }
  } opener;
  std::vector<uint8_t> random(64, 0x42);
  // With no write the headers' file and data write GUIDs are the
  // create's (opening writes nothing).
  CopyBytes(random.data() + 4, bytes.data() + kHeader1 + 16, 32);
  auto image = FindFormatDriver(ImageFormat::kVhdx)->open(device, opener, arena, options);
  if (!image.ok()) return random;
  const auto& vhdx = static_cast<const VhdxImage&>(**image);
  CopyBytes(random.data() + 36, vhdx.page83_data().bytes, 16);
  return random;
}

void ExpectSameAsQemu(const QemuImgBinary& qemu, testing::MemoryDevice& device,
                      const std::vector<uint8_t>& expected, std::vector<MaskedRange> masks,
                      const std::vector<GuestWrite>& writes, const std::string& theirs,
                      const std::string& ours) {
  const std::vector<uint8_t>& bytes = device.bytes();
  EXPECT_EQ(testing::FirstDifference(bytes, expected, masks), "");
  ExpectLogEntriesValid(bytes);
  ASSERT_GT(bytes.size(), kHeader2 + 16);
  // The headers are a sequence number apart, as qemu's.
  EXPECT_EQ(LoadLE64(bytes.data() + kHeader2 + 8) - LoadLE64(bytes.data() + kHeader1 + 8),
            LoadLE64(expected.data() + kHeader2 + 8) - LoadLE64(expected.data() + kHeader1 + 8));
  EXPECT_EQ(testing::VerifyWritten(ImageFormat::kVhdx, device, qemu.version, writes), "");
  ASSERT_TRUE(testing::WriteSparseFile(ours, bytes));
  std::string output;
  EXPECT_EQ(testing::QemuImgCheck(qemu, "vhdx", ours, &output), 0) << output;
  const std::string info = testing::QemuImgInfoJson(qemu, ours);
  EXPECT_FALSE(info.empty());
  EXPECT_EQ(info, testing::QemuImgInfoJson(qemu, theirs));
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
    // Writes across blocks (8 MiB for this size).
    {40 << 20, {3000001, 0, false, 0, false}},
    {300000, {4096, 1, true, 0, false}},
};

TEST(VhdxWriteTest, QemuImgDdSequencesMatchByteForByte) {
  const PerturbedQemuHeap perturbed;
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
      const std::string theirs = dir.File("qemu.vhdx");
      std::string output;
      ASSERT_EQ(testing::QemuImgDd(qemu, "vhdx", c.operands, dir.File("in.raw"), theirs, &output),
                0)
          << output;
      std::vector<uint8_t> expected = testing::ReadWholeFile(theirs);
      ClearQemuHeapBytes(&expected);

      uint64_t size = 0;
      const std::vector<GuestWrite> writes = testing::DdWrites(input, c.operands, &size);
      testing::CreateOutcome made =
          testing::RunCreateHook(ImageFormat::kVhdx, "", size, qemu.version, theirs, 0,
                                 CreateRandomFor(expected, qemu.version));
      ASSERT_TRUE(made.status.ok()) << made.status.message();
      ASSERT_EQ(testing::RunWriter(ImageFormat::kVhdx, made.device, qemu.version,
                                   QemuEntropy(expected), writes),
                "");
      std::vector<MaskedRange> masks = LaterLogMasks(expected);
      for (const MaskedRange& m : HeaderMasks()) masks.push_back(m);
      ExpectSameAsQemu(qemu, made.device, expected, masks, writes, theirs, dir.File("instar.vhdx"));
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
      // Out of order, unaligned, across blocks (1 MiB), rewrites of
      // allocated blocks; block 1 before block 0 (the entry at a BAT
      // sector's start, with an entry after it already written).
      {"16M",
       "block_size=1M",
       {{(1 << 20) + 5, 4096, 0xab},
        {1000, 3000, 0x11},
        {(2 << 20) - 700, 5000, 0x22},
        {1000, 100, 0x33},
        {6 << 20, 512, 0x44},
        {(10 << 20) + 1, 5 << 20, 0x55},
        {0, 1, 0x66}}},
      {"100G", "", {{(50ull << 30) + 3, 70000, 0x79}, {1ull << 30, 4 << 20, 0x7a}}},
      {"64M", "block_state_zero=off,block_size=2M", {{3 << 20, 65536, 0x81}, {0, 512, 0x82}}},
      {"8M", "subformat=fixed", {{0, 512, 0x83}, {12345, 1 << 20, 0x84}}},
  };
}

TEST(VhdxWriteTest, QemuIoSequencesMatchByteForByte) {
  const PerturbedQemuHeap perturbed;
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty());
  const QemuImgBinary& qemu = binaries[0];  // the system qemu-img, qemu-io's version
  testing::ScratchDir dir;
  for (const IoCase& c : IoCases()) {
    SCOPED_TRACE(std::string(c.size) + " -o '" + c.options + "'");
    const std::string theirs = dir.File("qemu.vhdx");
    std::string output;
    ASSERT_EQ(testing::QemuImgCreate(qemu, "vhdx", c.options, theirs, c.size, &output), 0)
        << output;
    testing::MemoryDevice qemu_empty(testing::ReadWholeFile(theirs));
    ASSERT_EQ(testing::QemuIoWrites("vhdx", theirs, c.writes, &output), 0) << output;
    std::vector<uint8_t> expected = testing::ReadWholeFile(theirs);
    ClearQemuHeapBytes(&expected);

    // Over qemu-img's own empty image.
    ASSERT_EQ(testing::RunWriter(ImageFormat::kVhdx, qemu_empty, qemu.version,
                                 QemuEntropy(expected), c.writes),
              "");
    EXPECT_EQ(testing::FirstDifference(qemu_empty.bytes(), expected, LaterLogMasks(expected)), "");

    // Over the create hook's.
    const uint64_t size = testing::ParseSizeArgument(c.size, qemu.version);
    testing::CreateOutcome made =
        testing::RunCreateHook(ImageFormat::kVhdx, c.options, size, qemu.version, theirs, 0,
                               CreateRandomFor(expected, qemu.version));
    ASSERT_TRUE(made.status.ok());
    ASSERT_EQ(testing::RunWriter(ImageFormat::kVhdx, made.device, qemu.version,
                                 QemuEntropy(expected), c.writes),
              "");
    std::vector<MaskedRange> masks = LaterLogMasks(expected);
    for (const MaskedRange& m : HeaderMasks()) masks.push_back(m);
    ExpectSameAsQemu(qemu, made.device, expected, masks, c.writes, theirs, dir.File("instar.vhdx"));
  }
}

// qemu before 8.0 and 7.2.2 logs a BAT entry at the start of a BAT sector
// with the sector's old bytes read from its start (the trailing-bytes bug
// "block/vhdx: fix dynamic VHDX BAT corruption" fixed): the old entries
// move up by one. Block 1 written before block 0 then reads at block 2.
// No qemu-img dd sequence reaches it (dd writes blocks in order) and the
// matrix has no qemu-io, so this pins the writer's reading of qemu's code.
TEST(VhdxWriteTest, OldReleasesShiftTheBatSectorOfAnEntryAtItsStart) {
  for (const QemuVersion& compat :
       {QemuVersion{5, 2, 0}, QemuVersion{7, 2, 1}, QemuVersion{7, 2, 2}, QemuVersion{8, 0, 0}}) {
    SCOPED_TRACE(std::to_string(compat.major) + "." + std::to_string(compat.minor) + "." +
                 std::to_string(compat.micro));
    testing::CreateOutcome made =
        testing::RunCreateHook(ImageFormat::kVhdx, "block_size=1M", 16 << 20, compat, "t.vhdx", 0,
                               std::vector<uint8_t>(64, 0x42));
    ASSERT_TRUE(made.status.ok());
    const std::vector<GuestWrite> writes = {{1 << 20, 512, 0x11}, {0, 512, 0x22}};
    WriterEntropy entropy;
    ASSERT_EQ(testing::RunWriter(ImageFormat::kVhdx, made.device, compat, entropy, writes), "");
    const bool shifted = !compat.AtLeast(7, 2, 2);  // 7.2 was the last 7.x
    if (!shifted) {
      EXPECT_EQ(testing::VerifyWritten(ImageFormat::kVhdx, made.device, compat, writes), "");
      continue;
    }
    // Block 1's data now reads at block 2; block 1 reads as zeros.
    const std::vector<GuestWrite> seen = {{2 << 20, 512, 0x11}, {0, 512, 0x22}};
    EXPECT_EQ(testing::VerifyWritten(ImageFormat::kVhdx, made.device, compat, seen), "");
  }
}

// The fuzzer's body (vhdx_write_fuzz.cc) over a fixed sample: every
// image written reopens, passes the engine's check and reads back what
// was written.
TEST(VhdxWriteTest, FuzzBodyHoldsOnASample) {
  size_t wrote = 0;
  const std::vector<std::vector<uint8_t>> inputs = testing::SampleWriteFuzzInputs(60, 6, 21);
  for (const std::vector<uint8_t>& input : inputs) {
    bool written = false;
    EXPECT_EQ(testing::RunWriteFuzzInput(ImageFormat::kVhdx, input.data(), input.size(), &written),
              "");
    wrote += written ? 1 : 0;
  }
  // The sample reaches the writes, not only the create hook's refusals.
  EXPECT_GT(wrote, inputs.size() / 2);
}

}  // namespace
}  // namespace instar
