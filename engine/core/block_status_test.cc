// The generic block-status layer over stand-in format drivers. Sparse files
// are MemoryDevices with holes (AddHole / PunchZeroBlocks), which is what
// the file protocol's SeekData/SeekHole refinement reads.
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "instar/engine/bytes.h"
#include "instar/engine/image.h"
#include "qcow2/qcow2_test_util.h"
#include "testing/corpus.h"
#include "testing/memory_device.h"

namespace instar {
namespace {

using namespace block_status;
using qcow2_testing::MapEntry;
using testing::MemoryDevice;

using Driver = std::function<Result<BlockStatus>(uint64_t offset, uint64_t bytes)>;

// A format node whose driver answer the test chooses.
class FakeImage final : public Image {
 public:
  FakeImage(ImageFormat format, uint64_t size, BlockDevice& file, Driver driver)
      : format_(format), size_(size), file_(&file), driver_(std::move(driver)) {}

  ImageFormat format() const override { return format_; }
  uint64_t VirtualSize() const override { return size_; }
  BlockDevice& file() override { return *file_; }
  bool HasDriverBlockStatus() const override { return static_cast<bool>(driver_); }
  Result<BlockStatus> DriverBlockStatus(bool want_zero, uint64_t offset, uint64_t bytes) override {
    EXPECT_TRUE(want_zero);
    ++calls_;
    return driver_(offset, bytes);
  }
  int calls() const { return calls_; }

 private:
  ImageFormat format_;
  uint64_t size_;
  BlockDevice* file_;
  Driver driver_;
  int calls_ = 0;
};

// qemu's raw format driver: defer to the file at the same offset.
FakeImage RawImage(MemoryDevice& file) {
  return FakeImage(ImageFormat::kRaw, AlignUp(file.Size(), 512), file,
                   [&file](uint64_t offset, uint64_t bytes) -> Result<BlockStatus> {
                     BlockStatus s;
                     s.flags = kRaw | kOffsetValid;
                     s.bytes = bytes;
                     s.map = offset;
                     s.file = &file;
                     return s;
                   });
}

void ExpectMap(const std::vector<MapEntry>& got, const std::string& qemu_output) {
  const std::vector<MapEntry> want = qcow2_testing::ParseMapJson(qemu_output);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE("entry " + std::to_string(i) + ": got " + qcow2_testing::Describe(got[i]));
    EXPECT_EQ(got[i].start, want[i].start);
    EXPECT_EQ(got[i].length, want[i].length);
    EXPECT_EQ(got[i].zero, want[i].zero);
    EXPECT_EQ(got[i].data, want[i].data);
    if (want[i].has_present) {
      EXPECT_EQ(got[i].present, want[i].present);
    }
    EXPECT_EQ(got[i].has_offset, want[i].has_offset);
    EXPECT_EQ(got[i].offset, want[i].offset);
  }
}

MemoryDevice RawSparseCorpusImage() {
  return MemoryDevice::LoadFile(qcow2_testing::SourcePath("cases/images/raw-sparse.raw"));
}

// `qemu-img map -f raw --output=json` (10.0.13) of a copy of
// cases/images/raw-sparse.raw made with cp --sparse=always.
TEST(BlockStatusTest, RawOverASparseFileFollowsItsHoles) {
  MemoryDevice file = RawSparseCorpusImage();
  ASSERT_EQ(file.Size(), 3145728u);
  file.PunchZeroBlocks(4096);
  FakeImage image = RawImage(file);
  auto walked = qcow2_testing::WalkMap(image, qcow2_testing::Version("10.0.13"));
  ASSERT_TRUE(walked.ok()) << walked.status().message();
  ExpectMap(
      *walked,
      R"([{ "start": 0, "length": 4096, "depth": 0, "present": true, "zero": false, "data": true, "compressed": false, "offset": 0},
{ "start": 4096, "length": 1044480, "depth": 0, "present": true, "zero": true, "data": false, "compressed": false, "offset": 4096},
{ "start": 1048576, "length": 65536, "depth": 0, "present": true, "zero": false, "data": true, "compressed": false, "offset": 1048576},
{ "start": 1114112, "length": 983040, "depth": 0, "present": true, "zero": true, "data": false, "compressed": false, "offset": 1114112},
{ "start": 2097152, "length": 12288, "depth": 0, "present": true, "zero": false, "data": true, "compressed": false, "offset": 2097152},
{ "start": 2109440, "length": 1036288, "depth": 0, "present": true, "zero": true, "data": false, "compressed": false, "offset": 2109440}])");
}

// The same for a fully allocated copy (cp --sparse=never), 10.0.13:
TEST(BlockStatusTest, RawOverADenseFileIsOneDataRun) {
  MemoryDevice file = RawSparseCorpusImage();
  FakeImage image = RawImage(file);
  auto walked = qcow2_testing::WalkMap(image, qcow2_testing::Version("10.0.13"));
  ASSERT_TRUE(walked.ok());
  ExpectMap(
      *walked,
      R"([{ "start": 0, "length": 3145728, "depth": 0, "present": true, "zero": false, "data": true, "compressed": false, "offset": 0}])");
}

// A 1000-byte raw file of 0xff: the node is 1024 bytes long (whole sectors)
// and the tail past EOF reads as a hole. `qemu-img map -f raw --output=json`
// (5.2.0 and 10.0.13 alike, 10.0.13 quoted):
TEST(BlockStatusTest, PartialSectorAtEndOfFile) {
  MemoryDevice file(std::vector<uint8_t>(1000, 0xff));
  FakeImage image = RawImage(file);
  auto walked = qcow2_testing::WalkMap(image, qcow2_testing::Version("10.0.13"));
  ASSERT_TRUE(walked.ok());
  ExpectMap(
      *walked,
      R"([{ "start": 0, "length": 1000, "depth": 0, "present": true, "zero": false, "data": true, "compressed": false, "offset": 0},
{ "start": 1000, "length": 24, "depth": 0, "present": true, "zero": true, "data": false, "compressed": false, "offset": 1000}])");
  auto last = BlockStatusAbove(image, 1000, 24, qcow2_testing::Version("10.0.13"));
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->flags, kZero | kOffsetValid | kAllocated | kEof);
}

TEST(BlockStatusTest, RequestsAtOrPastTheEnd) {
  MemoryDevice file(std::vector<uint8_t>(4096, 1));
  FakeImage image = RawImage(file);
  auto at_end = BlockStatusAbove(image, 4096, 512, qcow2_testing::Version("10.0.13"));
  ASSERT_TRUE(at_end.ok());
  EXPECT_EQ(at_end->flags, kEof);
  EXPECT_EQ(at_end->bytes, 0u);
  auto nothing = BlockStatusAbove(image, 0, 0, qcow2_testing::Version("10.0.13"));
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(nothing->flags, 0u);
  EXPECT_EQ(nothing->bytes, 0u);
  EXPECT_EQ(image.calls(), 0);
  // A request past the end is clamped, and the run reaches EOF.
  auto clamped =
      BlockStatusAbove(image, 1024, UINT64_MAX - 1024, qcow2_testing::Version("10.0.13"));
  ASSERT_TRUE(clamped.ok());
  EXPECT_EQ(clamped->bytes, 3072u);
  EXPECT_EQ(clamped->flags, kData | kOffsetValid | kAllocated | kEof);
}

// A driver without block status (qemu's vhdx): all of it is allocated data,
// with no offset since the node is not a protocol.
TEST(BlockStatusTest, DriverWithoutBlockStatus) {
  MemoryDevice file(std::vector<uint8_t>(512, 0));
  FakeImage image(ImageFormat::kVhdx, 1 << 20, file, Driver());
  auto head = BlockStatusAbove(image, 0, 4096, qcow2_testing::Version("10.0.13"));
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->flags, kData | kAllocated);
  EXPECT_EQ(head->bytes, 4096u);
  auto tail = BlockStatusAbove(image, 4096, 1 << 30, qcow2_testing::Version("10.0.13"));
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->flags, kData | kAllocated | kEof);
  EXPECT_EQ(tail->bytes, (1u << 20) - 4096u);
}

Driver Unallocated() {
  return [](uint64_t, uint64_t bytes) -> Result<BlockStatus> {
    BlockStatus s;
    s.bytes = bytes;
    return s;
  };
}

// Unallocated ranges read as zeros only for drivers that support backing
// files (qcow2, vmdk), when no backing node is open; vpc's stay "neither".
TEST(BlockStatusTest, UnallocatedIsZeroOnlyWhereBackingIsSupported) {
  MemoryDevice file(std::vector<uint8_t>(512, 0));
  FakeImage vmdk(ImageFormat::kVmdk, 1 << 20, file, Unallocated());
  auto a = BlockStatusAbove(vmdk, 0, 1 << 20, qcow2_testing::Version("10.0.13"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->flags, kZero | kEof);
  FakeImage vpc(ImageFormat::kVpc, 1 << 20, file, Unallocated());
  auto b = BlockStatusAbove(vpc, 0, 1 << 20, qcow2_testing::Version("10.0.13"));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->flags, kEof);
}

// A driver that maps guest offset x to host offset x + 4096 and asks for the
// file to be consulted (BDRV_BLOCK_RECURSE, as qcow2 does for
// metadata-preallocated images and vmdk for flat extents).
Driver RecursingDriver(MemoryDevice& file) {
  return [&file](uint64_t offset, uint64_t bytes) -> Result<BlockStatus> {
    BlockStatus s;
    s.flags = kData | kOffsetValid | kRecurse;
    s.bytes = bytes;
    s.map = offset + 4096;
    s.file = &file;
    return s;
  };
}

TEST(BlockStatusTest, RecurseAddsZeroForHolesInTheFile) {
  // File: 4 KiB header, 8 KiB data, 16 KiB hole, 4 KiB data; 32 KiB long.
  MemoryDevice file(std::vector<uint8_t>(32768, 0xaa));
  file.AddHole(12288, 16384);
  FakeImage image(ImageFormat::kVmdk, 65536, file, RecursingDriver(file));
  const QemuVersion v10 = qcow2_testing::Version("10.0.13");

  auto data = BlockStatusAbove(image, 0, 65536, v10);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->flags, kData | kOffsetValid | kAllocated);
  EXPECT_EQ(data->bytes, 8192u);  // limited to the file's data extent
  EXPECT_EQ(data->map, 4096u);

  auto hole = BlockStatusAbove(image, 8192, 65536 - 8192, v10);
  ASSERT_TRUE(hole.ok());
  EXPECT_EQ(hole->flags, kData | kZero | kOffsetValid | kAllocated);
  EXPECT_EQ(hole->bytes, 16384u);

  // Guest 28 KiB maps to host 32 KiB: past the end of the file, zeros to the
  // end of the request.
  auto past = BlockStatusAbove(image, 28672, 65536 - 28672, v10);
  ASSERT_TRUE(past.ok());
  EXPECT_EQ(past->flags, kData | kZero | kOffsetValid | kAllocated | kEof);
  EXPECT_EQ(past->bytes, 65536u - 28672u);
}

// 5.2.0 leaves BDRV_BLOCK_RECURSE in the result; 7.2.9+ clears it.
TEST(BlockStatusTest, RecurseFlagDependsOnTheVersion) {
  MemoryDevice file(std::vector<uint8_t>(32768, 0xaa));
  FakeImage image(ImageFormat::kVmdk, 65536, file, RecursingDriver(file));
  for (const char* version : {"5.2.0", "7.2.18", "7.2.22", "10.0.2", "11.1.3"}) {
    auto status = BlockStatusAbove(image, 0, 4096, qcow2_testing::Version(version));
    ASSERT_TRUE(status.ok());
    EXPECT_EQ((status->flags & kRecurse) != 0, std::string(version) == "5.2.0") << version;
  }
}

TEST(BlockStatusTest, MalformedDriverAnswersAreErrors) {
  MemoryDevice file(std::vector<uint8_t>(4096, 0));
  const QemuVersion v10 = qcow2_testing::Version("10.0.13");
  FakeImage empty(ImageFormat::kVpc, 4096, file,
                  [](uint64_t, uint64_t) -> Result<BlockStatus> { return BlockStatus{}; });
  EXPECT_FALSE(BlockStatusAbove(empty, 0, 4096, v10).ok());
  FakeImage zero_recurse(ImageFormat::kVpc, 4096, file,
                         [](uint64_t, uint64_t bytes) -> Result<BlockStatus> {
                           BlockStatus s;
                           s.flags = kData | kZero | kRecurse | kOffsetValid;
                           s.bytes = bytes;
                           return s;
                         });
  EXPECT_FALSE(BlockStatusAbove(zero_recurse, 0, 4096, v10).ok());
  FakeImage raw_without_file(ImageFormat::kRaw, 4096, file,
                             [](uint64_t, uint64_t bytes) -> Result<BlockStatus> {
                               BlockStatus s;
                               s.flags = kRaw | kOffsetValid;
                               s.bytes = bytes;
                               return s;
                             });
  EXPECT_FALSE(BlockStatusAbove(raw_without_file, 0, 4096, v10).ok());
  FakeImage failing(ImageFormat::kVpc, 4096, file, [](uint64_t, uint64_t) -> Result<BlockStatus> {
    return Status::IOError("device gone");
  });
  auto failed = BlockStatusAbove(failing, 0, 4096, v10);
  ASSERT_FALSE(failed.ok());
  EXPECT_STREQ(failed.status().message(), "device gone");
}

// A driver may answer for more than was asked; the layer clamps it.
TEST(BlockStatusTest, DriverAnswerIsClampedToTheRequest) {
  MemoryDevice file(std::vector<uint8_t>(4096, 0));
  FakeImage generous(ImageFormat::kVpc, 1 << 20, file,
                     [](uint64_t offset, uint64_t) -> Result<BlockStatus> {
                       BlockStatus s;
                       s.flags = kData;
                       s.bytes = (1 << 20) - offset;
                       return s;
                     });
  auto status = BlockStatusAbove(generous, 512, 1024, qcow2_testing::Version("10.0.13"));
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->bytes, 1024u);
  EXPECT_EQ(status->flags, kData | kAllocated);
}

}  // namespace
}  // namespace instar

namespace instar {
namespace {

// The overlay cases/images/qcow2-backing.qcow2 over qcow2-v3-64k.qcow2, both
// copied with cp --sparse=always, opened with its backing chain.
struct OverlayChain {
  MemoryDevice overlay = testing::LoadCorpusImage("qcow2-backing.qcow2");
  MemoryDevice base = testing::LoadCorpusImage("qcow2-v3-64k.qcow2");
  testing::MapOpener opener;
  std::vector<uint8_t> memory = std::vector<uint8_t>(1 << 20);
  Arena arena{memory.data(), memory.size()};

  Result<Image*> Open(const char* compat) {
    overlay.PunchZeroBlocks();
    base.PunchZeroBlocks();
    opener.Add("qcow2-v3-64k.qcow2", &base);
    OpenOptions options;
    options.compat = qcow2_testing::Version(compat);
    INSTAR_ASSIGN_OR_RETURN(Image * top,
                            OpenImage(ImageFormat::kQcow2, overlay, opener, arena, options));
    INSTAR_RETURN_IF_ERROR(OpenBackingChain(*top, opener, arena, options));
    return top;
  }
};

// `qemu-img map --output=json qcow2-backing.qcow2` of qemu-img 10.0.13 (the
// same bytes from 11.1.3): runs the overlay leaves unallocated come from
// the backing file (depth 1), and what neither allocates reads as zeros.
TEST(BlockStatusChainTest, UnallocatedRunsComeFromTheBackingFile) {
  OverlayChain chain;
  Result<Image*> top = chain.Open("10.0.13");
  ASSERT_TRUE(top.ok()) << top.status().message();
  ASSERT_NE((*top)->backing(), nullptr);
  Result<std::vector<MapEntry>> map =
      qcow2_testing::WalkMap(**top, qcow2_testing::Version("10.0.13"));
  ASSERT_TRUE(map.ok()) << map.status().message();
  ExpectMap(
      *map,
      R"([{ "start": 0, "length": 65536, "depth": 1, "present": true, "zero": false, "data": true, "compressed": false, "offset": 327680},
{ "start": 65536, "length": 65536, "depth": 0, "present": true, "zero": false, "data": true, "compressed": false, "offset": 327680},
{ "start": 131072, "length": 393216, "depth": 1, "present": false, "zero": true, "data": false, "compressed": false},
{ "start": 524288, "length": 4096, "depth": 1, "present": true, "zero": false, "data": true, "compressed": false, "offset": 393216},
{ "start": 528384, "length": 61440, "depth": 1, "present": true, "zero": true, "data": true, "compressed": false, "offset": 397312},
{ "start": 589824, "length": 7798784, "depth": 1, "present": false, "zero": true, "data": false, "compressed": false},
{ "start": 8388608, "length": 262144, "depth": 1, "present": true, "zero": false, "data": true, "compressed": false, "offset": 458752},
{ "start": 8650752, "length": 57409536, "depth": 1, "present": false, "zero": true, "data": false, "compressed": false},
{ "start": 66060288, "length": 65536, "depth": 1, "present": true, "zero": false, "data": true, "compressed": false, "offset": 720896},
{ "start": 66125824, "length": 983040, "depth": 1, "present": false, "zero": true, "data": false, "compressed": false}])");
}

// The same walk as qemu-img 5.2.0 prints it (no "present" field).
TEST(BlockStatusChainTest, OldestVersionWalksTheChainAlike) {
  OverlayChain chain;
  Result<Image*> top = chain.Open("5.2.0");
  ASSERT_TRUE(top.ok()) << top.status().message();
  Result<std::vector<MapEntry>> map =
      qcow2_testing::WalkMap(**top, qcow2_testing::Version("5.2.0"));
  ASSERT_TRUE(map.ok()) << map.status().message();
  ExpectMap(
      *map,
      R"([{ "start": 0, "length": 65536, "depth": 1, "zero": false, "data": true, "offset": 327680},
{ "start": 65536, "length": 65536, "depth": 0, "zero": false, "data": true, "offset": 327680},
{ "start": 131072, "length": 393216, "depth": 1, "zero": true, "data": false},
{ "start": 524288, "length": 4096, "depth": 1, "zero": false, "data": true, "offset": 393216},
{ "start": 528384, "length": 61440, "depth": 1, "zero": true, "data": true, "offset": 397312},
{ "start": 589824, "length": 7798784, "depth": 1, "zero": true, "data": false},
{ "start": 8388608, "length": 262144, "depth": 1, "zero": false, "data": true, "offset": 458752},
{ "start": 8650752, "length": 57409536, "depth": 1, "zero": true, "data": false},
{ "start": 66060288, "length": 65536, "depth": 1, "zero": false, "data": true, "offset": 720896},
{ "start": 66125824, "length": 983040, "depth": 1, "zero": true, "data": false}])");
}

// A backing name is resolved against the directory of the image naming it
// (qemu's path_combine), relative to the top image's directory.
TEST(BlockStatusChainTest, BackingNamesAreRelativeToTheImageNamingThem) {
  OverlayChain chain;
  ASSERT_TRUE(chain.Open("10.0.13").ok());
  ASSERT_EQ(chain.opener.opened().size(), 1u);
  EXPECT_EQ(chain.opener.opened()[0], "qcow2-v3-64k.qcow2");
}

// top.qcow2 -> sub/mid.qcow2 -> sub/base.qcow2 (mid names "base.qcow2"),
// made with the system qemu-img: the opener is asked for "sub/base.qcow2".
TEST(BlockStatusChainTest, NestedRelativeNamesCombineLikePathCombine) {
  char dir_template[] = "/tmp/instar-chain-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string script = "cd '" + dir +
                             "' && mkdir sub && "
                             "qemu-img create -q -f qcow2 sub/base.qcow2 1M && "
                             "qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 sub/mid.qcow2 && "
                             "qemu-img create -q -f qcow2 -b sub/mid.qcow2 -F qcow2 top.qcow2";
  ASSERT_EQ(std::system(script.c_str()), 0) << script;
  MemoryDevice top = MemoryDevice::LoadFile(dir + "/top.qcow2");
  MemoryDevice mid = MemoryDevice::LoadFile(dir + "/sub/mid.qcow2");
  MemoryDevice base = MemoryDevice::LoadFile(dir + "/sub/base.qcow2");
  ASSERT_EQ(std::system(("rm -rf '" + dir + "'").c_str()), 0);
  testing::MapOpener opener;
  opener.Add("sub/mid.qcow2", &mid);
  opener.Add("sub/base.qcow2", &base);
  std::vector<uint8_t> memory(1 << 20);
  Arena arena(memory.data(), memory.size());
  OpenOptions options;
  Result<Image*> image = OpenImage(ImageFormat::kQcow2, top, opener, arena, options);
  ASSERT_TRUE(image.ok()) << image.status().message();
  ASSERT_TRUE(OpenBackingChain(**image, opener, arena, options).ok());
  EXPECT_EQ(opener.opened(), (std::vector<std::string>{"sub/mid.qcow2", "sub/base.qcow2"}));
  ASSERT_NE((*image)->backing(), nullptr);
  EXPECT_NE((*image)->backing()->backing(), nullptr);
}

TEST(BlockStatusChainTest, MissingBackingFileIsAnError) {
  MemoryDevice overlay = testing::LoadCorpusImage("qcow2-backing.qcow2");
  testing::MapOpener opener;  // knows no files
  std::vector<uint8_t> memory(1 << 20);
  Arena arena(memory.data(), memory.size());
  OpenOptions options;
  Result<Image*> top = OpenImage(ImageFormat::kQcow2, overlay, opener, arena, options);
  ASSERT_TRUE(top.ok());
  EXPECT_FALSE(OpenBackingChain(**top, opener, arena, options).ok());
}

}  // namespace
}  // namespace instar
