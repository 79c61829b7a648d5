// The vmdk guest-data writer against real qemu: each sequence of writes is
// issued by qemu (`qemu-img dd -O vmdk` and `qemu-img convert -c -O vmdk`
// of every qemu-img of testing/qemu_img.h; `qemu-io -c 'write [-c] -P ...'`
// of the system qemu) and by the writer over the create hook's image (and,
// for qemu-io, over qemu-img create's own), and for monolithicSparse the
// files must be equal byte for byte. Nothing is masked: the one random
// field, the CID qemu writes at the first write (g_random_int()), is read
// from qemu's file and given to the writer as its entropy; the create
// hook's CID is overwritten by it (its length, which can leave bytes after
// the new text, is qemu's). Every result reopens with the engine's reader,
// passes its check and qemu-img check, and reads back what was written.
//
// streamOptimized grains are deflated by the engine's encoder, whose
// streams are its own, not zlib's: a grain's length and so where the next
// one starts differ from qemu's. What is equal byte for byte is the header
// and the descriptor; the grains must be qemu's grains (the same LBAs, in
// the same order) laid out by qemu's rule (StreamLayout()); and `qemu-img
// convert -O vmdk -o subformat=streamOptimized` of every version of the
// matrix is held against the writer over the same data: every version's
// check finds no errors, every version's compare finds it identical to the
// data, and info --output=json is qemu's but for actual-size and the file
// layer's length (which is the sum of those grains).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "instar/engine/bytes.h"
#include "instar/engine/inflate.h"
#include "testing/corpus.h"
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
uint32_t CreateCidFor(const std::vector<uint8_t>& bytes, size_t start = 512) {
  uint32_t cid = DescriptorCid(bytes);
  if (start == 0) {
    const std::string text(bytes.begin(), bytes.end());
    const size_t at = text.find("\nCID=");
    cid = at == std::string::npos
              ? 0
              : static_cast<uint32_t>(std::stoul(text.substr(at + 5, 8), nullptr, 16));
  }
  size_t digits = 1;
  while (digits < 8 && (cid >> (4 * digits)) != 0) ++digits;
  size_t end = start;
  while (end < bytes.size() && end < start + 10240 && bytes[end] != 0) ++end;
  size_t left = 0;
  while (end + 1 + left < bytes.size() && bytes[end + 1 + left] != 0) ++left;
  if (left > 0) digits += left + 1;
  return digits >= 8 ? 0x80000000u : uint32_t{1} << (4 * (digits - 1));
}

// The create hook's CID for a file qemu wrote with `writes`: none, and
// the CID is create's own.
uint32_t CreateCid(const std::vector<uint8_t>& bytes, const std::vector<GuestWrite>& writes) {
  return writes.empty() ? DescriptorCid(bytes) : CreateCidFor(bytes);
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
  testing::CreateOutcome made = testing::RunCreateHook(ImageFormat::kVmdk, "", 1 << 20, compat,
                                                       "t.vmdk", kNow, RandomWithCid(1));
  ASSERT_TRUE(made.status.ok());
  const std::vector<uint8_t> before = made.device.bytes();
  EXPECT_NE(testing::RunWriter(ImageFormat::kVmdk, made.device, compat, EntropyWithCid(2),
                               {{(1 << 20) - 1, 2, 0x1}}),
            "");
  EXPECT_EQ(made.device.bytes(), before);
}

// A streamOptimized image's grains as its tables name them, checked
// against qemu's layout: the grain tables and the redundant ones agree;
// each grain's marker names its own first sector and holds a zlib stream
// of the grain (the disk's last one may be short); the first grain is at
// grain_offset (where create left the file's end) and each next one at
// the sector after the previous stream; padding to that sector is zero;
// the file ends a grain of (zero) bytes after the last grain starts, or
// at the end of its stream, rounded up to a sector. Empty when all of it
// holds; `lbas` gets the grains' first sectors in file order.
std::string StreamLayout(const std::vector<uint8_t>& file, std::vector<uint64_t>* lbas) {
  lbas->clear();
  if (file.size() < 512 || LoadBE32(file.data()) != 0x4b444d56) return "not a KDMV file";
  const uint64_t capacity = LoadLE64(file.data() + 12);
  const uint64_t granularity = LoadLE64(file.data() + 20);
  const uint32_t gtes = LoadLE32(file.data() + 44);
  const uint64_t rgd = LoadLE64(file.data() + 48) * 512;
  const uint64_t gd = LoadLE64(file.data() + 56) * 512;
  const uint64_t grain_offset = LoadLE64(file.data() + 64);
  const bool zeroed_grains = (LoadLE32(file.data() + 8) & 4) != 0;
  if (granularity != 128 || gtes != 512) return "not qemu's grains";
  const uint64_t grain_bytes = granularity * 512;
  const uint64_t gd_entries = DivRoundUp(capacity, granularity * gtes);
  auto in_file = [&](uint64_t at, uint64_t n) {
    return at <= file.size() && n <= file.size() - at;
  };
  if (!in_file(gd, 4 * gd_entries) || !in_file(rgd, 4 * gd_entries)) return "directory past EOF";
  std::vector<std::pair<uint64_t, uint64_t>> grains;  // sector, lba
  for (uint64_t i = 0; i < gd_entries; ++i) {
    const uint64_t table = uint64_t{LoadLE32(file.data() + gd + 4 * i)} * 512;
    const uint64_t backup = uint64_t{LoadLE32(file.data() + rgd + 4 * i)} * 512;
    if (!in_file(table, 4 * gtes) || !in_file(backup, 4 * gtes)) return "grain table past EOF";
    for (uint64_t j = 0; j < gtes; ++j) {
      const uint32_t entry = LoadLE32(file.data() + table + 4 * j);
      if (entry != LoadLE32(file.data() + backup + 4 * j)) {
        return "grain table " + std::to_string(i) + " and its redundant copy differ";
      }
      if (entry == 0 || (zeroed_grains && entry == 1)) continue;
      grains.emplace_back(entry, (i * gtes + j) * granularity);
    }
  }
  std::sort(grains.begin(), grains.end());
  std::vector<uint8_t> grain(grain_bytes);
  uint64_t next = grain_offset;
  uint64_t end = grain_offset * 512;
  for (const auto& [sector, lba] : grains) {
    const std::string where = "grain of sector " + std::to_string(lba);
    if (sector != next) {
      return where + " at " + std::to_string(sector) + ", not " + std::to_string(next);
    }
    if (!in_file(sector * 512, 12)) return where + ": marker past EOF";
    const uint8_t* marker = file.data() + sector * 512;
    const uint32_t size = LoadLE32(marker + 8);
    if (LoadLE64(marker) != lba) return where + ": marker names sector " + std::to_string(lba);
    if (size == 0 || !in_file(sector * 512 + 12, size)) return where + ": bad stream size";
    const uint64_t want = std::min(grain_bytes, capacity * 512 - lba * 512);
    auto inflated = Uncompress(marker + 12, size, grain.data(), grain.size());
    if (!inflated.ok() || *inflated != want) return where + ": not a zlib stream of the grain";
    const uint64_t stream_end = sector * 512 + 12 + size;
    next = DivRoundUp(stream_end, 512);
    for (uint64_t at = stream_end; at < next * 512 && at < file.size(); ++at) {
      if (file[at] != 0) return where + ": padding not zero";
    }
    end = AlignUp(std::max(sector * 512 + grain_bytes, stream_end), 512);
    lbas->push_back(lba);
  }
  for (uint64_t at = next * 512; at < file.size(); ++at) {
    if (file[at] != 0) return "bytes after the last stream are not zero";
  }
  if (file.size() != end) {
    return "file of " + std::to_string(file.size()) + " bytes, not " + std::to_string(end);
  }
  return "";
}

// info --output=json without the file layer's "virtual-size" (10.0 and
// later list it under "children"): the file's length, which follows the
// length of each compressed grain.
std::string WithoutFileLength(std::string info) {
  const size_t children = info.find("\"children\"");
  const std::string key = "\"virtual-size\": ";
  const size_t at = info.find(key);
  if (children == std::string::npos || at == std::string::npos) return info;
  size_t end = at + key.size();
  while (end < info.size() && info[end] >= '0' && info[end] <= '9') ++end;
  return info.replace(at + key.size(), end - (at + key.size()), "0");
}

// Guest data for the convert tests: a deterministic generator's bytes
// (incompressible), text, zero grains and a partial last grain.
std::vector<uint8_t> Noise(uint64_t size, uint64_t seed) {
  std::vector<uint8_t> bytes(size);
  uint64_t state = seed;
  for (uint8_t& b : bytes) {
    state = state * 6364136223846793005u + 1442695040888963407u;
    b = static_cast<uint8_t>(state >> 56);
  }
  return bytes;
}

struct ConvertCase {
  const char* name;
  const char* options;  // besides the subformat
  std::vector<uint8_t> input;
};

std::vector<ConvertCase> ConvertCases() {
  constexpr uint64_t kGrain = 65536;
  std::vector<ConvertCase> cases;
  // A grain of noise, one of text, zero grains, a pattern, a short last
  // grain of three sectors.
  std::vector<uint8_t> mixed(3 * (1 << 20) + 1536, 0);
  const std::vector<uint8_t> noise = Noise(kGrain, 1);
  std::copy(noise.begin(), noise.end(), mixed.begin());
  const std::string text = "hello world, grain by grain. ";
  for (uint64_t i = 0; i < kGrain; ++i) mixed[kGrain + i] = text[i % text.size()];
  for (uint64_t i = 5 * kGrain; i < 6 * kGrain; ++i) mixed[i] = static_cast<uint8_t>(i * 7);
  for (uint64_t i = mixed.size() - 1000; i < mixed.size(); ++i) mixed[i] = 'x';
  cases.push_back({"mixed", "", mixed});
  cases.push_back({"mixed-zeroed-grain", "zeroed_grain=on", mixed});
  // Grains on both sides of the first grain table's end (32 MiB), and a
  // last grain of one sector.
  std::vector<uint8_t> tables((40 << 20) + 512, 0);
  for (uint64_t at : {uint64_t{0}, uint64_t{32 << 20} - kGrain, uint64_t{32 << 20},
                      uint64_t{40 << 20} - 3 * kGrain, uint64_t{40 << 20}}) {
    for (uint64_t i = 0; i < kGrain && at + i < tables.size(); i += 4096) tables[at + i] = 0x5a;
  }
  cases.push_back({"grain-tables", "", tables});
  // Every grain compresses to more than a grain: the streams run past
  // their grains' zeros, and the file's end needs convert's rounding.
  cases.push_back({"noise", "", Noise(1 << 20, 7)});
  cases.push_back({"one-sector", "", std::vector<uint8_t>(512, 0x42)});
  cases.push_back({"zeros", "", std::vector<uint8_t>(1 << 20, 0)});
  return cases;
}

// The CID of a descriptor file (monolithicFlat's, at offset 0).
uint32_t FlatDescriptorCid(const std::vector<uint8_t>& bytes) {
  const std::string text(bytes.begin(), bytes.end());
  const size_t at = text.find("\nCID=");
  if (at == std::string::npos) return 0;
  return static_cast<uint32_t>(std::stoul(text.substr(at + 5, 8), nullptr, 16));
}

// `qemu-img convert -O vmdk -o subformat=monolithicFlat` of each version of
// the matrix against the create hook and the writer given convert's
// writes: the descriptor file byte for byte (its new CID written back as
// each version writes it: 5.2 all 20 sectors, 7.2 and later to the file's
// end rounded up to a sector) and the extent byte for byte; both files
// pass qemu-img check and compare equal to the data.
TEST(VmdkWriteTest, MonolithicFlatConvertMatchesQemuOnEveryVersion) {
  const std::vector<QemuImgBinary> binaries = testing::MatrixQemuImgBinaries();
  ASSERT_FALSE(binaries.empty()) << "no qemu-img matrix";
  const std::vector<ConvertCase> cases = ConvertCases();
  for (const QemuImgBinary& qemu : binaries) {
    for (const ConvertCase& c : cases) {
      if (c.options[0] != '\0') continue;  // zeroed_grain: qemu refuses it for a flat disk
      SCOPED_TRACE(qemu.version_text + " convert to monolithicFlat of " + c.name);
      testing::ScratchDir dir;
      const std::string input = dir.File("in.raw");
      ASSERT_TRUE(testing::WriteSparseFile(input, c.input));
      const std::string theirs = dir.File("qemu.vmdk");
      std::string output;
      ASSERT_EQ(testing::QemuImgConvert(qemu, "vmdk", false, "subformat=monolithicFlat", input,
                                        theirs, &output),
                0)
          << output;
      const std::vector<uint8_t> expected = testing::ReadWholeFile(theirs);
      const std::vector<uint8_t> expected_extent =
          testing::ReadWholeFile(dir.File("qemu-flat.vmdk"));
      const std::vector<GuestWrite> writes = testing::CompressedConvertWrites(c.input, 65536);
      const uint32_t create_cid =
          writes.empty() ? FlatDescriptorCid(expected) : CreateCidFor(expected, 0);
      testing::CreateOutcome made =
          testing::RunCreateHook(ImageFormat::kVmdk, "subformat=monolithicFlat", c.input.size(),
                                 qemu.version, theirs, kNow, RandomWithCid(create_cid));
      ASSERT_TRUE(made.status.ok()) << made.status.message();
      ASSERT_EQ(testing::RunWriter(ImageFormat::kVmdk, made.device, qemu.version,
                                   EntropyWithCid(FlatDescriptorCid(expected)), writes),
                "");
      EXPECT_EQ(testing::FirstDifference(made.device.bytes(), expected, {}), "");
      testing::MemoryDevice* extent = made.device.sibling("qemu-flat.vmdk");
      ASSERT_NE(extent, nullptr);
      EXPECT_EQ(testing::FirstDifference(extent->bytes(), expected_extent, {}), "");

      // Our two files under the same names: qemu-img check and compare.
      testing::ScratchDir mine;
      const std::string ours = mine.File("qemu.vmdk");
      ASSERT_TRUE(testing::WriteSparseFile(ours, made.device.bytes()));
      ASSERT_TRUE(testing::WriteSparseFile(mine.File("qemu-flat.vmdk"), extent->bytes()));
      EXPECT_EQ(testing::QemuImgCheck(qemu, "vmdk", ours, &output), 0) << output;
      EXPECT_EQ(testing::QemuImgCompare(qemu, "raw", input, "vmdk", ours, &output), 0) << output;
    }
  }
}

// A flat extent is written as the guest's bytes at their offsets, and a
// write past the disk is refused; without a sibling output to write the
// extent to, the writer cannot open.
TEST(VmdkWriteTest, MonolithicFlatWritesInPlace) {
  const QemuVersion compat{11, 1, 3};
  testing::CreateOutcome made =
      testing::RunCreateHook(ImageFormat::kVmdk, "subformat=monolithicFlat", 1 << 20, compat,
                             "/x/t.vmdk", kNow, RandomWithCid(0x1234));
  ASSERT_TRUE(made.status.ok()) << made.status.message();
  const std::vector<uint8_t> data(3000, 0xab);
  std::vector<GuestWrite> writes = {{4096 + 7, data.size(), 0, &data, 0, false},
                                    {(1 << 20) - 512, 512, 0xcd, nullptr, 0, false}};
  ASSERT_EQ(
      testing::RunWriter(ImageFormat::kVmdk, made.device, compat, EntropyWithCid(0xbeef), writes),
      "");
  testing::MemoryDevice& extent = *made.device.sibling("t-flat.vmdk");
  ASSERT_EQ(extent.Size(), 1u << 20);
  EXPECT_EQ(extent.bytes()[4096 + 6], 0);
  EXPECT_EQ(extent.bytes()[4096 + 7], 0xab);
  EXPECT_EQ(extent.bytes()[4096 + 7 + 2999], 0xab);
  EXPECT_EQ(extent.bytes()[(1 << 20) - 1], 0xcd);
  const std::string text(made.device.bytes().begin(), made.device.bytes().end());
  EXPECT_NE(text.find("\nCID=beef\nparentCID=ffffffff\n"), std::string::npos);
  // 7.2 and later: the descriptor file to its end rounded up to a sector.
  EXPECT_EQ(made.device.Size(), 512u);
  writes = {{1 << 20, 1, 0xee, nullptr, 0, false}};
  EXPECT_NE(testing::RunWriter(ImageFormat::kVmdk, made.device, compat, EntropyWithCid(1), writes),
            "");
  testing::MemoryDevice alone(made.device.bytes());
  EXPECT_NE(testing::RunWriter(ImageFormat::kVmdk, alone, compat, EntropyWithCid(1), {}), "");
}

// twoGbMaxExtentSparse and twoGbMaxExtentFlat: qemu-io's writes (the
// system qemu) into qemu-img create's image, and the writer's over the
// create hook's, across the extents' boundaries (2 GiB) and out of order;
// the descriptor file and every extent file byte for byte. (A flat disk
// of several extents is the CLI test's: these devices live in memory.)
TEST(VmdkWriteTest, SplitSubformatsMatchQemuIoByteForByte) {
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty());
  const QemuImgBinary& qemu = binaries[0];  // the system qemu-img, qemu-io's version
  constexpr uint64_t k2G = uint64_t{1} << 31;
  const struct {
    const char* size;
    const char* options;
    std::vector<const char*> extents;
    std::vector<GuestWrite> writes;
  } kSplit[] = {
      {"5G",
       "subformat=twoGbMaxExtentSparse",
       {"qemu-s001.vmdk", "qemu-s002.vmdk", "qemu-s003.vmdk"},
       {{2 * k2G + 4097, 5000, 0x31},
        {k2G - 700, 70000, 0x32},
        {1000, 3000, 0x33},
        {k2G - 65536, 65536, 0x34},
        {(5ull << 30) - 512, 512, 0x35},
        {k2G + 10, 20, 0x36}}},
      {"2147484160",
       "subformat=twoGbMaxExtentSparse,zeroed_grain=on",
       {"qemu-s001.vmdk", "qemu-s002.vmdk"},
       {{k2G - 100, 612, 0x41}}},
      {"48M",
       "subformat=twoGbMaxExtentFlat",
       {"qemu-f001.vmdk"},
       {{(40 << 20) + 3, 70000, 0x51}, {0, 1, 0x52}}},
  };
  for (const auto& c : kSplit) {
    SCOPED_TRACE(std::string(c.size) + " -o '" + c.options + "'");
    testing::ScratchDir dir;
    const std::string theirs = dir.File("qemu.vmdk");
    std::string output;
    ASSERT_EQ(testing::QemuImgCreate(qemu, "vmdk", c.options, theirs, c.size, &output), 0)
        << output;
    const uint32_t create_cid = FlatDescriptorCid(testing::ReadWholeFile(theirs));
    ASSERT_EQ(testing::QemuIoWrites("vmdk", theirs, c.writes, &output), 0) << output;
    const std::vector<uint8_t> expected = testing::ReadWholeFile(theirs);

    const uint64_t size = testing::ParseSizeArgument(c.size, qemu.version);
    testing::CreateOutcome made = testing::RunCreateHook(
        ImageFormat::kVmdk, c.options, size, qemu.version, theirs, kNow, RandomWithCid(create_cid));
    ASSERT_TRUE(made.status.ok()) << made.status.message();
    ASSERT_EQ(testing::RunWriter(ImageFormat::kVmdk, made.device, qemu.version,
                                 EntropyWithCid(FlatDescriptorCid(expected)), c.writes),
              "");
    EXPECT_EQ(testing::FirstDifference(made.device.bytes(), expected, {}), "");
    testing::ScratchDir mine;
    for (const char* name : c.extents) {
      SCOPED_TRACE(name);
      testing::MemoryDevice* extent = made.device.sibling(name);
      ASSERT_NE(extent, nullptr);
      EXPECT_EQ(
          testing::FirstDifference(extent->bytes(), testing::ReadWholeFile(dir.File(name)), {}),
          "");
      ASSERT_TRUE(testing::WriteSparseFile(mine.File(name), extent->bytes()));
    }
    // Our files under the same names: qemu-img check, and compare with
    // qemu's.
    const std::string ours = mine.File("qemu.vmdk");
    ASSERT_TRUE(testing::WriteSparseFile(ours, made.device.bytes()));
    EXPECT_EQ(testing::QemuImgCheck(qemu, "vmdk", ours, &output), 0) << output;
    EXPECT_EQ(testing::QemuImgCompare(qemu, "vmdk", theirs, "vmdk", ours, &output), 0) << output;
  }
}

struct OverlayCase {
  const char* name;
  const char* options;  // the overlay's, beside its backing file
  const char* size;
  uint64_t base_size;
  std::vector<GuestWrite> base_writes;
  std::vector<testing::OverlayWrite> writes;
  std::vector<const char*> extents;  // the overlay's extent files, if any
};

// An image over a vmdk parent (what `qemu-img convert -B` writes): a new
// grain's bytes around the piece written are the parent's
// (get_whole_cluster), read at the grain's offset within its extent (so a
// split image's second extent reads the parent's start), zeros past the
// parent's end, zeros for a grain that was zeroed; write-zeroes marks
// whole grains zeroed with zeroed_grain=on and is written as zeros
// otherwise, as the block layer cuts it. Each case makes the parent with
// qemu-img and qemu-io, the overlay with `qemu-img create -b` and one
// qemu-io run of its writes; the writer, over qemu's empty overlay and the
// same parent, must leave the same files.
TEST(VmdkWriteTest, OverlayWritesMatchQemuIo) {
  constexpr uint64_t k2G = uint64_t{1} << 31;
  const std::vector<OverlayCase> cases = {
      {"cow-reads-the-parent",
       "",
       "4M",
       4 << 20,
       {{0, 2 << 20, 0x11}},
       {{1000, 2000, 0x21, false},
        {(1 << 20) + 70000, 100000, 0x22, false},
        {(3 << 20) + 5, 10, 0x23, false}},
       {}},
      {"past-the-parent-end",
       "",
       "8M",
       1 << 20,
       {{0, 1 << 20, 0x12}},
       {{(1 << 20) - 4096, 8192, 0x24, false}, {5 << 20, 4096, 0, true}},
       {}},
      {"zeroes-as-data",
       "",
       "4M",
       4 << 20,
       {{0, 4 << 20, 0x13}},
       {{4096, 8192, 0, true}, {65536, 131072, 0, true}, {300000, 400000, 0, true}},
       {}},
      {"zeroed-grains",
       "zeroed_grain=on",
       "4M",
       4 << 20,
       {{0, 4 << 20, 0x14}},
       {{65536, 196608, 0, true},
        {4096, 70000, 0, true},
        {65536 + 100, 50, 0x25, false},
        {(1 << 20) - 1000, (1 << 20) + 2000, 0, true}},
       {}},
      {"split-extents",
       "subformat=twoGbMaxExtentSparse",
       "3G",
       4 << 20,
       {{0, 4 << 20, 0x15}},
       {{k2G - 100, 200, 0x26, false}, {k2G + (1 << 20) + 7, 9, 0x27, false}},
       {"overlay-s001.vmdk", "overlay-s002.vmdk"}},
  };
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty());
  const QemuImgBinary& qemu = binaries[0];  // the system qemu-img, qemu-io's version
  testing::ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  for (const OverlayCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string base_path = dir.File("base.vmdk");
    const std::string path = dir.File("overlay.vmdk");
    std::remove(base_path.c_str());
    std::remove(path.c_str());
    for (const char* extent : c.extents) std::remove(dir.File(extent).c_str());
    std::string out;
    ASSERT_EQ(
        testing::QemuImgCreate(qemu, "vmdk", "", base_path, std::to_string(c.base_size), &out), 0)
        << out;
    ASSERT_EQ(testing::QemuIoWrites("vmdk", base_path, c.base_writes, &out), 0) << out;
    std::string options = "backing_file=base.vmdk,backing_fmt=vmdk";
    if (*c.options != '\0') options += std::string(",") + c.options;
    ASSERT_EQ(testing::QemuImgCreate(qemu, "vmdk", options, path, c.size, &out), 0) << out;
    testing::MemoryDevice overlay(testing::ReadWholeFile(path));
    for (const char* extent : c.extents) {
      overlay.AddSibling(extent).bytes() = testing::ReadWholeFile(dir.File(extent));
    }
    std::vector<std::string> argv = {testing::QemuIoFor(qemu), "-f", "vmdk"};
    for (const std::string& arg : testing::QemuIoOverlayCommands(c.writes)) argv.push_back(arg);
    argv.push_back(path);
    ASSERT_EQ(testing::RunProgram(argv, &out), 0) << out;
    const std::vector<uint8_t> expected = testing::ReadWholeFile(path);

    testing::MemoryDevice base(testing::ReadWholeFile(base_path));
    testing::MapOpener opener;
    opener.Add("base.vmdk", &base);
    for (const char* extent : c.extents) opener.Add(extent, overlay.sibling(extent));
    std::vector<uint8_t> buffer(32 << 20);
    Arena arena(buffer.data(), buffer.size());
    Result<ImageWriter*> writer = testing::OpenOverlayWriter(
        ImageFormat::kVmdk, overlay, opener, EntropyWithCid(FlatDescriptorCid(expected)),
        qemu.version, arena);
    ASSERT_TRUE(writer.ok()) << writer.status().message();
    ASSERT_EQ(testing::ApplyOverlayWrites(**writer, c.writes), "");
    ASSERT_TRUE((*writer)->Finish().ok());
    EXPECT_EQ(testing::FirstDifference(overlay.bytes(), expected, {}), "");
    for (const char* extent : c.extents) {
      SCOPED_TRACE(extent);
      EXPECT_EQ(testing::FirstDifference(overlay.sibling(extent)->bytes(),
                                         testing::ReadWholeFile(dir.File(extent)), {}),
                "");
    }
  }
}

// A parent whose CID is no longer the image's parentCID (written to after
// the overlay was made: qemu's first write gives it a new CID): qemu fails
// every write that allocates a grain (vmdk_is_cid_valid()), and the writer
// does not open.
TEST(VmdkWriteTest, RefusesAParentWhoseCidChanged) {
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty());
  const QemuImgBinary& qemu = binaries[0];
  testing::ScratchDir dir;
  const std::string base_path = dir.File("base.vmdk");
  const std::string path = dir.File("overlay.vmdk");
  std::string out;
  ASSERT_EQ(testing::QemuImgCreate(qemu, "vmdk", "", base_path, "1M", &out), 0) << out;
  ASSERT_EQ(testing::QemuImgCreate(qemu, "vmdk", "backing_file=base.vmdk,backing_fmt=vmdk", path,
                                   "1M", &out),
            0)
      << out;
  const std::vector<GuestWrite> base_writes = {{0, 512, 0x11}};
  ASSERT_EQ(testing::QemuIoWrites("vmdk", base_path, base_writes, &out), 0) << out;
  testing::MemoryDevice overlay(testing::ReadWholeFile(path));
  testing::MemoryDevice base(testing::ReadWholeFile(base_path));
  testing::MapOpener opener;
  opener.Add("base.vmdk", &base);
  std::vector<uint8_t> buffer(8 << 20);
  Arena arena(buffer.data(), buffer.size());
  Result<ImageWriter*> writer = testing::OpenOverlayWriter(ImageFormat::kVmdk, overlay, opener,
                                                           EntropyWithCid(1), qemu.version, arena);
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.status().code(), StatusCode::kNotSupported);
}

// `qemu-img convert -O vmdk -o subformat=streamOptimized` of each version
// of the matrix, against the writer over the create hook's image (and
// over that qemu-img's own create) given convert's writes.
TEST(VmdkWriteTest, StreamOptimizedConvertMatchesQemuOnEveryVersion) {
  const std::vector<QemuImgBinary> binaries = testing::MatrixQemuImgBinaries();
  ASSERT_FALSE(binaries.empty()) << "no qemu-img on PATH";
  testing::ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::vector<ConvertCase> cases = ConvertCases();
  for (const QemuImgBinary& qemu : binaries) {
    for (const ConvertCase& c : cases) {
      SCOPED_TRACE(qemu.version_text + " convert of " + c.name);
      std::string options = "subformat=streamOptimized";
      if (*c.options != '\0') options += std::string(",") + c.options;
      const std::string input = dir.File("in.raw");
      ASSERT_TRUE(testing::WriteSparseFile(input, c.input));
      const std::string theirs = dir.File("qemu.vmdk");
      std::string output;
      ASSERT_EQ(testing::QemuImgConvert(qemu, "vmdk", false, options, input, theirs, &output), 0)
          << output;
      const std::vector<uint8_t> expected = testing::ReadWholeFile(theirs);
      std::vector<uint64_t> their_lbas;
      ASSERT_EQ(StreamLayout(expected, &their_lbas), "");

      const std::vector<GuestWrite> writes = testing::CompressedConvertWrites(c.input, 65536);
      testing::CreateOutcome made =
          testing::RunCreateHook(ImageFormat::kVmdk, options, c.input.size(), qemu.version, theirs,
                                 kNow, RandomWithCid(CreateCid(expected, writes)));
      ASSERT_TRUE(made.status.ok()) << made.status.message();
      ASSERT_EQ(testing::RunWriter(ImageFormat::kVmdk, made.device, qemu.version,
                                   EntropyWithCid(DescriptorCid(expected)), writes),
                "");
      const std::vector<uint8_t>& ours = made.device.bytes();
      // The header and the descriptor, byte for byte; no grain, no
      // compressed byte: the whole file.
      if (writes.empty()) {
        EXPECT_EQ(testing::FirstDifference(ours, expected, {}), "");
      } else {
        const size_t head = 21 * 512;
        ASSERT_GE(ours.size(), head);
        EXPECT_EQ(testing::FirstDifference(
                      std::vector<uint8_t>(ours.begin(), ours.begin() + head),
                      std::vector<uint8_t>(expected.begin(), expected.begin() + head), {}),
                  "");
      }
      std::vector<uint64_t> our_lbas;
      EXPECT_EQ(StreamLayout(ours, &our_lbas), "");
      EXPECT_EQ(our_lbas, their_lbas);
      // The grains were deflated (the mixed data compresses well).
      if (std::string(c.name) == "mixed") {
        EXPECT_LT(ours.size(), 3 * 65536 + 65536 / 2);
      }
      EXPECT_EQ(testing::VerifyWritten(ImageFormat::kVmdk, made.device, qemu.version, writes), "");
      const std::string mine = dir.File("instar.vmdk");
      ASSERT_TRUE(testing::WriteSparseFile(mine, ours));
      for (const QemuImgBinary& other : binaries) {
        SCOPED_TRACE("checked by " + other.version_text);
        EXPECT_EQ(testing::QemuImgCheck(other, "vmdk", mine, &output), 0) << output;
        EXPECT_EQ(testing::QemuImgCompare(other, "raw", input, "vmdk", mine, &output), 0) << output;
      }
      const std::string info = testing::QemuImgInfoJson(qemu, mine);
      EXPECT_FALSE(info.empty());
      EXPECT_EQ(WithoutFileLength(info), WithoutFileLength(testing::QemuImgInfoJson(qemu, theirs)));

      // Over this qemu-img's own empty streamOptimized image.
      const std::string empty = dir.File("empty.vmdk");
      ASSERT_EQ(testing::QemuImgCreate(qemu, "vmdk", options, empty, std::to_string(c.input.size()),
                                       &output),
                0)
          << output;
      testing::MemoryDevice qemu_empty(testing::ReadWholeFile(empty));
      ASSERT_EQ(testing::RunWriter(ImageFormat::kVmdk, qemu_empty, qemu.version,
                                   EntropyWithCid(0x1234abcd), writes),
                "");
      EXPECT_EQ(StreamLayout(qemu_empty.bytes(), &our_lbas), "");
      EXPECT_EQ(our_lbas, their_lbas);
      ASSERT_TRUE(testing::WriteSparseFile(empty, qemu_empty.bytes()));
      EXPECT_EQ(testing::QemuImgCheck(qemu, "vmdk", empty, &output), 0) << output;
      EXPECT_EQ(testing::QemuImgCompare(qemu, "raw", input, "vmdk", empty, &output), 0) << output;
    }
  }
}

// `qemu-img convert -c -O vmdk`: a monolithicSparse target, whose
// compressed writes are ordinary writes; byte for byte.
TEST(VmdkWriteTest, CompressedConvertToMonolithicSparseMatchesByteForByte) {
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty()) << "no qemu-img on PATH";
  testing::ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::vector<ConvertCase> cases = ConvertCases();
  for (const QemuImgBinary& qemu : binaries) {
    for (const ConvertCase& c : cases) {
      SCOPED_TRACE(qemu.version_text + " convert -c of " + c.name);
      const std::string input = dir.File("in.raw");
      ASSERT_TRUE(testing::WriteSparseFile(input, c.input));
      const std::string theirs = dir.File("qemu.vmdk");
      std::string output;
      ASSERT_EQ(testing::QemuImgConvert(qemu, "vmdk", true, c.options, input, theirs, &output), 0)
          << output;
      const std::vector<uint8_t> expected = testing::ReadWholeFile(theirs);
      const std::vector<GuestWrite> writes = testing::CompressedConvertWrites(c.input, 65536);
      testing::CreateOutcome made =
          testing::RunCreateHook(ImageFormat::kVmdk, c.options, c.input.size(), qemu.version,
                                 theirs, kNow, RandomWithCid(CreateCid(expected, writes)));
      ASSERT_TRUE(made.status.ok()) << made.status.message();
      ASSERT_EQ(testing::RunWriter(ImageFormat::kVmdk, made.device, qemu.version,
                                   EntropyWithCid(DescriptorCid(expected)), writes),
                "");
      ExpectSameAsQemu(qemu, made.device, expected, writes, theirs, dir.File("instar.vmdk"));
    }
  }
}

// qemu-io's writes into a streamOptimized image: compressed and ordinary
// ones take the same path; out of order and several grains at once are
// fine; the disk's short last grain is whole.
TEST(VmdkWriteTest, QemuIoWritesIntoAStreamImage) {
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty());
  const QemuImgBinary& qemu = binaries[0];  // the system qemu-img, qemu-io's version
  testing::ScratchDir dir;
  const std::string theirs = dir.File("qemu.vmdk");
  std::string output;
  ASSERT_EQ(
      testing::QemuImgCreate(qemu, "vmdk", "subformat=streamOptimized", theirs, "1049088", &output),
      0)
      << output;
  testing::MemoryDevice ours(testing::ReadWholeFile(theirs));
  const std::vector<GuestWrite> writes = {{128 << 10, 64 << 10, 0x11, nullptr, 0, true},
                                          {0, 128 << 10, 0x22, nullptr, 0, true},
                                          {256 << 10, 64 << 10, 0x33},
                                          {1 << 20, 512, 0x44, nullptr, 0, true},
                                          {960 << 10, 64 << 10, 0x55, nullptr, 0, true}};
  ASSERT_EQ(testing::QemuIoWrites("vmdk", theirs, writes, &output), 0) << output;
  const std::vector<uint8_t> expected = testing::ReadWholeFile(theirs);
  ASSERT_EQ(testing::RunWriter(ImageFormat::kVmdk, ours, qemu.version,
                               EntropyWithCid(DescriptorCid(expected)), writes),
            "");
  std::vector<uint64_t> their_lbas, our_lbas;
  ASSERT_EQ(StreamLayout(expected, &their_lbas), "");
  EXPECT_EQ(StreamLayout(ours.bytes(), &our_lbas), "");
  EXPECT_EQ(our_lbas, their_lbas);
  EXPECT_EQ(testing::VerifyWritten(ImageFormat::kVmdk, ours, qemu.version, writes), "");
  const std::string mine = dir.File("instar.vmdk");
  ASSERT_TRUE(testing::WriteSparseFile(mine, ours.bytes()));
  EXPECT_EQ(testing::QemuImgCheck(qemu, "vmdk", mine, &output), 0) << output;
  EXPECT_EQ(testing::QemuImgCompare(qemu, "vmdk", theirs, "vmdk", mine, &output), 0) << output;
}

// What qemu refuses on a streamOptimized image, the writer refuses with
// qemu's words (held against what the system qemu-io prints for the same
// writes), and writes nothing for it.
TEST(VmdkWriteTest, StreamRefusalsAreQemus) {
  const QemuVersion compat{7, 2, 22};
  testing::CreateOutcome made =
      testing::RunCreateHook(ImageFormat::kVmdk, "subformat=streamOptimized", (1 << 20) + 512,
                             compat, "t.vmdk", kNow, RandomWithCid(1));
  ASSERT_TRUE(made.status.ok());
  std::vector<uint8_t> buffer(16 << 20);
  Arena arena(buffer.data(), buffer.size());
  testing::NoFilesOpener opener;
  OpenOptions open_options;
  open_options.compat = compat;
  const FormatDriver* driver = FindFormatDriver(ImageFormat::kVmdk);
  ASSERT_TRUE(driver->compressed_writes);
  auto image = driver->open(made.device, opener, arena, open_options);
  ASSERT_TRUE(image.ok());
  auto opened = driver->open_writer(**image, made.device, EntropyWithCid(2), compat, arena);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  ImageWriter& writer = **opened;
  EXPECT_TRUE(writer.NeedsCompressedWrites());
  const std::vector<uint8_t> grain(65536, 0x61);

  std::vector<uint8_t> before = made.device.bytes();
  const Status partial = writer.Write(0, grain.data(), 512);
  EXPECT_EQ(partial.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(partial.qemu_errno(), QemuErrno::kEINVAL);
  const Status unaligned = writer.WriteCompressed(512, grain.data(), grain.size());
  EXPECT_EQ(unaligned.qemu_errno(), QemuErrno::kEINVAL);
  EXPECT_EQ(made.device.bytes(), before);

  ASSERT_TRUE(writer.WriteCompressed(0, grain.data(), grain.size()).ok());
  ASSERT_TRUE(writer.WriteCompressed(1 << 20, grain.data(), 512).ok());
  before = made.device.bytes();
  const Status again = writer.Write(0, grain.data(), grain.size());
  EXPECT_EQ(again.code(), StatusCode::kIOError);
  EXPECT_EQ(again.qemu_errno(), QemuErrno::kEIO);
  const std::string said(again.text(), again.text_length());
  EXPECT_EQ(said, "Could not write to allocated cluster for streamOptimized");
  EXPECT_EQ(made.device.bytes(), before);
  ASSERT_TRUE(writer.Finish().ok());

  // qemu-io's words for the same three refusals.
  testing::ScratchDir dir;
  const std::string path = dir.File("q.vmdk");
  std::string output;
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty());
  ASSERT_EQ(testing::QemuImgCreate(binaries[0], "vmdk", "subformat=streamOptimized", path,
                                   "1049088", &output),
            0);
  EXPECT_NE(testing::QemuIoWrites("vmdk", path, {{0, 512, 0x61}}, &output), 0);
  EXPECT_NE(output.find(std::string("write failed: ") + QemuErrnoText(QemuErrno::kEINVAL)),
            std::string::npos)
      << output;
  EXPECT_NE(testing::QemuIoWrites("vmdk", path, {{512, 65536, 0x61, nullptr, 0, true}}, &output),
            0);
  EXPECT_NE(output.find(std::string("write failed: ") + QemuErrnoText(QemuErrno::kEINVAL)),
            std::string::npos)
      << output;
  EXPECT_NE(testing::QemuIoWrites("vmdk", path,
                                  {{0, 65536, 0x61, nullptr, 0, true}, {0, 65536, 0x61}}, &output),
            0);
  EXPECT_NE(output.find(said), std::string::npos) << output;
  EXPECT_NE(output.find(std::string("write failed: ") + QemuErrnoText(QemuErrno::kEIO)),
            std::string::npos)
      << output;
}

// A monolithicSparse image takes compressed writes as ordinary ones and
// needs none.
TEST(VmdkWriteTest, MonolithicSparseNeedsNoCompressedWrites) {
  const QemuVersion compat{7, 2, 22};
  testing::CreateOutcome made = testing::RunCreateHook(ImageFormat::kVmdk, "", 1 << 20, compat,
                                                       "t.vmdk", kNow, RandomWithCid(1));
  ASSERT_TRUE(made.status.ok());
  testing::CreateOutcome plain = testing::RunCreateHook(ImageFormat::kVmdk, "", 1 << 20, compat,
                                                        "t.vmdk", kNow, RandomWithCid(1));
  ASSERT_TRUE(plain.status.ok());
  ASSERT_EQ(testing::RunWriter(ImageFormat::kVmdk, made.device, compat, EntropyWithCid(2),
                               {{65536, 65536, 0x7, nullptr, 0, true}}),
            "");
  ASSERT_EQ(testing::RunWriter(ImageFormat::kVmdk, plain.device, compat, EntropyWithCid(2),
                               {{65536, 65536, 0x7}}),
            "");
  EXPECT_EQ(made.device.bytes(), plain.device.bytes());
  // Room for the writer's batch (1 MiB) and tables.
  std::vector<uint8_t> buffer(4 << 20);
  Arena arena(buffer.data(), buffer.size());
  testing::NoFilesOpener opener;
  OpenOptions open_options;
  open_options.compat = compat;
  const FormatDriver* driver = FindFormatDriver(ImageFormat::kVmdk);
  auto image = driver->open(made.device, opener, arena, open_options);
  ASSERT_TRUE(image.ok());
  auto writer = driver->open_writer(**image, made.device, EntropyWithCid(2), compat, arena);
  ASSERT_TRUE(writer.ok());
  EXPECT_FALSE((*writer)->NeedsCompressedWrites());
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
