// The vmdk writer against real qemu-img: each case is created by every
// qemu-img of testing/qemu_img.h and by the create hook with that version
// as compat. The only random field, the CID, is read from qemu's
// descriptor and handed to the hook as its random bytes, so the two files
// must be equal byte for byte with nothing masked. The image must open with
// the engine's reader at the size qemu-img info gives qemu's own image,
// pass the engine's check and qemu-img check, and for the create-info-json
// cases qemu-img info of it must print that version's baseline.
#include "vmdk/vmdk_create.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "instar/engine/bytes.h"
#include "testing/corpus.h"
#include "testing/create_fuzz.h"
#include "testing/create_hook.h"
#include "testing/memory_device.h"
#include "testing/qemu_img.h"
#include "testing/sparse_device.h"

namespace instar {
namespace {

using testing::CreateOutcome;
using testing::QemuImgBinaries;
using testing::QemuImgBinary;

constexpr uint64_t kNow = 1796000000;

struct VmdkCase {
  const char* name;  // the create-info-json case, or "" for an edge case
  const char* size;
  const char* options;
};

const VmdkCase kCases[] = {
    // cases/create.json, target vmdk.
    {"1M-default", "1M", ""},
    {"64M-default", "64M", ""},
    {"1G-default", "1G", ""},
    {"1G-stream-optimized", "1G", "subformat=streamOptimized"},
    {"1G-monolithic-sparse", "1G", "subformat=monolithicSparse"},
    // Edge sizes (below a sector, not a multiple of a sector or a grain,
    // more than one sector of directory) and every option of the two
    // subformats.
    {"", "1", ""},
    {"", "1000", ""},
    {"", "3000001", ""},
    {"", "300G", ""},
    {"", "5G", "zeroed_grain=on"},
    {"", "5G", "subformat=streamOptimized,zeroed_grain=on"},
    {"", "5G", "adapter_type=lsilogic"},
    {"", "5G", "adapter_type=buslogic,compat6=on"},
    {"", "5G", "adapter_type=legacyESX,hwversion=11"},
    {"", "5G", "hwversion=undefined"},
    {"", "5G", "toolsversion=10309"},
};

// The CID qemu printed (%x) in the descriptor at sector 1.
uint32_t DescriptorCid(const std::vector<uint8_t>& bytes) {
  const std::string text(bytes.begin() + 512,
                         bytes.begin() + std::min<size_t>(bytes.size(), 10752));
  const size_t at = text.find("\nCID=");
  if (at == std::string::npos) return 0;
  return static_cast<uint32_t>(std::stoul(text.substr(at + 5, 8), nullptr, 16));
}

std::vector<uint8_t> RandomWithCid(uint32_t cid) {
  std::vector<uint8_t> random(64, 0x77);
  StoreLE32(random.data(), cid);
  return random;
}

// Runs qemu-img create and the hook for one case. When qemu-img fails, the
// hook must fail with its words; otherwise the files must be equal.
void CompareCase(const QemuImgBinary& qemu, const VmdkCase& c, const testing::ScratchDir& dir) {
  const std::string theirs = dir.File("qemu.vmdk");
  const std::string ours = dir.File("instar.vmdk");
  std::string output;
  const int status = testing::QemuImgCreate(qemu, "vmdk", c.options, theirs, c.size, &output);
  const uint64_t size = testing::ParseSizeArgument(c.size, qemu.version);
  if (status != 0) {
    // An option this release does not have (toolsversion in 5.2).
    CreateOutcome made = testing::RunCreateHook(ImageFormat::kVmdk, c.options, size, qemu.version,
                                                ours, kNow, RandomWithCid(1));
    EXPECT_FALSE(made.status.ok());
    // The first line: measure's parser adds 5.2's "Invalid options for
    // file format 'vmdk'" after an unknown key, which 5.2's create does
    // not print (the create command's business, not the hook's).
    const std::string words = testing::WithoutPath(output, theirs);
    const std::string first_line = made.error_text.substr(0, made.error_text.find('\n') + 1);
    EXPECT_EQ(words, first_line);
    return;
  }
  const std::vector<uint8_t> expected = testing::ReadWholeFile(theirs);
  const uint32_t cid = DescriptorCid(expected);
  // The target name as qemu-img got it: the descriptor names its base.
  CreateOutcome made = testing::RunCreateHook(ImageFormat::kVmdk, c.options, size, qemu.version,
                                              theirs, kNow, RandomWithCid(cid));
  ASSERT_TRUE(made.status.ok()) << made.status.message() << " " << made.error_text;
  const std::vector<uint8_t>& bytes = made.device.bytes();
  EXPECT_EQ(testing::FirstDifference(bytes, expected, {}), "");

  const int64_t qemu_size = testing::QemuImgVirtualSize(qemu, "vmdk", theirs);
  ASSERT_GE(qemu_size, 0);
  const testing::ReopenedImage reopened =
      testing::Reopen(ImageFormat::kVmdk, made.device, qemu.version);
  ASSERT_EQ(reopened.failure, "");
  EXPECT_EQ(reopened.virtual_size, static_cast<uint64_t>(qemu_size));
  ASSERT_TRUE(reopened.checked);
  EXPECT_EQ(reopened.check.corruptions, 0u);
  EXPECT_EQ(reopened.check.leaks, 0u);
  EXPECT_EQ(reopened.check.check_errors, 0u);

  // Our image under our own name: qemu-img info and check accept it.
  CreateOutcome named = testing::RunCreateHook(ImageFormat::kVmdk, c.options, size, qemu.version,
                                               ours, kNow, RandomWithCid(cid));
  ASSERT_TRUE(named.status.ok());
  ASSERT_TRUE(testing::WriteSparseFile(ours, named.device.bytes()));
  EXPECT_EQ(testing::QemuImgVirtualSize(qemu, "vmdk", ours), qemu_size);
  EXPECT_EQ(testing::QemuImgCheck(qemu, "vmdk", ours, &output), 0) << output;
  // qemu-img info prints the same for our image as for its own.
  const std::string info = testing::QemuImgInfoJson(qemu, ours);
  EXPECT_FALSE(info.empty());
  EXPECT_EQ(info, testing::QemuImgInfoJson(qemu, theirs));
  if (const std::string want = testing::CreateBaselineInfo("vmdk", qemu.version_text, c.name);
      !want.empty()) {
    std::string got = info;
    // The baseline's CID went through the harness's vmdk cid filter.
    const std::string key = "\"cid\": ";
    const size_t at = got.find(key);
    ASSERT_NE(at, std::string::npos);
    size_t end = at + key.size();
    while (end < got.size() && got[end] >= '0' && got[end] <= '9') ++end;
    got.replace(at + key.size(), end - (at + key.size()), "\"$CID\"");
    EXPECT_EQ(got, want);
  }
}

TEST(VmdkCreateTest, EveryCaseMatchesQemuImgByteForByte) {
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty()) << "no qemu-img on PATH";
  testing::ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  for (const QemuImgBinary& qemu : binaries) {
    for (const VmdkCase& c : kCases) {
      SCOPED_TRACE(qemu.version_text + " " + c.size + " -o '" + c.options + "'");
      CompareCase(qemu, c, dir);
    }
  }
}

// The CID is the first four random bytes, printed as qemu's %x prints it.
TEST(VmdkCreateTest, CidFromRandomBytes) {
  for (uint32_t cid : {0u, 0xau, 0x0badf00du, 0xffffffffu}) {
    CreateOutcome made = testing::RunCreateHook(
        ImageFormat::kVmdk, "", 1 << 20, QemuVersion{11, 1, 3}, "t.vmdk", kNow, RandomWithCid(cid));
    ASSERT_TRUE(made.status.ok());
    char line[32];
    std::snprintf(line, sizeof(line), "\nCID=%x\n", cid);
    const std::vector<uint8_t>& bytes = made.device.bytes();
    EXPECT_NE(std::string(bytes.begin() + 512, bytes.begin() + 1024).find(line), std::string::npos)
        << line;
  }
}

// Disks whose directories are large (100 TiB: 25 MiB each) or whose
// uint32_t grain count wraps (257 TiB, which qemu creates and accepts with
// tables far too small): written through a sparse device, equal to
// qemu-img's file wherever either holds data.
TEST(VmdkCreateTest, LargeDisksMatchQemuImg) {
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty());
  testing::ScratchDir dir;
  for (const QemuImgBinary& qemu : binaries) {
    for (const char* size_text : {"100T", "257T"}) {
      SCOPED_TRACE(qemu.version_text + " " + size_text);
      const std::string theirs = dir.File("qemu.vmdk");
      std::string output;
      ASSERT_EQ(testing::QemuImgCreate(qemu, "vmdk", "", theirs, size_text, &output), 0) << output;
      const uint64_t file_size = testing::FileSize(theirs);
      const std::vector<uint8_t> head = testing::ReadWholeFile(theirs, 65536);
      const uint32_t cid = DescriptorCid(head);

      std::vector<uint8_t> buffer(1 << 20);
      Arena arena(buffer.data(), buffer.size());
      ParsedMeasureOptions parsed;
      MeasureError error;
      ASSERT_TRUE(
          ParseMeasureOptions(ImageFormat::kVmdk, "", 0, qemu.version, arena, &parsed, &error)
              .ok());
      CreateRequest request;
      request.options = &parsed;
      request.size = testing::ParseSizeArgument(size_text, qemu.version);
      request.target_name = MeasureText{theirs.data(), theirs.size()};
      const std::vector<uint8_t> random = RandomWithCid(cid);
      std::copy(random.begin(), random.end(), request.random);
      testing::SparseDevice device;
      ASSERT_TRUE(vmdk::CreateVmdk(request, device, qemu.version, arena, &error).ok());
      ASSERT_EQ(device.Size(), file_size);

      // Every data range of qemu's file, and every page the hook wrote.
      FILE* file = std::fopen(theirs.c_str(), "rb");
      ASSERT_NE(file, nullptr);
      const int fd = ::fileno(file);
      std::vector<uint8_t> want;
      std::vector<uint8_t> got;
      for (off_t at = ::lseek(fd, 0, SEEK_DATA); at >= 0 && static_cast<uint64_t>(at) < file_size;
           at = ::lseek(fd, at, SEEK_DATA)) {
        const off_t end = ::lseek(fd, at, SEEK_HOLE);
        want.resize(static_cast<size_t>(end - at));
        got.resize(want.size());
        ASSERT_EQ(::pread(fd, want.data(), want.size(), at), static_cast<ssize_t>(want.size()));
        ASSERT_TRUE(device.Read(static_cast<uint64_t>(at), got.data(), got.size()).ok());
        EXPECT_EQ(testing::FirstDifference(got, want, {}), "") << "in qemu's data at " << at;
        at = end;
      }
      std::fclose(file);
      std::FILE* again = std::fopen(theirs.c_str(), "rb");
      ASSERT_NE(again, nullptr);
      uint64_t at = 0;
      while (true) {
        const Result<uint64_t> data = device.SeekData(at);
        ASSERT_TRUE(data.ok());
        if (*data == BlockDevice::kNoData) break;
        const uint64_t end = *device.SeekHole(*data);
        got.resize(static_cast<size_t>(end - *data));
        want.resize(got.size());
        ASSERT_TRUE(device.Read(*data, got.data(), got.size()).ok());
        ASSERT_EQ(::pread(::fileno(again), want.data(), want.size(), static_cast<off_t>(*data)),
                  static_cast<ssize_t>(want.size()));
        EXPECT_EQ(testing::FirstDifference(got, want, {}), "") << "in our data at " << *data;
        at = end;
      }
      std::fclose(again);
      const int64_t qemu_size = testing::QemuImgVirtualSize(qemu, "vmdk", theirs);
      // Without the check, which would walk millions of grain tables.
      const testing::ReopenedImage reopened =
          testing::Reopen(ImageFormat::kVmdk, device, qemu.version, false);
      ASSERT_EQ(reopened.failure, "");
      EXPECT_EQ(reopened.virtual_size, static_cast<uint64_t>(qemu_size));
    }
  }
}

// qemu's quirks (vmdk_create.h QemuRefusesCreatedImage): an empty disk,
// and one of more than 2^25 grain directory entries (past 1 PiB, up to
// where the count wraps), are created, and refused by qemu's open and by
// the engine's reader alike.
TEST(VmdkCreateTest, KeepsQemusEmptyImageThatQemuCannotOpen) {
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty());
  testing::ScratchDir dir;
  for (const QemuImgBinary& qemu : binaries) {
    const struct {
      const char* options;
      const char* size;
    } kQemuRefuses[] = {{"", "0"}, {"subformat=streamOptimized", "0"}, {"", "2P"}};
    for (const auto& c : kQemuRefuses) {
      const char* options = c.options;
      SCOPED_TRACE(qemu.version_text + " " + options + " " + c.size);
      const std::string theirs = dir.File("qemu.vmdk");
      std::string output;
      ASSERT_EQ(testing::QemuImgCreate(qemu, "vmdk", options, theirs, c.size, &output), 0)
          << output;
      EXPECT_LT(testing::QemuImgVirtualSize(qemu, "vmdk", theirs), 0);
      const std::vector<uint8_t> expected = testing::ReadWholeFile(theirs);
      const uint64_t size = testing::ParseSizeArgument(c.size, qemu.version);
      CreateOutcome made =
          testing::RunCreateHook(ImageFormat::kVmdk, options, size, qemu.version, theirs, kNow,
                                 RandomWithCid(DescriptorCid(expected)));
      ASSERT_TRUE(made.status.ok());
      EXPECT_EQ(testing::FirstDifference(made.device.bytes(), expected, {}), "");
      std::vector<uint8_t> buffer(1 << 16);
      Arena arena(buffer.data(), buffer.size());
      ParsedMeasureOptions parsed;
      MeasureError error;
      ASSERT_TRUE(ParseMeasureOptions(ImageFormat::kVmdk, options, std::strlen(options),
                                      qemu.version, arena, &parsed, &error)
                      .ok());
      EXPECT_TRUE(vmdk::QemuRefusesCreatedImage(parsed, size));
      EXPECT_NE(testing::Reopen(ImageFormat::kVmdk, made.device, qemu.version).failure, "");
    }
  }
}

// What qemu-img refuses, the hook refuses with the same words; backing
// files, and a split image of more files than the host makes, are
// instar's own NotSupported.
TEST(VmdkCreateTest, Refusals) {
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty());
  testing::ScratchDir dir;
  const struct {
    const char* options;
  } kRefused[] = {
      {"adapter_type=scsi"},
      {"subformat=sparse"},
      {"compat6=on,hwversion=7"},
      {"subformat=monolithicFlat,zeroed_grain=on"},
  };
  for (const QemuImgBinary& qemu : binaries) {
    for (const auto& c : kRefused) {
      SCOPED_TRACE(qemu.version_text + " " + c.options);
      std::string output;
      EXPECT_NE(testing::QemuImgCreate(qemu, "vmdk", c.options, dir.File("t.vmdk"), "1G", &output),
                0);
      CreateOutcome made = testing::RunCreateHook(ImageFormat::kVmdk, c.options, 1 << 30,
                                                  qemu.version, "t.vmdk", kNow, RandomWithCid(1));
      EXPECT_FALSE(made.status.ok());
      EXPECT_TRUE(made.device.bytes().empty());
      EXPECT_EQ(made.error_text, testing::WithoutPath(output, dir.File("t.vmdk")));
    }
  }
  const struct {
    const char* options;
    uint64_t size;
  } kNotSupported[] = {
      {"backing_file=base.vmdk", uint64_t{1} << 30},
      {"subformat=twoGbMaxExtentSparse", (uint64_t{512} << 30) + 512},
      {"subformat=twoGbMaxExtentFlat", uint64_t{1} << 40},
  };
  for (const auto& c : kNotSupported) {
    SCOPED_TRACE(c.options);
    CreateOutcome made =
        testing::RunCreateHook(ImageFormat::kVmdk, c.options, c.size, QemuVersion{11, 1, 3},
                               "t.vmdk", kNow, RandomWithCid(1));
    EXPECT_EQ(made.status.code(), StatusCode::kNotSupported);
    EXPECT_EQ(made.error.kind, MeasureErrorKind::kNotSupported);
    EXPECT_TRUE(made.device.bytes().empty());
  }
}

// The CID of a descriptor file (monolithicFlat's, at offset 0).
uint32_t FlatDescriptorCid(const std::vector<uint8_t>& bytes) {
  const std::string text(bytes.begin(), bytes.end());
  const size_t at = text.find("\nCID=");
  if (at == std::string::npos) return 0;
  return static_cast<uint32_t>(std::stoul(text.substr(at + 5, 8), nullptr, 16));
}

struct DescribedCase {
  const char* size;
  const char* options;
  const char* target;                // the file name qemu-img gets, in the scratch directory
  std::vector<const char*> extents;  // the extent files beside it, as qemu made them
};

// monolithicFlat, twoGbMaxExtentSparse and twoGbMaxExtentFlat: qemu-img
// create of every version makes the descriptor and the extent files beside
// it; the hook writes the same descriptor to the device and the same
// extents to the sibling outputs the host made under the names the driver
// gave it (sibling_outputs), byte for byte. A sparse extent is compared
// whole; a flat one (zeros) by its first MiB and its allocation: its first
// block written (qemu's allocate_first_block), the rest a hole. (A flat
// disk of several extents is the CLI test's: these devices live in memory.)
TEST(VmdkCreateTest, DescribedSubformatsMatchQemuImgByteForByte) {
  const std::vector<QemuImgBinary> binaries = QemuImgBinaries();
  ASSERT_FALSE(binaries.empty());
  const DescribedCase kDescribed[] = {
      {"1M", "subformat=monolithicFlat", "disk.vmdk", {"disk-flat.vmdk"}},
      {"64M", "subformat=monolithicFlat,adapter_type=lsilogic", "disk.vmdk", {"disk-flat.vmdk"}},
      {"1000", "subformat=monolithicFlat", "disk", {"disk-flat"}},
      {"3000001", "subformat=monolithicFlat,hwversion=11", "a.b.c", {"a.b-flat.c"}},
      {"100M",
       "subformat=monolithicFlat,compat6=on,adapter_type=buslogic",
       "d.vmdk",
       {"d-flat.vmdk"}},
      {"0", "subformat=monolithicFlat", "empty.vmdk", {}},
      {"5G",
       "subformat=twoGbMaxExtentSparse",
       "disk.vmdk",
       {"disk-s001.vmdk", "disk-s002.vmdk", "disk-s003.vmdk"}},
      {"2G",
       "subformat=twoGbMaxExtentSparse,zeroed_grain=on,adapter_type=lsilogic",
       "two",
       {"two-s001"}},
      {"2147484160",
       "subformat=twoGbMaxExtentSparse,hwversion=11",
       "a.b.c",
       {"a.b-s001.c", "a.b-s002.c"}},
      {"1000", "subformat=twoGbMaxExtentSparse", "small.vmdk", {"small-s001.vmdk"}},
      {"0", "subformat=twoGbMaxExtentSparse", "empty.vmdk", {}},
      {"64M", "subformat=twoGbMaxExtentFlat,compat6=on", "flat.vmdk", {"flat-f001.vmdk"}},
      {"0", "subformat=twoGbMaxExtentFlat", "empty.vmdk", {}},
  };
  for (const QemuImgBinary& qemu : binaries) {
    for (const DescribedCase& c : kDescribed) {
      SCOPED_TRACE(qemu.version_text + " " + c.size + " -o " + c.options + " " + c.target);
      testing::ScratchDir dir;
      const std::string theirs = dir.File(c.target);
      std::string output;
      ASSERT_EQ(testing::QemuImgCreate(qemu, "vmdk", c.options, theirs, c.size, &output), 0)
          << output;
      const std::vector<uint8_t> descriptor = testing::ReadWholeFile(theirs);
      const uint64_t size = testing::ParseSizeArgument(c.size, qemu.version);
      CreateOutcome made =
          testing::RunCreateHook(ImageFormat::kVmdk, c.options, size, qemu.version, theirs, kNow,
                                 RandomWithCid(FlatDescriptorCid(descriptor)));
      ASSERT_TRUE(made.status.ok()) << made.status.message() << " " << made.error_text;
      EXPECT_EQ(testing::FirstDifference(made.device.bytes(), descriptor, {}), "");
      // The host made the siblings the driver named, and the hook used
      // every one.
      ASSERT_EQ(made.device.siblings().size(), c.extents.size());
      for (const char* name : c.extents) {
        SCOPED_TRACE(name);
        ASSERT_NE(made.device.sibling(name), nullptr);
        EXPECT_TRUE(made.device.SiblingOpened(name));
        testing::MemoryDevice& extent = *made.device.sibling(name);
        const std::string extent_path = dir.File(name);
        ASSERT_EQ(extent.Size(), testing::FileSize(extent_path));
        if (std::strstr(c.options, "Sparse") != nullptr) {
          EXPECT_EQ(
              testing::FirstDifference(extent.bytes(), testing::ReadWholeFile(extent_path), {}),
              "");
          continue;
        }
        const std::vector<uint8_t> head = testing::ReadWholeFile(extent_path, 1 << 20);
        std::vector<uint8_t> ours(head.size());
        ASSERT_TRUE(extent.Read(0, ours.data(), ours.size()).ok());
        EXPECT_EQ(testing::FirstDifference(ours, head, {}), "");
        EXPECT_EQ(*extent.SeekData(0), 0u);
        EXPECT_EQ(*extent.SeekHole(0),
                  std::min<uint64_t>(extent.Size() < 4096 ? 512 : 4096, extent.Size()));
      }
      // Nothing else beside the target.
      size_t files = 0;
      for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        (void)entry;
        ++files;
      }
      EXPECT_EQ(files, 1 + c.extents.size());
    }
  }
}

// An extent's name is qemu's filename_decompose() of the target: the
// directory up to the last '/' (else '\\', else ':'), the base up to its
// last '.', "-flat" (or "-s001" ..., "-f001" ... for the split
// subformats), the rest; the base name of that, in the target's
// directory. Nothing for the single-file subformats.
TEST(VmdkCreateTest, ExtentNames) {
  const struct {
    const char* target;
    const char* extent;
  } kNames[] = {
      {"disk.vmdk", "disk-flat.vmdk"},   {"/a/b.c/disk", "disk-flat"},
      {"dir/x.y.vmdk", "x.y-flat.vmdk"}, {"dir/.vmdk", "-flat.vmdk"},
      {"a\\b.vmdk", "a\\b-flat.vmdk"},   {"c:d.vmdk", "c:d-flat.vmdk"},
      {"/x/c:d.e", "c:d-flat.e"},
  };
  std::vector<uint8_t> buffer(1 << 16);
  const auto names_of = [&buffer](const char* options, const char* target, uint64_t size) {
    Arena arena(buffer.data(), buffer.size());
    ParsedMeasureOptions parsed;
    MeasureError error;
    EXPECT_TRUE(ParseMeasureOptions(ImageFormat::kVmdk, options, std::strlen(options),
                                    QemuVersion{11, 1, 3}, arena, &parsed, &error)
                    .ok());
    std::vector<SiblingName> names(kMaxSiblingOutputs);
    const size_t count = vmdk::VmdkSiblingOutputs(parsed, MeasureText{target, std::strlen(target)},
                                                  size, names.data(), names.size());
    std::vector<std::string> out;
    for (size_t i = 0; i < count && i < names.size(); ++i) {
      out.emplace_back(names[i].text, names[i].length);
    }
    return std::make_pair(count, out);
  };
  for (const auto& n : kNames) {
    SCOPED_TRACE(n.target);
    EXPECT_EQ(names_of("subformat=monolithicFlat", n.target, 1 << 20).second,
              std::vector<std::string>{n.extent});
    // What measure sums for the descriptor's line is that name's length.
    EXPECT_EQ(vmdk::ExtentFileNameLength(MeasureText{n.target, std::strlen(n.target)}, 5),
              std::strlen(n.extent));
  }
  EXPECT_EQ(names_of("subformat=monolithicFlat", "d.vmdk", 0).first, 0u);
  // One file per 2 GiB, the last one for the rest; the number in at least
  // three digits.
  constexpr uint64_t k2G = uint64_t{1} << 31;
  EXPECT_EQ(names_of("subformat=twoGbMaxExtentSparse", "dir/d.vmdk", 2 * k2G + 1).second,
            (std::vector<std::string>{"d-s001.vmdk", "d-s002.vmdk", "d-s003.vmdk"}));
  EXPECT_EQ(names_of("subformat=twoGbMaxExtentFlat", "d", k2G).second,
            std::vector<std::string>{"d-f001"});
  const auto many = names_of("subformat=twoGbMaxExtentFlat", "d.e", 256 * k2G);
  ASSERT_EQ(many.first, 256u);
  EXPECT_EQ(many.second[9], "d-f010.e");
  EXPECT_EQ(many.second[99], "d-f100.e");
  EXPECT_EQ(many.second[255], "d-f256.e");
  // More than the host makes: the count, and the hook refuses the disk.
  EXPECT_EQ(names_of("subformat=twoGbMaxExtentSparse", "d", 256 * k2G + 512).first, 257u);
  for (const char* options : {"", "subformat=streamOptimized", "subformat=monolithicSparse",
                              "subformat=monolithicFlat,zeroed_grain=on", "subformat=bad"}) {
    EXPECT_EQ(names_of(options, "d.vmdk", 1 << 30).first, 0u) << options;
  }
}

// With -n the host opens the extent files of every subformat that exist
// beside the image: the driver names them all, monolithicFlat's first,
// each split series' files after the first to be looked for only when the
// one before is there.
TEST(VmdkCreateTest, ExtentNamesInPlace) {
  std::vector<SiblingName> names(9);
  ASSERT_EQ(vmdk::VmdkSiblingsInPlace(MeasureText{"/d/x.vmdk", 9}, names.data(), names.size()), 9u);
  std::vector<std::string> got;
  for (const SiblingName& name : names) got.emplace_back(name.text, name.length);
  EXPECT_EQ(got, (std::vector<std::string>{"x-flat.vmdk", "x-s001.vmdk", "x-s002.vmdk",
                                           "x-s003.vmdk", "x-s004.vmdk", "x-f001.vmdk",
                                           "x-f002.vmdk", "x-f003.vmdk", "x-f004.vmdk"}));
  std::vector<bool> follows;
  for (const SiblingName& name : names) follows.push_back(name.follows);
  EXPECT_EQ(follows, (std::vector<bool>{false, false, true, true, true, false, true, true, true}));
}

// The fuzzer's body (vmdk_create_fuzz.cc) over a fixed sample: every image
// made reopens at no less than the size asked and passes the check.
TEST(VmdkCreateTest, FuzzBodyHoldsOnASample) {
  const std::vector<const char*> words = {"subformat=streamOptimized",
                                          "subformat=monolithicSparse",
                                          "zeroed_grain=on",
                                          "adapter_type=lsilogic",
                                          "hwversion=11",
                                          "compat6=on",
                                          "toolsversion=1",
                                          "subformat=monolithicFlat"};
  size_t created = 0;
  for (const std::vector<uint8_t>& input : testing::SampleCreateFuzzInputs(words, 300, 3)) {
    bool made = false;
    const char* failure =
        testing::RunCreateFuzzInput(ImageFormat::kVmdk, "fuzz.vmdk", 9, input.data(), input.size(),
                                    vmdk::QemuRefusesCreatedImage, &made);
    EXPECT_EQ(failure, nullptr) << failure;
    created += made ? 1 : 0;
  }
  // The sample reaches the writer, not only the option parser's refusals.
  EXPECT_GT(created, 300 / 10);
}

}  // namespace
}  // namespace instar
