// Block status of every corpus qcow2 image and fixture, walked the way `qemu-img map`
// walks it, against what the matrix printed. The expected outputs live in
// testdata/map/<image>.<layout>.<version>.json and were made by
// testdata/regenerate.sh, i.e. for each image and version:
//   qemu-img map -f qcow2 --output=json <image>
// on a fully allocated copy ("dense", cp --sparse=never) and on a copy whose
// all-zero 4 KiB blocks are holes ("sparse", cp --sparse=always); the overlay
// qcow2-backing is mapped alone with
//   qemu-img map --output=json 'json:{"driver":"qcow2","file":{"driver":"file",
//       "filename":"qcow2-backing.qcow2"},"backing":null}'
// 5.2.0, 7.2.22 and 10.0.13 stand for the three output profiles of the
// matrix (7.2.18 prints what 7.2.22 does; 10.0.2 and 11.1.x what 10.0.13
// does).
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "qcow2/qcow2_test_util.h"

namespace instar {
namespace {

using qcow2_testing::MapEntry;
using testing::MapOpener;
using testing::MemoryDevice;

const char* const kImages[] = {
    "qcow2-backing",  "qcow2-bitmap",   "qcow2-compressed", "qcow2-empty",   "qcow2-extl2",
    "qcow2-lazy-rb1", "qcow2-snapshot", "qcow2-v2",         "qcow2-v3-256k", "qcow2-v3-4k",
    "qcow2-v3-512",   "qcow2-v3-64k",   "qcow2-zero",       "qcow2-zstd",
};
// Fixtures of testdata/make-fixtures.sh: external data files (raw and not)
// and a metadata-preallocated image.
const char* const kFixtures[] = {"datafile", "datafile2", "prealloc"};
const char* const kVersions[] = {"5.2.0", "7.2.22", "10.0.13"};

struct MapCase {
  std::string image;
  std::string layout;
  std::string version;
  bool fixture;
};

void PrintTo(const MapCase& c, std::ostream* os) {
  *os << c.image << " " << c.layout << " " << c.version;
}

std::string CaseName(const ::testing::TestParamInfo<MapCase>& param_info) {
  return qcow2_testing::ParamName(param_info.param.image + "_" + param_info.param.layout + "_" +
                                  param_info.param.version);
}

std::vector<MapCase> AllCases() {
  std::vector<MapCase> cases;
  for (const char* image : kImages) {
    for (const char* layout : {"dense", "sparse"}) {
      for (const char* version : kVersions) cases.push_back({image, layout, version, false});
    }
  }
  for (const char* image : kFixtures) {
    for (const char* layout : {"dense", "sparse"}) {
      for (const char* version : kVersions) cases.push_back({image, layout, version, true});
    }
  }
  return cases;
}

class CorpusMapTest : public ::testing::TestWithParam<MapCase> {};

TEST_P(CorpusMapTest, MatchesQemuImgMap) {
  const MapCase& c = GetParam();
  const std::string expected_text = qcow2_testing::ReadTextFile(qcow2_testing::SourcePath(
      "engine/qcow2/testdata/map/" + c.image + "." + c.layout + "." + c.version + ".json"));
  ASSERT_FALSE(expected_text.empty());

  const std::string fixtures = "engine/qcow2/testdata/fixtures/";
  MemoryDevice device =
      c.fixture
          ? qcow2_testing::LoadSparseFixture(
                qcow2_testing::SourcePath(fixtures + c.image + ".qcow2.sparse"))
          : MemoryDevice::LoadFile(qcow2_testing::SourcePath("cases/images/" + c.image + ".qcow2"));
  ASSERT_GT(device.Size(), 0u);
  MemoryDevice data_file;
  MapOpener opener;
  if (c.image.rfind("datafile", 0) == 0) {
    data_file = qcow2_testing::LoadSparseFixture(
        qcow2_testing::SourcePath(fixtures + c.image + ".raw.sparse"));
    ASSERT_GT(data_file.Size(), 0u);
    opener.Add(c.image + ".raw", &data_file);
  }
  if (c.layout == "sparse") {
    device.PunchZeroBlocks(4096);
    data_file.PunchZeroBlocks(4096);
  }
  auto opened = qcow2_testing::OpenQcow2For(device, c.version.c_str(), opener);

  if (expected_text.rfind("qemu-img: ", 0) == 0) {
    // qemu-img could not open the image (5.2 has no zstd).
    EXPECT_FALSE(opened->ok()) << expected_text;
    return;
  }
  ASSERT_TRUE(opened->ok()) << opened->status.message();
  auto walked = qcow2_testing::WalkMap(*opened->image, qcow2_testing::Version(c.version.c_str()));
  ASSERT_TRUE(walked.ok()) << walked.status().message();

  const std::vector<MapEntry> expected = qcow2_testing::ParseMapJson(expected_text);
  ASSERT_EQ(walked->size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const MapEntry& want = expected[i];
    const MapEntry& got = (*walked)[i];
    SCOPED_TRACE("entry " + std::to_string(i) + ": got " + qcow2_testing::Describe(got));
    EXPECT_EQ(got.start, want.start);
    EXPECT_EQ(got.length, want.length);
    EXPECT_EQ(got.zero, want.zero);
    EXPECT_EQ(got.data, want.data);
    if (want.has_present) {
      EXPECT_EQ(got.present, want.present);
    }
    if (want.has_compressed) {
      EXPECT_EQ(got.compressed, want.compressed);
    }
    EXPECT_EQ(got.has_offset, want.has_offset);
    if (want.has_offset) {
      EXPECT_EQ(got.offset, want.offset);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, CorpusMapTest, ::testing::ValuesIn(AllCases()), CaseName);

// Before 8.2 qemu has no BDRV_BLOCK_COMPRESSED; the 7.2.22 map above prints
// no "compressed" field, so check the flag itself.
TEST(Qcow2BlockStatusTest, CompressedFlagFollowsTheVersion) {
  for (const char* version : {"7.2.22", "10.0.13"}) {
    auto opened = qcow2_testing::OpenCorpusQcow2("qcow2-compressed", version);
    ASSERT_TRUE(opened->ok());
    auto status = BlockStatusAbove(*opened->image, 0, 65536, qcow2_testing::Version(version));
    ASSERT_TRUE(status.ok());
    const bool compressed = (status->flags & block_status::kCompressed) != 0;
    EXPECT_EQ(compressed, std::string(version) == "10.0.13") << version;
    EXPECT_NE(status->flags & block_status::kData, 0u);
    EXPECT_EQ(status->flags & block_status::kOffsetValid, 0u);
  }
}

// qcow2-v3-64k in the sparse layout is taken for metadata-preallocated (it
// has more refcounted clusters than allocated ones): data clusters then carry
// BDRV_BLOCK_RECURSE, which 7.2.9+ clears after asking the file and 5.2 keeps.
TEST(Qcow2BlockStatusTest, RecurseFlagIsClearedFrom729) {
  MemoryDevice device =
      MemoryDevice::LoadFile(qcow2_testing::SourcePath("cases/images/qcow2-v3-64k.qcow2"));
  device.PunchZeroBlocks(4096);
  MapOpener opener;
  for (const char* version : {"5.2.0", "7.2.22", "10.0.13"}) {
    auto opened = qcow2_testing::OpenQcow2For(device, version, opener);
    ASSERT_TRUE(opened->ok());
    auto preallocated = opened->image->MetadataPreallocated();
    ASSERT_TRUE(preallocated.ok());
    EXPECT_TRUE(*preallocated);
    auto status = BlockStatusAbove(*opened->image, 0, 65536, qcow2_testing::Version(version));
    ASSERT_TRUE(status.ok());
    const bool recurse = (status->flags & block_status::kRecurse) != 0;
    EXPECT_EQ(recurse, std::string(version) == "5.2.0") << version;
  }
}

// The driver alone, below the generic layer: what qcow2_co_block_status()
// returns for the zero image (recipe in cases/images/manifest.json: written
// 0..128k, zeroed 128k..384k, written then zeroed 4M..4M+64k).
TEST(Qcow2BlockStatusTest, DriverAnswersPerClusterType) {
  auto opened = qcow2_testing::OpenCorpusQcow2("qcow2-zero");
  ASSERT_TRUE(opened->ok());
  Qcow2Image& image = *opened->image;

  auto data = image.DriverBlockStatus(true, 0, 1 << 20);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->flags, block_status::kData | block_status::kOffsetValid);
  EXPECT_EQ(data->bytes, 131072u);
  EXPECT_EQ(data->map, 327680u);  // "offset": 327680 in the map output
  EXPECT_EQ(data->file, &opened->device);

  auto zero_plain = image.DriverBlockStatus(true, 131072, 1 << 20);
  ASSERT_TRUE(zero_plain.ok());
  EXPECT_EQ(zero_plain->flags, block_status::kZero);
  EXPECT_EQ(zero_plain->bytes, 262144u);

  auto zero_alloc = image.DriverBlockStatus(true, 4 << 20, 1 << 20);
  ASSERT_TRUE(zero_alloc.ok());
  EXPECT_EQ(zero_alloc->flags, block_status::kZero | block_status::kOffsetValid);
  EXPECT_EQ(zero_alloc->bytes, 65536u);
  EXPECT_EQ(zero_alloc->map, 458752u);

  // Unallocated: the answer reaches to the end of the L2 table (8192
  // clusters of 64 KiB cover 512 MiB, more than the 64 MiB disk).
  auto unallocated = image.DriverBlockStatus(true, 393216, 64ull << 20);
  ASSERT_TRUE(unallocated.ok());
  EXPECT_EQ(unallocated->flags, 0u);
  EXPECT_EQ(unallocated->bytes, (4u << 20) - 393216u);
}

// Unaligned requests are served from inside a cluster and end at the run's
// end, like qemu's bytes_needed/bytes_available arithmetic.
TEST(Qcow2BlockStatusTest, UnalignedOffsetsInsideARun) {
  auto opened = qcow2_testing::OpenCorpusQcow2("qcow2-v3-4k");
  ASSERT_TRUE(opened->ok());
  // 0..12k is data at host 20480 (map output); ask from 5000 for 1 byte
  // and for everything.
  auto one = BlockStatusAbove(*opened->image, 5000, 1, qcow2_testing::Version("10.0.13"));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->bytes, 1u);
  EXPECT_EQ(one->map, 20480u + 5000u);
  auto rest = BlockStatusAbove(*opened->image, 5000, 1 << 30, qcow2_testing::Version("10.0.13"));
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->bytes, 12288u - 5000u);
  EXPECT_EQ(rest->flags,
            block_status::kData | block_status::kOffsetValid | block_status::kAllocated);
  // Past the end: EOF and nothing else.
  auto end = BlockStatusAbove(*opened->image, 16 << 20, 512, qcow2_testing::Version("10.0.13"));
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->flags, block_status::kEof);
  EXPECT_EQ(end->bytes, 0u);
}

}  // namespace
}  // namespace instar
