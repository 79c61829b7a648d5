// The compare walk (instar/engine/compare.h) on pairs of corpus images,
// against what qemu-img compare printed for them: the cases of
// cases/compare.json that compare two stored images, each expected line
// read from baselines/compare-human/<bucket>/10.0.13/<case>.stdout.txt.
#include "instar/engine/compare.h"

#include <deque>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "instar/engine/format_driver.h"
#include "testing/corpus.h"
#include "testing/memory_device.h"

namespace instar {
namespace {

using testing::LoadCorpusImage;
using testing::MemoryDevice;

const QemuVersion kCompat{10, 0, 13};

// What ReadGuest() may borrow for one compressed cluster.
struct Scratch {
  std::vector<uint8_t> memory = std::vector<uint8_t>(16u << 20);
  Arena arena{memory.data(), memory.size()};
};

// Opens any file of the corpus by name, as a backing file is found beside
// its overlay; each as a sparse copy, so the file layer has holes too.
class CorpusOpener final : public DeviceOpener {
 public:
  MemoryDevice* Load(const std::string& name) {
    const std::string path = testing::CorpusPath(name);
    if (!testing::FileExists(path) && !testing::FileExists(path + ".xz")) return nullptr;
    MemoryDevice device = LoadCorpusImage(name);  // raw-empty is empty
    devices_.push_back(std::move(device));
    devices_.back().PunchZeroBlocks(4096);
    return &devices_.back();
  }
  Result<BlockDevice*> Open(const char* name, size_t length) override {
    MemoryDevice* device = Load(std::string(name, length));
    if (device == nullptr) return Status::IOError("no such file");
    return static_cast<BlockDevice*>(device);
  }

 private:
  std::deque<MemoryDevice> devices_;
};

struct Opened {
  std::vector<uint8_t> memory = std::vector<uint8_t>(64u << 20);
  Arena arena{memory.data(), memory.size()};
  CorpusOpener opener;
  Image* image = nullptr;
};

// The corpus file `name`, probed and opened with its backing chain.
std::unique_ptr<Opened> OpenCorpus(const std::string& name) {
  auto opened = std::make_unique<Opened>();
  MemoryDevice* device = opened->opener.Load(name);
  if (device == nullptr) return nullptr;
  Result<ImageFormat> format = ProbeFormat(*device, name.c_str(), name.size());
  if (!format.ok()) return nullptr;
  OpenOptions options;
  options.compat = kCompat;
  Result<Image*> image = OpenImage(*format, *device, opened->opener, opened->arena, options);
  if (!image.ok()) return nullptr;
  if (!OpenBackingChain(**image, opened->opener, opened->arena, options).ok()) return nullptr;
  opened->image = *image;
  return opened;
}

std::string ReadBaseline(const std::string& bucket, const std::string& name) {
  std::ifstream in(std::string(INSTAR_SOURCE_ROOT) + "/baselines/compare-human/" + bucket +
                   "/10.0.13/" + name + ".stdout.txt");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// What img_compare() prints on stdout for `outcome` (the host's renderer
// says the same; this keeps the engine's test on its own).
std::string Printed(const CompareOutcome& outcome) {
  std::string out = outcome.size_warning ? "Warning: Image size mismatch!\n" : "";
  switch (outcome.verdict) {
    case CompareVerdict::kIdentical:
      return out + "Images are identical.\n";
    case CompareVerdict::kContentMismatch:
      return out + "Content mismatch at offset " + std::to_string(outcome.offset) + "!\n";
    case CompareVerdict::kStrictSizeMismatch:
      return out + "Strict mode: Image size mismatch!\n";
    case CompareVerdict::kStrictStatusMismatch:
      return out + "Strict mode: Offset " + std::to_string(outcome.offset) +
             " block status mismatch!\n";
  }
  return out;
}

struct PairCase {
  const char* bucket;
  const char* name;  // the case of cases/compare.json
  const char* a;     // its images' stored files
  const char* b;
  bool strict;
};

// Every case of cases/compare.json between two stored images.
constexpr PairCase kPairs[] = {
    {"qcow2", "empty-qcow2-vs-empty-vmdk", "qcow2-empty.qcow2", "vmdk-empty.vmdk", false},
    {"qcow2", "empty-qcow2-vs-empty-vhdx", "qcow2-empty.qcow2", "vhdx-empty.vhdx", false},
    {"vhdx", "empty-vhdx-vs-empty-vpc", "vhdx-empty.vhdx", "vpc-empty.vhd", false},
    {"vhdx", "empty-vhdx-vs-empty-vpc-strict", "vhdx-empty.vhdx", "vpc-empty.vhd", true},
    {"qcow2", "base-vs-overlay", "qcow2-v3-64k.qcow2", "qcow2-backing.qcow2", false},
    {"qcow2", "overlay-vs-base", "qcow2-backing.qcow2", "qcow2-v3-64k.qcow2", false},
    {"qcow2", "base-vs-zeroing-overlay", "qcow2-v3-64k.qcow2", "qcow2-backing-zero.qcow2", false},
    {"qcow2", "64M-vs-1G-empty", "qcow2-v3-64k.qcow2", "qcow2-empty.qcow2", false},
    {"qcow2", "64M-vs-1G-empty-strict", "qcow2-v3-64k.qcow2", "qcow2-empty.qcow2", true},
    {"qcow2", "1G-empty-vs-64M", "qcow2-empty.qcow2", "qcow2-v3-64k.qcow2", false},
    {"raw", "raw-vs-qcow2-overlay", "raw-sparse.raw", "qcow2-over-raw.qcow2", false},
    {"vmdk", "vmdk-base-vs-child", "vmdk-sparse.vmdk", "vmdk-child.vmdk", false},
    {"raw", "empty-raw-vs-odd-raw", "raw-empty.raw", "raw-odd.raw", false},
    {"vpc", "fixed-vpc-2M-vs-3M", "vpc-fixed.vhd", "vpc-fixed-end.vhd", false},
    {"vpc", "fixed-vpc-2M-vs-3M-strict", "vpc-fixed.vhd", "vpc-fixed-end.vhd", true},
    {"qcow2", "64k-clusters-vs-4k-compressed", "qcow2-compressed.qcow2",
     "qcow2-compressed-4k.qcow2", false},
    {"qcow2", "zlib-vs-partly-rewritten", "qcow2-compressed.qcow2",
     "qcow2-compressed-partial.qcow2", false},
    {"qcow2", "qcow2-compressed-vs-vmdk-stream", "qcow2-compressed.qcow2", "vmdk-stream.vmdk",
     false},
    {"qcow2", "zlib-vs-zstd", "qcow2-compressed.qcow2", "qcow2-zstd.qcow2", false},
    {"qcow2", "qcow2-zstd-vs-vmdk-stream", "qcow2-zstd.qcow2", "vmdk-stream.vmdk", false},
    {"qcow2", "zstd-vs-partly-rewritten", "qcow2-zstd.qcow2", "qcow2-zstd-partial.qcow2", false},
};

TEST(CompareImagesTest, PrintsWhatQemuImgPrintedForCorpusPairs) {
  std::vector<uint8_t> buffer1(kCompareChunkBytes);
  std::vector<uint8_t> buffer2(kCompareChunkBytes);
  Scratch scratch;
  for (const PairCase& c : kPairs) {
    SCOPED_TRACE(c.name);
    const std::string expected = ReadBaseline(c.bucket, c.name);
    ASSERT_FALSE(expected.empty());
    auto a = OpenCorpus(c.a);
    auto b = OpenCorpus(c.b);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    const CompareOutcome outcome = CompareImages(*a->image, *b->image, c.strict, kCompat,
                                                 buffer1.data(), buffer2.data(), scratch.arena);
    ASSERT_EQ(outcome.failure.exit_code, 0u) << outcome.failure.status.message();
    EXPECT_EQ(Printed(outcome), expected);
  }
}

// An image against itself is identical, strict or not, whatever it holds.
TEST(CompareImagesTest, AnImageEqualsItself) {
  std::vector<uint8_t> buffer1(kCompareChunkBytes);
  std::vector<uint8_t> buffer2(kCompareChunkBytes);
  Scratch scratch;
  for (const char* name :
       {"qcow2-v3-64k.qcow2", "qcow2-backing.qcow2", "qcow2-compressed.qcow2", "qcow2-zstd.qcow2",
        "vmdk-sparse.vmdk", "vpc-dynamic.vhd", "vhdx-dynamic.vhdx", "raw-sparse.raw"}) {
    SCOPED_TRACE(name);
    auto a = OpenCorpus(name);
    auto b = OpenCorpus(name);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    for (bool strict : {false, true}) {
      const CompareOutcome outcome = CompareImages(*a->image, *b->image, strict, kCompat,
                                                   buffer1.data(), buffer2.data(), scratch.arena);
      EXPECT_EQ(outcome.failure.exit_code, 0u) << outcome.failure.status.message();
      EXPECT_EQ(outcome.verdict, CompareVerdict::kIdentical);
      EXPECT_FALSE(outcome.size_warning);
    }
  }
}

// ReadGuest() of an overlay is its own clusters over its backing file's:
// qcow2-backing's recipe (cases/images/manifest.json) writes 0xd1 over
// [64 KiB, 128 KiB) of qcow2-v3-64k and nothing else.
TEST(ReadGuestTest, UnallocatedClustersReadFromTheBackingFile) {
  auto overlay = OpenCorpus("qcow2-backing.qcow2");
  auto base = OpenCorpus("qcow2-v3-64k.qcow2");
  ASSERT_NE(overlay, nullptr);
  ASSERT_NE(base, nullptr);
  const uint64_t size = base->image->VirtualSize();
  std::vector<uint8_t> top(1u << 20);
  std::vector<uint8_t> below(1u << 20);
  Scratch scratch;
  for (uint64_t offset = 0; offset < size; offset += top.size()) {
    ASSERT_TRUE(
        ReadGuest(*overlay->image, offset, top.size(), top.data(), kCompat, scratch.arena).ok());
    ASSERT_TRUE(
        ReadGuest(*base->image, offset, below.size(), below.data(), kCompat, scratch.arena).ok());
    if (offset != 0) {
      EXPECT_EQ(top, below) << offset;
      continue;
    }
    for (size_t i = 0; i < top.size(); ++i) {
      const bool written = i >= (64u << 10) && i < (128u << 10);
      ASSERT_EQ(top[i], written ? 0xd1 : below[i]) << i;
    }
  }
}

}  // namespace
}  // namespace instar
