// The map walk (instar/engine/map.h) against what qemu-img map printed:
// engine/qcow2/testdata/map (see qcow2_block_status_test.cc for how it was
// made) for single images, and baselines/map-json for a backing chain.
#include "instar/engine/map.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "qcow2/qcow2_test_util.h"

namespace instar {
namespace {

using testing::MapOpener;
using testing::MemoryDevice;

// Collects what WalkMap() hands over; fails on the `fail_at`-th extent.
class CollectingSink final : public MapSink {
 public:
  Status Extent(const MapEntry& entry) override {
    if (entries.size() == fail_at) return Status::OutOfRange("sink is full");
    entries.push_back(entry);
    return Status::Ok();
  }
  std::vector<MapEntry> entries;
  size_t fail_at = SIZE_MAX;
};

void ExpectSame(const std::vector<MapEntry>& got,
                const std::vector<qcow2_testing::MapEntry>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE("extent " + std::to_string(i));
    EXPECT_EQ(got[i].start, want[i].start);
    EXPECT_EQ(got[i].length, want[i].length);
    EXPECT_EQ(got[i].zero, want[i].zero);
    EXPECT_EQ(got[i].data, want[i].data);
    if (want[i].has_present) {
      EXPECT_EQ(got[i].present, want[i].present);
    }
    if (want[i].has_compressed) {
      EXPECT_EQ(got[i].compressed, want[i].compressed);
    }
    EXPECT_EQ(got[i].has_offset, want[i].has_offset);
    if (want[i].has_offset) {
      EXPECT_EQ(got[i].offset, want[i].offset);
    }
  }
}

// Every version's own merging: 5.2 merges runs that differ only in
// "present", 7.2 does not; 10.0 also reports compressed clusters.
TEST(WalkMapTest, MatchesQemuImgMapOfCorpusImages) {
  for (const char* image : {"qcow2-zero", "qcow2-compressed", "qcow2-v3-64k", "qcow2-extl2",
                            "qcow2-snapshot", "qcow2-v2"}) {
    for (const char* version : {"5.2.0", "7.2.22", "10.0.13"}) {
      SCOPED_TRACE(std::string(image) + " " + version);
      const std::string expected = qcow2_testing::ReadTextFile(qcow2_testing::SourcePath(
          std::string("engine/qcow2/testdata/map/") + image + ".dense." + version + ".json"));
      ASSERT_FALSE(expected.empty());
      auto opened = qcow2_testing::OpenCorpusQcow2(image, version);
      ASSERT_TRUE(opened->ok()) << opened->status.message();
      CollectingSink sink;
      const Status walked =
          WalkMap(*opened->image, MapRange{}, qcow2_testing::Version(version), sink);
      ASSERT_TRUE(walked.ok()) << walked.message();
      ExpectSame(sink.entries, qcow2_testing::ParseMapJson(expected));
      for (const MapEntry& e : sink.entries) {
        EXPECT_EQ(e.depth, 0u);
        // Only a mapped run names its file.
        EXPECT_EQ(e.file != nullptr, e.has_offset);
      }
    }
  }
}

// baselines/map-json/qcow2/10.0.13/qcow2-backing: the overlay over
// qcow2-v3-64k, both as sparse files; the depth says which image holds a
// run.
TEST(WalkMapTest, DepthFollowsTheBackingChain) {
  const std::string expected = qcow2_testing::ReadTextFile(
      qcow2_testing::SourcePath("baselines/map-json/qcow2/10.0.13/qcow2-backing.stdout.txt"));
  ASSERT_FALSE(expected.empty());
  MemoryDevice top =
      MemoryDevice::LoadFile(qcow2_testing::SourcePath("cases/images/qcow2-backing.qcow2"));
  MemoryDevice base =
      MemoryDevice::LoadFile(qcow2_testing::SourcePath("cases/images/qcow2-v3-64k.qcow2"));
  top.PunchZeroBlocks(4096);
  base.PunchZeroBlocks(4096);
  MapOpener opener;
  opener.Add("qcow2-v3-64k.qcow2", &base);
  auto opened = qcow2_testing::OpenQcow2For(top, "10.0.13", opener);
  ASSERT_TRUE(opened->ok());
  OpenOptions options;
  options.compat = qcow2_testing::Version("10.0.13");
  ASSERT_TRUE(OpenBackingChain(*opened->image, opener, *opened->arena, options).ok());

  CollectingSink sink;
  ASSERT_TRUE(WalkMap(*opened->image, MapRange{}, qcow2_testing::Version("10.0.13"), sink).ok());
  ExpectSame(sink.entries, qcow2_testing::ParseMapJson(expected));
  const uint32_t depths[] = {1, 0, 1, 1, 1, 1, 1, 1, 1, 1};  // the baseline's "depth"s
  ASSERT_EQ(sink.entries.size(), sizeof(depths) / sizeof(depths[0]));
  for (size_t i = 0; i < sink.entries.size(); ++i) {
    EXPECT_EQ(sink.entries[i].depth, depths[i]) << i;
    if (sink.entries[i].has_offset) {
      EXPECT_EQ(sink.entries[i].file, depths[i] == 0 ? static_cast<BlockDevice*>(&top)
                                                     : static_cast<BlockDevice*>(&base));
    }
  }
}

// qemu-img map --start-offset / --max-length: the walk covers [start,
// start + length) of the disk, cut at its end.
TEST(WalkMapTest, RangeLimitsTheWalk) {
  auto opened = qcow2_testing::OpenCorpusQcow2("qcow2-zero");
  ASSERT_TRUE(opened->ok());
  const QemuVersion v = qcow2_testing::Version("10.0.13");

  MapRange range;
  range.start = 65536;
  range.has_max_length = true;
  range.max_length = 100000;
  CollectingSink sink;
  ASSERT_TRUE(WalkMap(*opened->image, range, v, sink).ok());
  ASSERT_FALSE(sink.entries.empty());
  EXPECT_EQ(sink.entries.front().start, 65536u);
  const MapEntry& last = sink.entries.back();
  EXPECT_EQ(last.start + last.length, 165536u);

  // At or past the end: the one empty extent img_map() starts with.
  for (uint64_t start : {opened->image->VirtualSize(), opened->image->VirtualSize() + 512}) {
    CollectingSink past;
    range = MapRange{};
    range.start = start;
    ASSERT_TRUE(WalkMap(*opened->image, range, v, past).ok());
    ASSERT_EQ(past.entries.size(), 1u);
    EXPECT_EQ(past.entries[0].start, start);
    EXPECT_EQ(past.entries[0].length, 0u);
    EXPECT_FALSE(past.entries[0].data || past.entries[0].zero || past.entries[0].present);
  }

  // start + max length beyond INT64_MAX wraps negative in qemu-img: nothing
  // is walked.
  CollectingSink wrapped;
  range = MapRange{};
  range.start = 1;
  range.has_max_length = true;
  range.max_length = 0x7fffffffffffffffull;
  ASSERT_TRUE(WalkMap(*opened->image, range, v, wrapped).ok());
  ASSERT_EQ(wrapped.entries.size(), 1u);
  EXPECT_EQ(wrapped.entries[0].length, 0u);
}

// A sink that refuses stops the walk with its Status, and what was still
// being merged is never handed over.
TEST(WalkMapTest, SinkFailureStopsTheWalk) {
  auto opened = qcow2_testing::OpenCorpusQcow2("qcow2-zero");
  ASSERT_TRUE(opened->ok());
  CollectingSink sink;
  sink.fail_at = 1;
  const Status s = WalkMap(*opened->image, MapRange{}, qcow2_testing::Version("10.0.13"), sink);
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(sink.entries.size(), 1u);
}

TEST(MapEntriesMergeableTest, FollowsEachVersionsFields) {
  MapEntry a;
  a.start = 0;
  a.length = 4096;
  a.data = true;
  a.has_offset = true;
  a.offset = 8192;
  a.present = true;
  MapEntry b = a;
  b.start = 4096;
  b.offset = 12288;
  const MapDialect v52 = MapDialectFor(QemuVersion{5, 2, 0});
  const MapDialect v72 = MapDialectFor(QemuVersion{7, 2, 22});
  const MapDialect v10 = MapDialectFor(QemuVersion{10, 0, 13});
  EXPECT_TRUE(MapEntriesMergeable(a, b, v10));

  // Not contiguous in the file.
  MapEntry apart = b;
  apart.offset = 65536;
  EXPECT_FALSE(MapEntriesMergeable(a, apart, v10));
  // Another file, another depth.
  MapEntry other_file = b;
  other_file.file = reinterpret_cast<BlockDevice*>(&other_file);
  EXPECT_FALSE(MapEntriesMergeable(a, other_file, v10));
  MapEntry deeper = b;
  deeper.depth = 1;
  EXPECT_FALSE(MapEntriesMergeable(a, deeper, v10));
  // "present" counts from 6.0, "compressed" from 8.2.
  MapEntry absent = b;
  absent.present = false;
  EXPECT_TRUE(MapEntriesMergeable(a, absent, v52));
  EXPECT_FALSE(MapEntriesMergeable(a, absent, v72));
  MapEntry compressed = b;
  compressed.compressed = true;
  EXPECT_TRUE(MapEntriesMergeable(a, compressed, v72));
  EXPECT_FALSE(MapEntriesMergeable(a, compressed, v10));
  // Nothing merges into the empty start.
  MapEntry empty;
  EXPECT_FALSE(MapEntriesMergeable(empty, empty, v10));
}

}  // namespace
}  // namespace instar
