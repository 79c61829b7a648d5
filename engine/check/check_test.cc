// The checks (instar/engine/check.h) against what qemu-img check printed:
// the counters of profiles/check-json and the stderr lines of
// profiles/check-human, each profile's image run with a version of it.
#include "instar/engine/check.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "qcow2/qcow2_test_util.h"
#include "testing/corpus.h"

namespace instar {
namespace {

using qcow2_testing::JsonNumber;
using qcow2_testing::ReadTextFile;
using qcow2_testing::SourcePath;
using qcow2_testing::Version;
using testing::MapOpener;
using testing::MemoryDevice;

class CollectingLog final : public CheckLog {
 public:
  void Line(const char* text, size_t length) override {
    lines.append(text, length);
    lines += '\n';
  }
  std::string lines;
};

// What one check of an opened image gave.
struct Checked {
  Status status;
  CheckSupport support = CheckSupport::kChecked;
  CheckResult result;
  std::string log;
};

// Opens `device` as `format` for a check (OpenOptions::check) in a heap
// arena of `arena_bytes` and checks it.
Checked CheckDevice(BlockDevice& device, ImageFormat format, const char* compat,
                    size_t arena_bytes = 8u << 20) {
  std::vector<uint8_t> memory(arena_bytes);
  Arena arena(memory.data(), memory.size());
  MapOpener opener;
  OpenOptions options;
  options.compat = Version(compat);
  options.check = true;
  Checked checked;
  Result<Image*> image = OpenImage(format, device, opener, arena, options);
  if (!image.ok()) {
    checked.status = image.status();
    return checked;
  }
  CollectingLog log;
  Result<CheckSupport> support = CheckImage(**image, options.compat, arena, log, &checked.result);
  checked.log = log.lines;
  if (!support.ok()) {
    checked.status = support.status();
  } else {
    checked.support = *support;
  }
  return checked;
}

// The profile a version of the matrix prints check output as.
const char* ProfileOf(const char* compat) {
  return std::string(compat) == "5.2.0" ? "profile-01" : "profile-02";
}

// The counters qemu-img check --output=json printed for `id`; absent
// members are zero, as collect_image_check() leaves them.
CheckResult Expected(const std::string& format, const std::string& id, const char* compat) {
  const std::string json =
      ReadTextFile(SourcePath(std::string("profiles/check-json/") + ProfileOf(compat) + "/" +
                              format + "/" + id + ".stdout.txt"));
  CheckResult want;
  JsonNumber(json, "corruptions", &want.corruptions);
  JsonNumber(json, "leaks", &want.leaks);
  JsonNumber(json, "check-errors", &want.check_errors);
  JsonNumber(json, "image-end-offset", &want.image_end_offset);
  JsonNumber(json, "total-clusters", &want.total_clusters);
  JsonNumber(json, "allocated-clusters", &want.allocated_clusters);
  JsonNumber(json, "fragmented-clusters", &want.fragmented_clusters);
  JsonNumber(json, "compressed-clusters", &want.compressed_clusters);
  return want;
}

std::string ExpectedStderr(const std::string& format, const std::string& id, const char* compat) {
  return ReadTextFile(SourcePath(std::string("profiles/check-human/") + ProfileOf(compat) + "/" +
                                 format + "/" + id + ".stderr.txt"));
}

void ExpectSameCounters(const CheckResult& got, const CheckResult& want) {
  EXPECT_EQ(got.corruptions, want.corruptions);
  EXPECT_EQ(got.leaks, want.leaks);
  EXPECT_EQ(got.check_errors, want.check_errors);
  EXPECT_EQ(got.image_end_offset, want.image_end_offset);
  EXPECT_EQ(got.total_clusters, want.total_clusters);
  EXPECT_EQ(got.allocated_clusters, want.allocated_clusters);
  EXPECT_EQ(got.fragmented_clusters, want.fragmented_clusters);
  EXPECT_EQ(got.compressed_clusters, want.compressed_clusters);
}

// The refcount rebuild of clean, leaking, corrupt and hostile images:
// every counter and every stderr line as qemu-img printed them.
TEST(Qcow2CheckTest, MatchesQemuImgCheckOfCorpusImages) {
  const char* images[] = {"qcow2-empty",
                          "qcow2-compressed",
                          "qcow2-v3-64k",
                          "qcow2-snapshot",
                          "qcow2-snapshots3",
                          "qcow2-extl2",
                          "qcow2-bitmap",
                          "qcow2-v2",
                          "qcow2-prealloc-metadata",
                          "caution-qcow2-leak",
                          "caution-qcow2-corrupt",
                          "caution-qcow2-shared-cluster",
                          "caution-qcow2-refcount-high",
                          "caution-qcow2-refcount-low",
                          "caution-qcow2-copied-clear",
                          "caution-qcow2-extl2-bitmap",
                          "caution-qcow2-snapshot-refcount",
                          "mal-qcow2-snapshot-count-past-table",
                          "mal-qcow2-snapshot-l1-size-max"};
  for (const char* id : images) {
    for (const char* compat : {"5.2.0", "7.2.22", "10.0.13"}) {
      SCOPED_TRACE(std::string(id) + " " + compat);
      MemoryDevice device = testing::LoadCorpusImage(std::string(id) + ".qcow2");
      ASSERT_GT(device.Size(), 0u);
      const Checked checked = CheckDevice(device, ImageFormat::kQcow2, compat);
      ASSERT_TRUE(checked.status.ok()) << checked.status.message();
      ASSERT_EQ(checked.support, CheckSupport::kChecked);
      EXPECT_EQ(checked.result.failure, CheckFailure::kNone);
      ExpectSameCounters(checked.result, Expected("qcow2", id, compat));
      EXPECT_EQ(checked.log, ExpectedStderr("qcow2", id, compat));
    }
  }
}

// A snapshot table qemu cannot read ends the check with its errno and
// lines, and no result.
TEST(Qcow2CheckTest, UnreadableSnapshotTableFailsTheCheck) {
  struct Case {
    const char* id;
    CheckFailure failure;
  };
  for (const Case& c : {Case{"mal-qcow2-snapshot-count-over", CheckFailure::kFileTooLarge},
                        Case{"mal-qcow2-snapshot-unaligned", CheckFailure::kInvalidArgument},
                        Case{"mal-qcow2-snapshot-extra-too-big", CheckFailure::kFileTooLarge}}) {
    SCOPED_TRACE(c.id);
    MemoryDevice device = testing::LoadCorpusImage(std::string(c.id) + ".qcow2");
    const Checked checked = CheckDevice(device, ImageFormat::kQcow2, "10.0.13");
    ASSERT_TRUE(checked.status.ok()) << checked.status.message();
    EXPECT_EQ(checked.result.failure, c.failure);
    // The last line, "Check failed: ...", is qemu-img's, not the check's.
    std::string want = ExpectedStderr("qcow2", c.id, "10.0.13");
    want.erase(want.rfind("qemu-img: Check failed"));
    EXPECT_EQ(checked.log, want);
  }
}

// A file whose refcount array would not fit the bound ends in instar's
// own one-line error, never a partial answer.
class HugeDevice final : public BlockDevice {
 public:
  explicit HugeDevice(MemoryDevice inner) : inner_(std::move(inner)) {}
  Status Read(uint64_t offset, void* buffer, size_t length) override {
    return inner_.Read(offset, buffer, length);
  }
  uint64_t Size() const override { return (kMaxCheckClusters + 1) * 512; }
  Result<uint64_t> SeekData(uint64_t offset) override { return offset; }
  Result<uint64_t> SeekHole(uint64_t) override { return Size(); }

 private:
  MemoryDevice inner_;
};

TEST(Qcow2CheckTest, RefcountArrayPastTheBoundIsOneError) {
  HugeDevice device(testing::LoadCorpusImage("qcow2-v3-512.qcow2"));
  const Checked checked = CheckDevice(device, ImageFormat::kQcow2, "10.0.13");
  EXPECT_EQ(checked.status.code(), StatusCode::kNoSpace);
  EXPECT_EQ(std::string(checked.status.message()).find('\n'), std::string::npos);
  EXPECT_NE(std::string(checked.status.message()).find("Check failed"), std::string::npos);
}

TEST(CheckImageTest, FormatsWithoutACheckAreNotSupported) {
  MemoryDevice raw = testing::LoadCorpusImage("raw-sparse.raw");
  EXPECT_EQ(CheckDevice(raw, ImageFormat::kRaw, "10.0.13").support, CheckSupport::kNotSupported);
}

TEST(VmdkCheckTest, GrainPastEofStopsTheCheck) {
  MemoryDevice device = testing::LoadCorpusImage("caution-vmdk-grain-past-eof.vmdk");
  const Checked checked = CheckDevice(device, ImageFormat::kVmdk, "10.0.13");
  ASSERT_TRUE(checked.status.ok()) << checked.status.message();
  EXPECT_EQ(checked.result.failure, CheckFailure::kInvalidArgument);
  EXPECT_EQ(checked.result.corruptions, 1u);
  std::string want = ExpectedStderr("vmdk", "caution-vmdk-grain-past-eof", "10.0.13");
  want.erase(want.rfind("qemu-img: Check failed"));
  EXPECT_EQ(checked.log, want);
}

TEST(VhdxCheckTest, BadBatEntriesAreCorruptions) {
  for (const char* id : {"vhdx-dynamic", "mal-vhdx-bat-entry-overflow", "mal-vhdx-bat-entry-on-log",
                         "mal-vhdx-bat-entry-past-eof"}) {
    SCOPED_TRACE(id);
    MemoryDevice device = testing::LoadCorpusImage(std::string(id) + ".vhdx");
    const Checked checked = CheckDevice(device, ImageFormat::kVhdx, "10.0.13");
    ASSERT_TRUE(checked.status.ok()) << checked.status.message();
    EXPECT_EQ(checked.result.failure, CheckFailure::kNone);
    ExpectSameCounters(checked.result, Expected("vhdx", id, "10.0.13"));
    EXPECT_EQ(checked.log, ExpectedStderr("vhdx", id, "10.0.13"));
  }
}

}  // namespace
}  // namespace instar
