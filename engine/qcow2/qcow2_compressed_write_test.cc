// The qcow2 writer's compressed writes (WriteCompressed(), qcow2_write.cc)
// against qemu-io's `write -c` of the same sequence. For every qemu-img of
// the matrix (and the system one), each case creates an image with that
// qemu-img, writes it with that version's qemu-io (`write [-c] -s FILE`,
// a file per write holding its bytes), and writes the same sequence into
// a copy of the created file through the engine. The engine's file must
// then pass that version's `qemu-img check` with no errors, read as the
// written data by its `qemu-img compare` against a raw file of it, and
// have the `qemu-img map --output=json` of qemu's file: the same extents,
// compressed or data or zero.
//
// The compressed bytes differ (the engine's deflate is its own, not
// zlib's level 6), so the host offsets of data clusters allocated after a
// compressed cluster may differ where the compressed sizes make the two
// pack differently (a cluster filled up by one and not by the other). The
// map's "offset" of a normal cluster is therefore compared only in the
// cases whose compressed data is a few dozen bytes a cluster (constant
// bytes: qemu and the engine pack those the same way); elsewhere it is
// replaced by a placeholder on both sides before comparing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "instar/engine/format_driver.h"
#include "instar/engine/image.h"
#include "instar/engine/modify.h"
#include "testing/memory_device.h"
#include "testing/qemu_img.h"
#include "testing/write_fuzz.h"

namespace instar {
namespace {

using testing::MemoryDevice;
using testing::QemuImgBinary;
using testing::QemuIoFor;
using testing::RunProgram;
using testing::ScratchDir;

enum class Data { kConstant, kText, kRandom };

struct Op {
  uint64_t offset;
  uint64_t length;
  bool compressed;
  Data data;
  uint8_t seed;  // the byte of kConstant; the generator's seed otherwise
};

struct Case {
  const char* name;
  const char* options;
  uint64_t cluster_size;
  uint64_t size;
  bool exact_offsets;  // only constant data: the packing is qemu's exactly
  std::vector<Op> ops;
};

// Words, spaces and line breaks: text a guest's files hold, which deflate
// takes to a quarter or so.
std::vector<uint8_t> Bytes(const Op& op) {
  std::vector<uint8_t> bytes(op.length, op.seed);
  std::mt19937 rng(op.seed);
  if (op.data == Data::kRandom) {
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  } else if (op.data == Data::kText) {
    static const char* const kWords[] = {"qcow2",  "cluster", "the",   "refcount", "table", "of",
                                         "kernel", "0x1f",    "write", "and",      "data",  "info"};
    std::string s;
    while (s.size() < op.length) {
      s += kWords[rng() % 12];
      s += rng() % 9 == 0 ? "\n" : " ";
    }
    bytes.assign(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(op.length));
  }
  return bytes;
}

class NoFiles final : public DeviceOpener {
 public:
  Result<BlockDevice*> Open(const char*, size_t) override { return Status::IOError("no files"); }
};

// Every qemu-img of the matrix, and the system's.
std::vector<QemuImgBinary> AllQemuImgs() {
  std::vector<QemuImgBinary> out;
  auto add = [&](const std::string& path) {
    const std::string text = testing::QemuImgVersionText(path);
    if (text.empty()) return;
    auto version = ParseQemuVersion(text.data(), text.size());
    if (!version.ok()) return;
    for (const QemuImgBinary& b : out) {
      if (b.version_text == text) return;
    }
    out.push_back({path, *version, text});
  };
  add("qemu-img");
  const std::string matrix = std::string(INSTAR_SOURCE_ROOT) + "/qemu-img-binaries/x86_64/";
  if (DIR* dir = ::opendir(matrix.c_str())) {
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') names.push_back(entry->d_name);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      const std::string path = matrix + name + "/qemu-img";
      if (::access(path.c_str(), X_OK) == 0) add(path);
    }
  }
  return out;
}

bool WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return false;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  return std::fclose(file) == 0 && ok;
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string WithoutOffsets(const std::string& map) {
  return std::regex_replace(map, std::regex(R"("offset": [0-9]+)"), R"("offset": OFFSET)");
}

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      {"text-random-zeros",
       "",
       65536,
       4 << 20,
       false,
       {{0, 65536, true, Data::kText, 1},
        {65536, 3 * 65536, true, Data::kText, 2},
        {4 * 65536, 65536, true, Data::kRandom, 3},  // does not compress: a normal write
        {1 << 20, 65536, false, Data::kText, 4},
        {(1 << 20) + 65536, 2 * 65536, true, Data::kText, 5},
        {3 << 20, 65536, true, Data::kConstant, 0},
        {(3 << 20) + 65536, 65536, true, Data::kRandom, 6},
        {2 << 20, 4096, false, Data::kConstant, 0x42}}},
      {"constant-patterns",
       "",
       65536,
       2 << 20,
       true,
       {{0, 65536, true, Data::kConstant, 0x11},
        {131072, 4 * 65536, true, Data::kConstant, 0x22},
        {65536, 65536, false, Data::kConstant, 0x33},
        {1 << 20, 65536, true, Data::kConstant, 0x44},
        {(1 << 20) + 70000, 1000, false, Data::kConstant, 0x55}}},
      {"cs512-refblocks",
       "cluster_size=512",
       512,
       1 << 20,
       false,
       {{0, 300 * 512, true, Data::kText, 7},
        {300 * 512, 100 * 512, true, Data::kRandom, 8},
        {500 * 512, 512, false, Data::kText, 9},
        {600 * 512, 400 * 512, true, Data::kText, 10}}},
      {"cs512-constant",
       "cluster_size=512",
       512,
       1 << 20,
       false,  // a byte more a cluster than zlib's adds up to a cluster
       {{0, 200 * 512, true, Data::kConstant, 0x61}, {300 * 512, 512, false, Data::kConstant, 1}}},
      {"cs4k-rb1",
       "cluster_size=4k,refcount_bits=1",
       4096,
       2 << 20,
       false,
       {{0, 16 * 4096, true, Data::kText, 11},
        {20 * 4096, 4096, false, Data::kText, 12},
        {24 * 4096, 8 * 4096, true, Data::kText, 13}}},
      {"cs4k-l2-boundary",
       "cluster_size=4k",
       4096,
       8 << 20,
       false,
       {{(2 << 20) - 8192, 16384, true, Data::kText, 14},
        {(4 << 20) - 4096, 8192, true, Data::kRandom, 15}}},
      {"cs2M",
       "cluster_size=2M",
       2 << 20,
       8 << 20,
       false,
       {{0, 2 << 20, true, Data::kText, 16}, {4 << 20, 4 << 20, true, Data::kText, 17}}},
      {"short-last-cluster",
       "",
       65536,
       1000448,  // qemu's sizes are whole sectors
       false,
       {{983040, 1000448 - 983040, true, Data::kText, 18},
        {0, 2 * 65536, true, Data::kText, 19},
        {5 * 65536, 65536, true, Data::kRandom, 20}}},
      {"compat-v2", "compat=0.10", 65536, 1 << 20, false, {{0, 4 * 65536, true, Data::kText, 21}}},
      {"refcount-bits-64",
       "refcount_bits=64",
       65536,
       1 << 20,
       false,
       {{0, 65536, true, Data::kText, 22}, {65536, 65536, true, Data::kText, 23}}},
  };
  return cases;
}

TEST(Qcow2CompressedWriteTest, MatchesQemuIoWriteC) {
  ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::vector<QemuImgBinary> binaries = AllQemuImgs();
  ASSERT_FALSE(binaries.empty()) << "no qemu-img";
  for (const QemuImgBinary& qemu : binaries) {
    for (const Case& c : Cases()) {
      const std::string what = std::string(c.name) + " with qemu " + qemu.version_text;
      SCOPED_TRACE(what);
      const std::string created = dir.File("created.qcow2");
      const std::string theirs = dir.File("qemu.qcow2");
      const std::string ours = dir.File("engine.qcow2");
      const std::string raw = dir.File("expected.raw");
      std::remove(created.c_str());
      std::string out;
      ASSERT_EQ(
          testing::QemuImgCreate(qemu, "qcow2", c.options, created, std::to_string(c.size), &out),
          0)
          << out;
      const std::vector<uint8_t> fresh = testing::ReadWholeFile(created);

      // qemu-io, one write per op, each from its own file.
      ASSERT_TRUE(WriteFile(theirs, fresh));
      std::vector<std::string> argv = {QemuIoFor(qemu), "-f", "qcow2"};
      std::vector<uint8_t> expected(c.size, 0);
      for (size_t i = 0; i < c.ops.size(); ++i) {
        const Op& op = c.ops[i];
        const std::vector<uint8_t> bytes = Bytes(op);
        std::copy(bytes.begin(), bytes.end(), expected.begin() + static_cast<ptrdiff_t>(op.offset));
        // A compressed write a cluster at a time: qemu runs the clusters
        // of one longer write as parallel tasks, which allocate in the
        // order they finish (convert -c writes one cluster at a time).
        const uint64_t step = op.compressed ? c.cluster_size : op.length;
        for (uint64_t at = 0; at < op.length; at += step) {
          const uint64_t n = op.length - at < step ? op.length - at : step;
          const std::string file = dir.File("op" + std::to_string(i) + "-" + std::to_string(at));
          ASSERT_TRUE(WriteFile(
              file, std::vector<uint8_t>(bytes.begin() + static_cast<ptrdiff_t>(at),
                                         bytes.begin() + static_cast<ptrdiff_t>(at + n))));
          argv.push_back("-c");
          argv.push_back(std::string("write -q ") + (op.compressed ? "-c " : "") + "-s " + file +
                         " " + std::to_string(op.offset + at) + " " + std::to_string(n));
        }
      }
      argv.push_back(theirs);
      ASSERT_EQ(RunProgram(argv, &out), 0) << out;
      ASSERT_TRUE(testing::WriteSparseFile(raw, expected));

      // The engine, into the same created file.
      MemoryDevice device(fresh);
      std::vector<uint8_t> buffer(32 << 20);
      Arena arena(buffer.data(), buffer.size());
      const FormatDriver* driver = FindFormatDriver(ImageFormat::kQcow2);
      ASSERT_TRUE(driver->compressed_writes);
      NoFiles opener;
      OpenOptions open_options;
      open_options.compat = qemu.version;
      Result<Image*> image = driver->open(device, opener, arena, open_options);
      ASSERT_TRUE(image.ok()) << image.status().message();
      Result<ImageWriter*> writer =
          driver->open_writer(**image, device, WriterEntropy{}, qemu.version, arena);
      ASSERT_TRUE(writer.ok()) << writer.status().message();
      for (const Op& op : c.ops) {
        const std::vector<uint8_t> bytes = Bytes(op);
        const Status status =
            op.compressed ? (*writer)->WriteCompressed(op.offset, bytes.data(), bytes.size())
                          : (*writer)->Write(op.offset, bytes.data(), bytes.size());
        ASSERT_TRUE(status.ok()) << op.offset << ": " << status.message();
      }
      // qemu-img convert's closing write of no bytes.
      ASSERT_TRUE((*writer)->WriteCompressed(0, nullptr, 0).ok());
      ASSERT_TRUE((*writer)->Finish().ok());
      // Sparse, as qemu leaves its file: a COW region qemu fallocated
      // reads as a hole, and its map says zero there.
      ASSERT_TRUE(testing::WriteSparseFile(ours, device.bytes()));

      EXPECT_EQ(RunProgram({qemu.path, "check", "-f", "qcow2", ours}, &out), 0) << out;
      EXPECT_NE(out.find("No errors were found"), std::string::npos) << out;
      EXPECT_EQ(RunProgram({qemu.path, "compare", "-f", "qcow2", "-F", "raw", ours, raw}, &out), 0)
          << out;
      EXPECT_NE(out.find("Images are identical."), std::string::npos) << out;
      // qemu's own file reads as the data too, or the comparison below
      // means nothing.
      EXPECT_EQ(RunProgram({qemu.path, "compare", "-f", "qcow2", "-F", "raw", theirs, raw}, &out),
                0)
          << out;

      std::string their_map;
      std::string our_map;
      ASSERT_EQ(RunProgram({qemu.path, "map", "--output=json", "-f", "qcow2", theirs}, &their_map),
                0)
          << their_map;
      ASSERT_EQ(RunProgram({qemu.path, "map", "--output=json", "-f", "qcow2", ours}, &our_map), 0)
          << our_map;
      their_map = Replace(their_map, theirs, "$FILENAME");
      our_map = Replace(our_map, ours, "$FILENAME");
      if (c.exact_offsets) {
        EXPECT_EQ(our_map, their_map);
      } else {
        EXPECT_EQ(WithoutOffsets(our_map), WithoutOffsets(their_map));
      }
    }
  }
}

// What a compressed write may not be.
TEST(Qcow2CompressedWriteTest, RefusesWritesThatAreNotWholeFreshClusters) {
  ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  const QemuImgBinary qemu = AllQemuImgs().front();
  const std::string created = dir.File("created.qcow2");
  std::string out;
  ASSERT_EQ(testing::QemuImgCreate(qemu, "qcow2", "", created, "1000000", &out), 0) << out;
  MemoryDevice device(testing::ReadWholeFile(created));
  std::vector<uint8_t> buffer(16 << 20);
  Arena arena(buffer.data(), buffer.size());
  const FormatDriver* driver = FindFormatDriver(ImageFormat::kQcow2);
  NoFiles opener;
  OpenOptions open_options;
  open_options.compat = qemu.version;
  Result<Image*> image = driver->open(device, opener, arena, open_options);
  ASSERT_TRUE(image.ok());
  Result<ImageWriter*> writer =
      driver->open_writer(**image, device, WriterEntropy{}, qemu.version, arena);
  ASSERT_TRUE(writer.ok());
  const std::vector<uint8_t> data(65536, 7);
  EXPECT_EQ((*writer)->WriteCompressed(512, data.data(), 65536).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ((*writer)->WriteCompressed(0, data.data(), 4096).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*writer)->WriteCompressed(983040, data.data(), 65536).code(), StatusCode::kOutOfRange);
  ASSERT_TRUE((*writer)->Write(65536, data.data(), 100).ok());
  // Clusters 0 and 1, and 1 is written: refused before cluster 0 is.
  const std::vector<uint8_t> two(2 * 65536, 7);
  EXPECT_EQ((*writer)->WriteCompressed(0, two.data(), two.size()).code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE((*writer)->WriteCompressed(0, data.data(), 65536).ok());
  EXPECT_EQ((*writer)->WriteCompressed(0, data.data(), 65536).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE((*writer)->Finish().ok());
}

// The write fuzzer's body (qcow2_write_fuzz.cc) over a fixed sample whose
// writes are half compressed, a cluster's size mostly (a pattern of 7
// modulo 13: 64 KiB, the default cluster): every image written reopens,
// passes the engine's check and reads back what was written.
TEST(Qcow2CompressedWriteTest, FuzzBodyHoldsOnASample) {
  size_t wrote = 0;
  std::vector<std::vector<uint8_t>> inputs = testing::SampleWriteFuzzInputs(60, 6, 33);
  for (size_t n = 0; n < inputs.size(); ++n) {
    std::vector<uint8_t>& input = inputs[n];
    input[1] = static_cast<uint8_t>(n % 6 == 5 ? 1 : 0);  // cluster_size=512 now and then
    for (size_t at = 71, i = 0; at + 8 <= input.size(); at += 8, ++i) {
      if (i % 2 != 0) continue;
      input[at + 6] = 0x80;
      if (n % 3 != 0) input[at + 7] = static_cast<uint8_t>(13 * (input[at + 7] / 13) + 7);
    }
  }
  for (const std::vector<uint8_t>& input : inputs) {
    bool written = false;
    EXPECT_EQ(testing::RunWriteFuzzInput(ImageFormat::kQcow2, input.data(), input.size(), &written),
              "");
    wrote += written ? 1 : 0;
  }
  EXPECT_GT(wrote, inputs.size() / 2);
}

}  // namespace
}  // namespace instar
