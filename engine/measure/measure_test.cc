// The size math of measure against numbers the real qemu-img printed, and
// the source scan over test doubles with known block status.
#include "instar/engine/measure.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "measure/measure_test_support.h"
#include "testing/memory_device.h"

namespace instar {
namespace {

using measure_test::ErrorText;
using measure_test::Version;
using measure_test::Versions;

constexpr const char* kMatrix = "5.2.0 7.2.18 7.2.22 10.0.2 10.0.13 11.1.2 11.1.3";

struct SizeCase {
  const char* size;
  const char* target;
  const char* options;
  uint64_t required;
  uint64_t fully_allocated;
};

// `qemu-img measure --output=json --size SIZE -O TARGET [-o OPTIONS]`, the
// command in each row's comment, printed these numbers identically with
// every version of the matrix (5.2.0 7.2.18 7.2.22 10.0.2 10.0.13 11.1.2
// 11.1.3). The first 21 rows are seed 000's SIZE_CASES.
const SizeCase kSizeCases[] = {
    {"1M", "raw", "", 1048576u, 1048576u},              // qemu-img measure --size 1M -O raw
    {"64M", "raw", "", 67108864u, 67108864u},           // qemu-img measure --size 64M -O raw
    {"1G", "raw", "", 1073741824u, 1073741824u},        // qemu-img measure --size 1G -O raw
    {"1T", "raw", "", 1099511627776u, 1099511627776u},  // qemu-img measure --size 1T -O raw
    {"1M", "qcow2", "", 327680u, 1376256u},             // qemu-img measure --size 1M -O qcow2
    {"64M", "qcow2", "", 327680u, 67436544u},           // qemu-img measure --size 64M -O qcow2
    {"1G", "qcow2", "", 393216u, 1074135040u},          // qemu-img measure --size 1G -O qcow2
    {"1T", "qcow2", "", 168034304u, 1099679662080u},    // qemu-img measure --size 1T -O qcow2
    {"1G", "qcow2", "cluster_size=512", 21385216u,
     1095127040u},  // qemu-img measure --size 1G -O qcow2 -o cluster_size=512
    {"1G", "qcow2", "cluster_size=4k", 2637824u,
     1076379648u},  // qemu-img measure --size 1G -O qcow2 -o cluster_size=4k
    {"1G", "qcow2", "cluster_size=64k", 393216u,
     1074135040u},  // qemu-img measure --size 1G -O qcow2 -o cluster_size=64k
    {"1G", "qcow2", "cluster_size=2M", 10485760u,
     1084227584u},  // qemu-img measure --size 1G -O qcow2 -o cluster_size=2M
    {"1G", "qcow2", "refcount_bits=1", 393216u,
     1074135040u},  // qemu-img measure --size 1G -O qcow2 -o refcount_bits=1
    {"1G", "qcow2", "refcount_bits=2", 393216u,
     1074135040u},  // qemu-img measure --size 1G -O qcow2 -o refcount_bits=2
    {"1G", "qcow2", "refcount_bits=4", 393216u,
     1074135040u},  // qemu-img measure --size 1G -O qcow2 -o refcount_bits=4
    {"1G", "qcow2", "refcount_bits=8", 393216u,
     1074135040u},  // qemu-img measure --size 1G -O qcow2 -o refcount_bits=8
    {"1G", "qcow2", "refcount_bits=16", 393216u,
     1074135040u},  // qemu-img measure --size 1G -O qcow2 -o refcount_bits=16
    {"1G", "qcow2", "refcount_bits=32", 458752u,
     1074200576u},  // qemu-img measure --size 1G -O qcow2 -o refcount_bits=32
    {"1G", "qcow2", "refcount_bits=64", 524288u,
     1074266112u},  // qemu-img measure --size 1G -O qcow2 -o refcount_bits=64
    {"1G", "qcow2", "extended_l2=on,cluster_size=64k", 524288u,
     1074266112u},  // qemu-img measure --size 1G -O qcow2 -o extended_l2=on,cluster_size=64k
    {"64M", "qcow2", "extended_l2=on,cluster_size=64k", 327680u,
     67436544u},  // qemu-img measure --size 64M -O qcow2 -o extended_l2=on,cluster_size=64k
    {"1G", "qcow2", "extended_l2=on,cluster_size=16k", 1245184u,
     1074987008u},  // qemu-img measure --size 1G -O qcow2 -o extended_l2=on,cluster_size=16k
    {"1G", "qcow2", "extended_l2=on,cluster_size=32k", 720896u,
     1074462720u},  // qemu-img measure --size 1G -O qcow2 -o extended_l2=on,cluster_size=32k
    {"1G", "qcow2", "extended_l2=on,cluster_size=128k", 655360u,
     1074397184u},  // qemu-img measure --size 1G -O qcow2 -o extended_l2=on,cluster_size=128k
    {"1G", "qcow2", "extended_l2=on,cluster_size=2M", 10485760u,
     1084227584u},  // qemu-img measure --size 1G -O qcow2 -o extended_l2=on,cluster_size=2M
    {"1G", "qcow2", "compat=0.10", 393216u,
     1074135040u},  // qemu-img measure --size 1G -O qcow2 -o compat=0.10
    {"1G", "qcow2", "compat=1.1", 393216u,
     1074135040u},  // qemu-img measure --size 1G -O qcow2 -o compat=1.1
    {"1G", "qcow2", "preallocation=off", 393216u,
     1074135040u},  // qemu-img measure --size 1G -O qcow2 -o preallocation=off
    {"1G", "qcow2", "preallocation=metadata", 393216u,
     1074135040u},  // qemu-img measure --size 1G -O qcow2 -o preallocation=metadata
    {"1G", "qcow2", "preallocation=falloc", 1074135040u,
     1074135040u},  // qemu-img measure --size 1G -O qcow2 -o preallocation=falloc
    {"1G", "qcow2", "preallocation=full", 1074135040u,
     1074135040u},  // qemu-img measure --size 1G -O qcow2 -o preallocation=full
    {"1T", "qcow2", "refcount_bits=1", 136577024u,
     1099648204800u},  // qemu-img measure --size 1T -O qcow2 -o refcount_bits=1
    {"1T", "qcow2", "refcount_bits=64", 268697600u,
     1099780325376u},  // qemu-img measure --size 1T -O qcow2 -o refcount_bits=64
    {"1T", "qcow2", "extended_l2=on", 302252032u,
     1099813879808u},  // qemu-img measure --size 1T -O qcow2 -o extended_l2=on
    {"1P", "qcow2", "", 171825102848u, 1126071731945472u},  // qemu-img measure --size 1P -O qcow2
    {"2P", "qcow2", "", 343650009088u, 2252143463694336u},  // qemu-img measure --size 2P -O qcow2
    {"1P", "qcow2", "cluster_size=2M", 5377097728u,
     1125905283940352u},  // qemu-img measure --size 1P -O qcow2 -o cluster_size=2M
    {"1E", "qcow2", "cluster_size=2M", 5497589596160u,
     1152927002196443136u},  // qemu-img measure --size 1E -O qcow2 -o cluster_size=2M
    {"2E", "qcow2", "cluster_size=2M", 10995174998016u,
     2305854004388691968u},  // qemu-img measure --size 2E -O qcow2 -o cluster_size=2M
    {"1E", "qcow2", "cluster_size=2M,refcount_bits=1", 4466789056512u,
     1152925971395903488u},  // qemu-img measure --size 1E -O qcow2 -o
                             // cluster_size=2M,refcount_bits=1
    {"1E", "qcow2", "cluster_size=2M,refcount_bits=64", 8796166422528u,
     1152930300773269504u},  // qemu-img measure --size 1E -O qcow2 -o
                             // cluster_size=2M,refcount_bits=64
    {"1E", "raw", "", 1152921504606846976u,
     1152921504606846976u},  // qemu-img measure --size 1E -O raw
    {"8191P", "raw", "", 9222246136947933184u,
     9222246136947933184u},                    // qemu-img measure --size 8191P -O raw
    {"0", "qcow2", "", 196608u, 196608u},      // qemu-img measure --size 0 -O qcow2
    {"0", "raw", "", 0u, 0u},                  // qemu-img measure --size 0 -O raw
    {"1", "qcow2", "", 327680u, 393216u},      // qemu-img measure --size 1 -O qcow2
    {"1", "raw", "", 512u, 512u},              // qemu-img measure --size 1 -O raw
    {"511", "raw", "", 512u, 512u},            // qemu-img measure --size 511 -O raw
    {"513", "raw", "", 1024u, 1024u},          // qemu-img measure --size 513 -O raw
    {"65537", "qcow2", "", 327680u, 458752u},  // qemu-img measure --size 65537 -O qcow2
    {"1G", "qcow2", "cluster_size=512,refcount_bits=1", 17311232u,
     1091053056u},  // qemu-img measure --size 1G -O qcow2 -o cluster_size=512,refcount_bits=1
    {"1G", "qcow2", "cluster_size=512,refcount_bits=64", 34629120u,
     1108370944u},  // qemu-img measure --size 1G -O qcow2 -o cluster_size=512,refcount_bits=64
    {"1G", "qcow2", "cluster_size=2M,refcount_bits=1", 10485760u,
     1084227584u},  // qemu-img measure --size 1G -O qcow2 -o cluster_size=2M,refcount_bits=1
    {"1G", "qcow2", "cluster_size=2M,refcount_bits=64", 10485760u,
     1084227584u},  // qemu-img measure --size 1G -O qcow2 -o cluster_size=2M,refcount_bits=64
    {"100G", "qcow2", "", 16646144u, 107390828544u},  // qemu-img measure --size 100G -O qcow2
    {"100G", "qcow2", "preallocation=full,cluster_size=2M", 107384668160u,
     107384668160u},  // qemu-img measure --size 100G -O qcow2 -o preallocation=full,cluster_size=2M
    {"1G", "qcow2", "lazy_refcounts=on", 393216u,
     1074135040u},  // qemu-img measure --size 1G -O qcow2 -o lazy_refcounts=on
    {"1G", "qcow2", "compression_type=zstd", 393216u,
     1074135040u},  // qemu-img measure --size 1G -O qcow2 -o compression_type=zstd
    {"1G", "qcow2", "data_file=x.raw", 393216u,
     1074135040u},  // qemu-img measure --size 1G -O qcow2 -o data_file=x.raw
    {"1G", "qcow2", "backing_file=x.qcow2", 393216u,
     1074135040u},  // qemu-img measure --size 1G -O qcow2 -o backing_file=x.qcow2
    {"1G", "qcow2", "extended_l2=on,refcount_bits=1,cluster_size=32k,preallocation=metadata",
     655360u,
     1074397184u},  // qemu-img measure --size 1G -O qcow2 -o
                    // extended_l2=on,refcount_bits=1,cluster_size=32k,preallocation=metadata
    {"2305843009213693952", "qcow2", "cluster_size=2M", 10995174998016u,
     2305854004388691968u},  // qemu-img measure --size 2305843009213693952 -O qcow2 -o
                             // cluster_size=2M
    {"2305843009213693951", "qcow2", "cluster_size=2M", 10995174998016u,
     2305854004388691968u},  // qemu-img measure --size 2305843009213693951 -O qcow2 -o
                             // cluster_size=2M
    {"1152921504606846976", "qcow2", "cluster_size=2M,extended_l2=on", 9895657078784u,
     1152931400263925760u},  // qemu-img measure --size 1152921504606846976 -O qcow2 -o
                             // cluster_size=2M,extended_l2=on
    {"2251799813685248", "qcow2", "", 343650009088u,
     2252143463694336u},  // qemu-img measure --size 2251799813685248 -O qcow2
};

Result<MeasureResult> MeasureSize(const QemuVersion& version, const SizeCase& c,
                                  std::vector<uint8_t>& arena_buffer, MeasureError* error) {
  uint64_t size = 0;
  bool warning = false;
  INSTAR_RETURN_IF_ERROR(
      ParseMeasureSize(c.size, std::strlen(c.size), version, &size, &warning, error));
  ImageFormat target;
  INSTAR_RETURN_IF_ERROR(
      LookUpMeasureTarget(c.target, std::strlen(c.target), version, &target, error));
  Arena arena(arena_buffer.data(), arena_buffer.size());
  static ParsedMeasureOptions options;
  INSTAR_RETURN_IF_ERROR(ParseMeasureOptions(target, c.options, std::strlen(c.options), version,
                                             arena, &options, error));
  MeasureRequest request;
  request.options = &options;
  request.has_size = true;
  request.size = size;
  return Measure(request, nullptr, version, error);
}

TEST(MeasureSizeTest, EverySizeCaseOfEveryVersion) {
  std::vector<uint8_t> arena_buffer(4096);
  for (const SizeCase& c : kSizeCases) {
    for (const QemuVersion& version : Versions(kMatrix)) {
      MeasureError error;
      Result<MeasureResult> r = MeasureSize(version, c, arena_buffer, &error);
      ASSERT_TRUE(r.ok()) << c.size << " " << c.target << " " << c.options << ": "
                          << ErrorText(error);
      EXPECT_EQ(r->required, c.required) << c.size << " " << c.target << " " << c.options;
      EXPECT_EQ(r->fully_allocated, c.fully_allocated)
          << c.size << " " << c.target << " " << c.options;
      EXPECT_FALSE(r->has_bitmaps);
      EXPECT_LE(r->required, r->fully_allocated);
    }
  }
}

// The calculators directly, with numbers from the table's commands.
TEST(MeasureSizeTest, CalculatorsAgreeWithMeasure) {
  struct {
    uint64_t size, cluster;
    uint32_t refcount_bits;
    bool extended_l2;
    uint64_t expected;
  } const cases[] = {
      // qemu-img measure --size 1G -O qcow2
      {uint64_t{1} << 30, 65536, 16, false, 1074135040u},
      // qemu-img measure --size 1G -O qcow2 -o extended_l2=on,cluster_size=16k
      {uint64_t{1} << 30, 16384, 16, true, 1074987008u},
      // qemu-img measure --size 1E -O qcow2 -o cluster_size=2M,refcount_bits=1
      {uint64_t{1} << 60, 2 << 20, 1, false, 1152925971395903488u},
      // qemu-img measure --size 0 -O qcow2: header, refcount table and block
      {0, 65536, 16, false, 196608u},
  };
  for (const auto& c : cases) {
    auto full = Qcow2FullyAllocatedSize(c.size, c.cluster, c.refcount_bits, c.extended_l2);
    ASSERT_TRUE(full.ok());
    EXPECT_EQ(*full, c.expected) << c.size << " " << c.cluster;
  }
}

TEST(MeasureSizeTest, CalculatorsRefuseWhatWouldOverflowQemusInt64) {
  EXPECT_EQ(Qcow2FullyAllocatedSize(uint64_t{INT64_MAX}, 65536, 16, false).status().code(),
            StatusCode::kOutOfRange);
  EXPECT_EQ(Qcow2FullyAllocatedSize((uint64_t{1} << 63) - (1 << 20), 512, 64, true).status().code(),
            StatusCode::kOutOfRange);
  EXPECT_FALSE(Qcow2FullyAllocatedSize(1 << 20, 1000, 16, false).ok());
  EXPECT_FALSE(Qcow2RefcountMetadataSize(1, 65536, 3, false).ok());
  EXPECT_FALSE(Qcow2RefcountMetadataSize(1, 65536, 128, false).ok());
}

TEST(MeasureSizeTest, GenerousRefcountIncreaseNeverShrinks) {
  for (uint64_t clusters : {1ull, 100ull, 16384ull, 1ull << 30}) {
    for (uint32_t bits : {1u, 16u, 64u}) {
      auto tight = Qcow2RefcountMetadataSize(clusters, 65536, bits, false);
      auto generous = Qcow2RefcountMetadataSize(clusters, 65536, bits, true);
      ASSERT_TRUE(tight.ok() && generous.ok());
      EXPECT_GE(*generous, *tight);
    }
  }
}

// qemu-img info on cases/images/qcow2-bitmap.qcow2 (32 MiB) lists the
// bitmaps b0 (granularity 65536) and b1 (131072); `qemu-img measure
// --output=json -O qcow2 -o cluster_size=CS qcow2-bitmap.qcow2` printed
// "bitmaps": 2560 for 512, 20480 for 4k, 327680 for 64k, 10485760 for 2M
// (all seven versions print 327680 without -o).
TEST(MeasureSizeTest, BitmapsSizeOfTheCorpusBitmapImage) {
  SourceBitmaps bitmaps;
  bitmaps.Add(2, 16);
  bitmaps.Add(2, 17);
  const uint64_t size = 32 << 20;
  struct {
    uint64_t cluster;
    uint64_t expected;
  } const cases[] = {{512, 2560}, {4096, 20480}, {65536, 327680}, {2 << 20, 10485760}};
  for (const auto& c : cases) {
    auto r = Qcow2BitmapsSize(bitmaps, size, c.cluster);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, c.expected) << c.cluster;
  }
  auto none = Qcow2BitmapsSize(SourceBitmaps(), size, 65536);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
}

// A source image whose block status is a list of runs, as the driver (and
// here, the generic layer) reports them.
class RunsImage final : public Image {
 public:
  struct Run {
    uint64_t length;
    uint32_t flags;
  };
  RunsImage(uint64_t size, std::vector<Run> runs) : size_(size), runs_(std::move(runs)) {}

  ImageFormat format() const override { return ImageFormat::kRaw; }
  uint64_t VirtualSize() const override { return size_; }
  BlockDevice& file() override { return file_; }
  bool HasDriverBlockStatus() const override { return true; }
  Result<BlockStatus> DriverBlockStatus(bool, uint64_t offset, uint64_t bytes) override {
    ++calls_;
    if (fail_at_call_ != 0 && calls_ == fail_at_call_) {
      return Status::IOError("injected read failure");
    }
    uint64_t start = 0;
    for (const Run& run : runs_) {
      if (offset < start + run.length) {
        BlockStatus s;
        s.flags = run.flags;
        s.bytes = start + run.length - offset;
        if (s.bytes > bytes) s.bytes = bytes;
        return s;
      }
      start += run.length;
    }
    return Status::Corruption("offset past the runs");
  }

  int calls() const { return calls_; }
  void FailAtCall(int n) { fail_at_call_ = n; }

 private:
  uint64_t size_;
  std::vector<Run> runs_;
  int calls_ = 0;
  int fail_at_call_ = 0;
  testing::MemoryDevice file_;
};

Result<BlockStatus> DriverOnly(Image& image, uint64_t offset, uint64_t bytes, const QemuVersion&) {
  return image.DriverBlockStatus(true, offset, bytes);
}

constexpr uint32_t kData = block_status::kData | block_status::kAllocated;
constexpr uint32_t kZero = block_status::kZero | block_status::kAllocated;
constexpr uint32_t kHole = 0;

Result<MeasureResult> MeasureRuns(RunsImage& image, const char* target, const char* options,
                                  MeasureError* error,
                                  BlockStatusFunction block_status = &DriverOnly) {
  const QemuVersion version = Version("10.0.13");
  ImageFormat format;
  INSTAR_RETURN_IF_ERROR(LookUpMeasureTarget(target, std::strlen(target), version, &format, error));
  static std::vector<uint8_t> buffer(4096);
  Arena arena(buffer.data(), buffer.size());
  static ParsedMeasureOptions parsed;
  INSTAR_RETURN_IF_ERROR(
      ParseMeasureOptions(format, options, std::strlen(options), version, arena, &parsed, error));
  MeasureSource source;
  source.image = &image;
  source.block_status = block_status;
  MeasureRequest request;
  request.options = &parsed;
  return Measure(request, &source, version, error);
}

// With no data at all, source mode equals --size mode of the same length:
// `qemu-img measure --size 64M -O qcow2` printed 327680 / 67436544.
TEST(MeasureScanTest, EmptySourceMeasuresLikeItsSize) {
  RunsImage image(64 << 20, {{32 << 20, kHole}, {32 << 20, kZero}});
  MeasureError error;
  auto r = MeasureRuns(image, "qcow2", "", &error);
  ASSERT_TRUE(r.ok()) << ErrorText(error);
  EXPECT_EQ(r->required, 327680u);
  EXPECT_EQ(r->fully_allocated, 67436544u);
  EXPECT_EQ(image.calls(), 2);
}

// Each data run counts every cluster it touches once: from the start of
// its first cluster to the end of its last, and a run that shares a cluster
// with the previous data run's extension is not counted twice.
TEST(MeasureScanTest, DataRunsCountWholeClustersOnce) {
  const uint64_t c = 65536;
  RunsImage image(64 << 20, {
                                {100, kHole},           // [0, 100)
                                {50, kData},            // cluster 0: counted, go to c
                                {c + 10 - 150, kHole},  // up to c + 10
                                {10, kData},            // cluster 1: counted, go to 2c
                                {2 * c - 20, kData},    // from 2c: cluster 2, go to 3c
                                {5 * c, kZero},         // [3c, 8c) skipped
                                {c / 2, kData},         // cluster 8
                                {(64 << 20) - 8 * c - c / 2, kHole},
                            });
  MeasureError error;
  auto r = MeasureRuns(image, "qcow2", "", &error);
  ASSERT_TRUE(r.ok()) << ErrorText(error);
  // --size 64M required (327680) plus four data clusters.
  EXPECT_EQ(r->required, 327680u + 4 * c);
  EXPECT_EQ(r->fully_allocated, 67436544u);
}

// Only runs that are both data and allocated need a data cluster: data
// from another layer (not allocated here) and allocated holes do not.
TEST(MeasureScanTest, OnlyAllocatedDataCounts) {
  RunsImage image(64 << 20,
                  {{1 << 20, block_status::kData},
                   {1 << 20, block_status::kAllocated},
                   {1 << 20, block_status::kData | block_status::kZero | block_status::kAllocated},
                   {61 << 20, kHole}});
  MeasureError error;
  auto r = MeasureRuns(image, "qcow2", "", &error);
  ASSERT_TRUE(r.ok()) << ErrorText(error);
  EXPECT_EQ(r->required, 327680u);
}

// The last, partial cluster of a source counts whole, as the virtual size
// is rounded up to clusters: `qemu-img measure --size 65537 -O qcow2`
// printed 327680 / 458752 (two data clusters).
TEST(MeasureScanTest, PartialLastClusterCountsWhole) {
  RunsImage image(65537, {{65536, kHole}, {1, kData}});
  MeasureError error;
  auto r = MeasureRuns(image, "qcow2", "", &error);
  ASSERT_TRUE(r.ok()) << ErrorText(error);
  EXPECT_EQ(r->fully_allocated, 458752u);
  EXPECT_EQ(r->required, 327680u + 65536u);
}

// preallocation=full/falloc and backing_file= count every cluster as
// required; the raw target ignores the allocation: its required size is
// the source length.
TEST(MeasureScanTest, OptionsThatIgnoreTheScan) {
  RunsImage image(64 << 20, {{64 << 20, kHole}});
  MeasureError error;
  for (const char* options : {"preallocation=full", "preallocation=falloc", "backing_file=x"}) {
    auto r = MeasureRuns(image, "qcow2", options, &error);
    ASSERT_TRUE(r.ok()) << ErrorText(error);
    EXPECT_EQ(r->required, r->fully_allocated) << options;
    EXPECT_EQ(r->fully_allocated, 67436544u) << options;
  }
  auto raw = MeasureRuns(image, "raw", "", &error);
  ASSERT_TRUE(raw.ok()) << ErrorText(error);
  EXPECT_EQ(raw->required, uint64_t{64} << 20);
  EXPECT_EQ(raw->fully_allocated, uint64_t{64} << 20);
}

TEST(MeasureScanTest, BlockStatusFailureIsReportedLikeQemu) {
  RunsImage image(64 << 20, {{1 << 20, kData}, {63 << 20, kHole}});
  image.FailAtCall(2);
  MeasureError error;
  auto r = MeasureRuns(image, "qcow2", "", &error);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);
  EXPECT_EQ(ErrorText(error), "qemu-img: Unable to get block status: Input/output error\n");
}

Result<BlockStatus> ZeroBytes(Image&, uint64_t, uint64_t, const QemuVersion&) {
  BlockStatus s;
  s.flags = kData;
  s.bytes = 0;
  return s;
}
Result<BlockStatus> TooManyBytes(Image&, uint64_t, uint64_t bytes, const QemuVersion&) {
  BlockStatus s;
  s.flags = kData;
  s.bytes = bytes + 1;
  return s;
}

TEST(MeasureScanTest, ImpossibleRunLengthsAreRefused) {
  // An answer of zero bytes would loop forever; one past the request would
  // count beyond the image.
  RunsImage image(64 << 20, {{64 << 20, kHole}});
  for (BlockStatusFunction f : {&ZeroBytes, &TooManyBytes}) {
    MeasureError error;
    auto r = MeasureRuns(image, "qcow2", "", &error, f);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
    EXPECT_EQ(error.kind, MeasureErrorKind::kBlockStatus);
  }
}

// The option checks come before the scan, as in qcow2_measure().
TEST(MeasureScanTest, OptionErrorsComeBeforeTheSource) {
  RunsImage image(64 << 20, {{64 << 20, kData}});
  MeasureError error;
  auto r = MeasureRuns(image, "qcow2", "cluster_size=1000", &error);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(image.calls(), 0);
  EXPECT_EQ(ErrorText(error),
            "qemu-img: Cluster size must be a power of two between 512 and 2048k\n");
}

// The image size limit is checked against -o size even in source mode:
// `qemu-img measure -O qcow2 -o size=1E cases/images/qcow2-v2.qcow2`
// prints "qemu-img: The image size is too large (try using a larger
// cluster size)" with every version.
TEST(MeasureScanTest, SizeOptionLimitAppliesInSourceMode) {
  RunsImage image(64 << 20, {{64 << 20, kHole}});
  MeasureError error;
  auto r = MeasureRuns(image, "qcow2", "size=1E", &error);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorText(error),
            "qemu-img: The image size is too large (try using a larger cluster size)\n");
  EXPECT_EQ(image.calls(), 0);
}

// Bitmaps are reported only for a qcow2 v3 target and a source that
// supports persistent bitmaps.
TEST(MeasureScanTest, BitmapsNeedV3TargetAndCapableSource) {
  RunsImage image(32 << 20, {{32 << 20, kHole}});
  SourceBitmaps bitmaps;
  bitmaps.Add(2, 16);
  bitmaps.Add(2, 17);
  const QemuVersion version = Version("10.0.13");
  for (const char* options : {"", "compat=0.10", "cluster_size=512"}) {
    for (bool capable : {false, true}) {
      std::vector<uint8_t> buffer(4096);
      Arena arena(buffer.data(), buffer.size());
      ParsedMeasureOptions parsed;
      MeasureError error;
      ASSERT_TRUE(ParseMeasureOptions(ImageFormat::kQcow2, options, std::strlen(options), version,
                                      arena, &parsed, &error)
                      .ok());
      MeasureSource source;
      source.image = &image;
      source.block_status = &DriverOnly;
      source.supports_persistent_bitmaps = capable;
      source.bitmaps = bitmaps;
      MeasureRequest request;
      request.options = &parsed;
      auto r = Measure(request, &source, version, &error);
      ASSERT_TRUE(r.ok()) << ErrorText(error);
      const bool v2 = std::strcmp(options, "compat=0.10") == 0;
      EXPECT_EQ(r->has_bitmaps, capable && !v2) << options;
      // See BitmapsSizeOfTheCorpusBitmapImage for the printed numbers.
      if (r->has_bitmaps) {
        EXPECT_EQ(r->bitmaps, options[0] == '\0' ? 327680u : 2560u);
      }
    }
  }
}

// measure_fuzz found this one slow: 4E as twoGbMaxExtentFlat has 2^31
// extents, whose descriptor lines are now summed in closed form (the
// arithmetic is checked against `qemu-img create` for 1050 extents in
// instar_targets_test.cc).
TEST(MeasureRegressionTest, BillionsOfVmdkExtentsAreSummedNotListed) {
  // qemu-img itself refuses this size; the engine is asked without that
  // refusal, as the fuzzer asks it, to reach the extent arithmetic.
  const QemuVersion version = Version("10.0.13");
  const char options[] = "subformat=twoGbMaxExtentFlat";
  std::vector<uint8_t> buffer(4096);
  Arena arena(buffer.data(), buffer.size());
  ParsedMeasureOptions parsed;
  MeasureError error;
  ASSERT_TRUE(ParseMeasureOptions(ImageFormat::kVmdk, options, sizeof(options) - 1, version, arena,
                                  &parsed, &error)
                  .ok())
      << ErrorText(error);
  MeasureRequest request;
  request.options = &parsed;
  request.has_size = true;
  request.size = 4ull << 60;  // 4E
  request.refuse_like_qemu = false;
  auto result = Measure(request, nullptr, version, &error);
  EXPECT_TRUE(result.ok()) << ErrorText(error);
}

}  // namespace
}  // namespace instar
