// The qcow2 writer (qcow2_write.cc) against the real qemu-img and qemu-io:
// every case writes the same guest data with qemu and with the engine
// (the create hook into a MemoryDevice, the reader, open_writer, the
// writes, Finish()), and the two files must be equal byte for byte,
// length included. dd cases run `qemu-img dd -O qcow2` of a raw input and
// replay img_dd()'s block loop; write cases run one qemu-io with a
// `write -P` per write and replay the writes. The system qemu-img (7.2)
// always runs; 5.2, 10.0 and 11.1 of the matrix when present. Each image
// the engine writes must also pass `qemu-img check` of 5.2.0 and 11.1.3
// (where present) with no errors and no leaks.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "instar/engine/format_driver.h"
#include "instar/engine/image.h"
#include "instar/engine/modify.h"
#include "testing/corpus.h"
#include "testing/create_hook.h"
#include "testing/memory_device.h"
#include "testing/qemu_img.h"
#include "testing/write_sequence.h"

namespace instar {
namespace {

using testing::MemoryDevice;
using testing::OverlayWrite;
using testing::QemuImgBinary;
using testing::QemuIoFor;
using testing::RunProgram;
using testing::ScratchDir;

struct GuestWrite {
  uint64_t offset;
  uint64_t length;
  uint8_t pattern;
};

class NoFiles final : public DeviceOpener {
 public:
  Result<BlockDevice*> Open(const char*, size_t) override { return Status::IOError("no files"); }
};

// The input of a dd case: runs of data and of zeros, so that both reach
// the writer (dd writes every block, zeros included).
std::vector<uint8_t> Input(uint64_t size) {
  std::vector<uint8_t> bytes(size);
  uint32_t state = 0x12345678;
  for (uint64_t i = 0; i < size; ++i) {
    if ((i / 40000) % 3 == 1) continue;  // a zero run
    state = state * 1103515245 + 12345;
    bytes[i] = static_cast<uint8_t>(state >> 16);
  }
  return bytes;
}

// The engine's image: created by the hook with `options` and `size`,
// opened by the reader, then `writes(writer)` and Finish().
template <typename Writes>
MemoryDevice EngineImage(const QemuImgBinary& qemu, const std::string& options, uint64_t size,
                         Writes writes) {
  testing::CreateOutcome created = testing::RunCreateHook(
      ImageFormat::kQcow2, options, size, qemu.version, "image", 0, {}, size_t{32} << 20);
  EXPECT_TRUE(created.status.ok()) << created.error_text;
  std::vector<uint8_t> buffer(32 << 20);
  Arena arena(buffer.data(), buffer.size());
  const FormatDriver* driver = FindFormatDriver(ImageFormat::kQcow2);
  NoFiles opener;
  OpenOptions open_options;
  open_options.compat = qemu.version;
  Result<Image*> image = driver->open(created.device, opener, arena, open_options);
  EXPECT_TRUE(image.ok());
  if (!image.ok()) return std::move(created.device);
  EXPECT_NE(driver->open_writer, nullptr);
  Result<ImageWriter*> writer =
      driver->open_writer(**image, created.device, WriterEntropy{}, qemu.version, arena);
  EXPECT_TRUE(writer.ok()) << writer.status().message();
  if (!writer.ok()) return std::move(created.device);
  writes(**writer);
  EXPECT_TRUE((*writer)->Finish().ok());
  return std::move(created.device);
}

// `qemu-img check` of 5.2.0 and 11.1.3 (where present) on the engine's file.
void ExpectCheckClean(const ScratchDir& dir, MemoryDevice& device, const std::string& what) {
  const std::string path = dir.File("engine.qcow2");
  FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(std::fwrite(device.bytes().data(), 1, device.bytes().size(), file),
            device.bytes().size());
  std::fclose(file);
  for (const char* version : {"5.2.0", "11.1.3"}) {
    const std::string qemu_img =
        std::string(INSTAR_SOURCE_ROOT) + "/qemu-img-binaries/x86_64/" + version + "/qemu-img";
    if (::access(qemu_img.c_str(), X_OK) != 0) continue;
    std::string out;
    EXPECT_EQ(RunProgram({qemu_img, "check", "-f", "qcow2", path}, &out), 0)
        << what << " qemu-img " << version << ": " << out;
    EXPECT_NE(out.find("No errors were found"), std::string::npos) << what << ": " << out;
  }
}

struct DdCase {
  const char* name;
  uint64_t input_size;
  uint64_t block_size;
  int64_t count;  // -1: not given
  int64_t skip;   // -1: not given
};

TEST(Qcow2WriteTest, DdMatchesQemuImgDd) {
  const DdCase cases[] = {
      {"whole-512", 1 << 20, 512, -1, -1},
      {"bs1000-count3", 1 << 20, 1000, 3, -1},
      {"bs65536-skip2-count4", 1 << 20, 65536, 4, 2},
      {"count0", 1 << 20, 512, 0, -1},
      {"bs1000-unaligned", 3000000, 1000, -1, -1},
      {"bs1M", 3 << 20, 1 << 20, -1, -1},
      {"bs4096-skip3", 2 << 20, 4096, -1, 3},
      {"bs3000-tail", 1000000, 3000, -1, 7},
      {"bs2M", 5 << 20, 2 << 20, -1, -1},
  };
  ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  for (const QemuImgBinary& qemu : testing::QemuImgBinaries()) {
    for (const DdCase& c : cases) {
      const std::string what = std::string(c.name) + " with qemu-img " + qemu.version_text;
      SCOPED_TRACE(what);
      const std::vector<uint8_t> input = Input(c.input_size);
      const std::string in_path = dir.File("in.raw");
      const std::string out_path = dir.File("out.qcow2");
      ASSERT_TRUE(testing::WriteSparseFile(in_path, input));
      std::remove(out_path.c_str());
      std::vector<std::string> argv = {
          qemu.path, "dd", "-f", "raw", "-O", "qcow2", "bs=" + std::to_string(c.block_size)};
      if (c.count >= 0) argv.push_back("count=" + std::to_string(c.count));
      if (c.skip >= 0) argv.push_back("skip=" + std::to_string(c.skip));
      argv.push_back("if=" + in_path);
      argv.push_back("of=" + out_path);
      std::string out;
      ASSERT_EQ(RunProgram(argv, &out), 0) << out;
      const std::vector<uint8_t> expected = testing::ReadWholeFile(out_path);

      // img_dd()'s arithmetic and loop.
      uint64_t size = c.input_size;
      if (c.count >= 0 && static_cast<uint64_t>(c.count) * c.block_size < size) {
        size = c.count * c.block_size;
      }
      const uint64_t skip = c.skip >= 0 ? c.skip * c.block_size : 0;
      const uint64_t out_size = skip > size ? 0 : size - skip;
      MemoryDevice actual = EngineImage(qemu, "", out_size, [&](ImageWriter& writer) {
        for (uint64_t in_pos = skip; in_pos < size;) {
          const uint64_t bytes = size - in_pos < c.block_size ? size - in_pos : c.block_size;
          ASSERT_TRUE(writer.Write(in_pos - skip, input.data() + in_pos, bytes).ok());
          in_pos += bytes;
        }
      });
      ASSERT_EQ(actual.bytes().size(), expected.size());
      EXPECT_TRUE(actual.bytes() == expected) << "the files differ";
      ExpectCheckClean(dir, actual, what);
    }
  }
}

struct WriteCase {
  const char* name;
  const char* options;
  uint64_t size;
  std::vector<GuestWrite> writes;
};

TEST(Qcow2WriteTest, WritesMatchQemuIo) {
  const std::vector<WriteCase> cases = {
      {"scattered",
       "",
       64 << 20,
       {{5 << 20, 4096, 0x11},
        {0, 512, 0x22},
        {40 << 20, 70000, 0x33},
        {5 << 20, 100, 0x44},
        {63 << 20, 1 << 20, 0x55}}},
      {"straddle-cluster", "", 4 << 20, {{65000, 1000, 0x66}, {131000, 200000, 0x77}}},
      {"unaligned-size-tail", "", 1000000, {{999000, 1000, 0x12}, {0, 1000, 0x13}}},
      {"cs512-many-refblocks",
       "cluster_size=512",
       2 << 20,
       {{0, 300 * 512, 0x21}, {1 << 20, 200000, 0x22}, {600000, 512, 0x23}}},
      {"cs512-refblock-edge",
       "cluster_size=512",
       1 << 20,
       {{0, 126 * 512, 0x31},
        {126 * 512, 512, 0x32},
        {127 * 512, 4096, 0x33},
        {500000, 100000, 0x34}}},
      {"cs512-rb1",
       "cluster_size=512,refcount_bits=1",
       4 << 20,
       {{0, 5000, 0x41}, {3 << 20, 70000, 0x42}}},
      {"cs4k-rb64",
       "cluster_size=4k,refcount_bits=64",
       8 << 20,
       {{100, 200, 0x51}, {7 << 20, 1 << 20, 0x52}, {2 << 20, 300000, 0x53}}},
      {"cs2M", "cluster_size=2M", 16 << 20, {{3 << 20, 4096, 0x61}, {8 << 20, 3 << 20, 0x62}}},
      {"l2-boundary",
       "cluster_size=4k",
       8 << 20,
       {{(2 << 20) - 6000, 12000, 0x71}, {(4 << 20) - 100, 200, 0x72}}},
      {"compat-v2", "compat=0.10", 4 << 20, {{1000, 70000, 0x81}}},
      {"prealloc-metadata",
       "preallocation=metadata",
       4 << 20,
       {{1000, 70000, 0x91}, {3 << 20, 4096, 0x92}}},
  };
  ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  for (const QemuImgBinary& qemu : testing::QemuImgBinaries()) {
    for (const WriteCase& c : cases) {
      const std::string what = std::string(c.name) + " with qemu-io " + qemu.version_text;
      SCOPED_TRACE(what);
      const std::string path = dir.File("qemu.qcow2");
      std::remove(path.c_str());
      std::string out;
      ASSERT_EQ(
          testing::QemuImgCreate(qemu, "qcow2", c.options, path, std::to_string(c.size), &out), 0)
          << out;
      std::vector<std::string> argv = {QemuIoFor(qemu), "-f", "qcow2"};
      for (const GuestWrite& w : c.writes) {
        argv.push_back("-c");
        argv.push_back("write -q -P " + std::to_string(w.pattern) + " " + std::to_string(w.offset) +
                       " " + std::to_string(w.length));
      }
      argv.push_back(path);
      ASSERT_EQ(RunProgram(argv, &out), 0) << out;
      const std::vector<uint8_t> expected = testing::ReadWholeFile(path);
      MemoryDevice actual = EngineImage(qemu, c.options, c.size, [&](ImageWriter& writer) {
        for (const GuestWrite& w : c.writes) {
          const std::vector<uint8_t> data(w.length, w.pattern);
          ASSERT_TRUE(writer.Write(w.offset, data.data(), data.size()).ok());
        }
      });
      ASSERT_EQ(actual.bytes().size(), expected.size());
      EXPECT_TRUE(actual.bytes() == expected) << "the files differ";
      ExpectCheckClean(dir, actual, what);
    }
  }
}

struct OverlayCase {
  const char* name;
  const char* options;  // the overlay's, beside its backing file
  uint64_t size;
  uint64_t base_size;
  std::vector<GuestWrite> base_writes;
  std::vector<OverlayWrite> writes;
};

// An image with a backing file (what `qemu-img convert -B` writes): the
// copy-on-write of partial clusters reads the backing file, and zero
// writes make zero clusters (v3; allocated ones freed) or data (v2) as
// qemu's qcow2_co_pwrite_zeroes() and its fallback do. Each case makes the base
// with qemu-img and qemu-io, the overlay with `qemu-img create -b` and one
// qemu-io run of its writes, and the engine's overlay over the same base
// must be the same file.
TEST(Qcow2WriteTest, OverlayWritesMatchQemuIo) {
  const std::vector<OverlayCase> cases = {
      {"zero-piece-over-unallocated-base",
       "",
       4 << 20,
       4 << 20,
       {{0, 65536, 0x10}},
       {{65536 + 4096, 8192, 0, true},
        {65536 + 4096, 4096, 0x21, false},
        {200000, 300000, 0, true},
        {131072, 65536, 0, true}}},
      {"zero-piece-over-base-data",
       "",
       4 << 20,
       4 << 20,
       {{0, 1 << 20, 0x11}},
       {{4096, 8192, 0, true}, {65536, 4096, 0x22, false}, {65536 + 8192, 65536, 0, true}}},
      // Whole allocated clusters zeroed are freed and punched out; the
      // next allocation takes them again.
      {"zero-frees-allocated",
       "",
       4 << 20,
       4 << 20,
       {{0, 65536, 0x16}},
       {{0, 4 * 65536, 0x28, false},
        {65536, 2 * 65536, 0, true},
        {1 << 20, 65536, 0x29, false},
        {(2 << 20) + 4096, 4096, 0x2a, false}}},
      {"cow-reads-backing",
       "",
       4 << 20,
       4 << 20,
       {{0, 2 << 20, 0x12}},
       {{1000, 2000, 0x23, false}, {(1 << 20) + 70000, 100000, 0x24, false}}},
      {"past-backing-end",
       "",
       8 << 20,
       1 << 20,
       {{0, 1 << 20, 0x13}},
       {{(1 << 20) - 4096, 8192, 0x25, false},
        {2 << 20, 3 << 20, 0, true},
        {7 << 20, 4096, 0, true}}},
      {"cs4k-l2-boundary",
       "cluster_size=4k",
       8 << 20,
       8 << 20,
       {{(2 << 20) - 8192, 16384, 0x14}},
       {{(2 << 20) - 100000, 200000, 0, true}, {(2 << 20) - 6000, 1000, 0x26, false}}},
      {"compat-v2",
       "compat=0.10",
       4 << 20,
       4 << 20,
       {{0, 65536, 0x15}},
       {{0, 4096, 0, true}, {131072, 200000, 0, true}, {400000, 4096, 0x27, false}}},
  };
  ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  for (const QemuImgBinary& qemu : testing::QemuImgBinaries()) {
    for (const OverlayCase& c : cases) {
      const std::string what = std::string(c.name) + " with qemu-io " + qemu.version_text;
      SCOPED_TRACE(what);
      const std::string base_path = dir.File("base.qcow2");
      const std::string path = dir.File("overlay.qcow2");
      std::remove(base_path.c_str());
      std::remove(path.c_str());
      std::string out;
      ASSERT_EQ(
          testing::QemuImgCreate(qemu, "qcow2", "", base_path, std::to_string(c.base_size), &out),
          0)
          << out;
      std::vector<std::string> base_argv = {QemuIoFor(qemu), "-f", "qcow2"};
      for (const GuestWrite& w : c.base_writes) {
        base_argv.push_back("-c");
        base_argv.push_back("write -q -P " + std::to_string(w.pattern) + " " +
                            std::to_string(w.offset) + " " + std::to_string(w.length));
      }
      base_argv.push_back(base_path);
      ASSERT_EQ(RunProgram(base_argv, &out), 0) << out;
      std::string options = "backing_file=base.qcow2,backing_fmt=qcow2";
      if (*c.options != '\0') options += std::string(",") + c.options;
      ASSERT_EQ(testing::QemuImgCreate(qemu, "qcow2", options, path, std::to_string(c.size), &out),
                0)
          << out;
      std::vector<std::string> argv = {QemuIoFor(qemu), "-f", "qcow2"};
      for (const std::string& arg : testing::QemuIoOverlayCommands(c.writes)) argv.push_back(arg);
      argv.push_back(path);
      ASSERT_EQ(RunProgram(argv, &out), 0) << out;
      const std::vector<uint8_t> expected = testing::ReadWholeFile(path);

      // The engine's overlay, over the base qemu made.
      testing::CreateOutcome created = testing::RunCreateHook(
          ImageFormat::kQcow2, options, c.size, qemu.version, "overlay.qcow2", 0, {}, 32 << 20);
      ASSERT_TRUE(created.status.ok()) << created.error_text;
      MemoryDevice base(testing::ReadWholeFile(base_path));
      testing::MapOpener opener;
      opener.Add("base.qcow2", &base);
      std::vector<uint8_t> buffer(32 << 20);
      Arena arena(buffer.data(), buffer.size());
      Result<ImageWriter*> writer = testing::OpenOverlayWriter(
          ImageFormat::kQcow2, created.device, opener, WriterEntropy{}, qemu.version, arena);
      ASSERT_TRUE(writer.ok()) << writer.status().message();
      ASSERT_EQ(testing::ApplyOverlayWrites(**writer, c.writes), "");
      ASSERT_TRUE((*writer)->Finish().ok());
      ASSERT_EQ(created.device.bytes().size(), expected.size());
      EXPECT_TRUE(created.device.bytes() == expected)
          << testing::FirstDifference(created.device.bytes(), expected, {});
    }
  }
}

TEST(Qcow2WriteTest, RefusesAnUnopenedBackingFile) {
  const QemuVersion compat{11, 1, 3};
  testing::CreateOutcome created =
      testing::RunCreateHook(ImageFormat::kQcow2, "backing_file=base.qcow2,backing_fmt=qcow2",
                             1 << 20, compat, "overlay.qcow2", 0, {}, 4 << 20);
  ASSERT_TRUE(created.status.ok()) << created.error_text;
  std::vector<uint8_t> buffer(8 << 20);
  Arena arena(buffer.data(), buffer.size());
  const FormatDriver* driver = FindFormatDriver(ImageFormat::kQcow2);
  NoFiles opener;
  OpenOptions open_options;
  open_options.compat = compat;
  Result<Image*> image = driver->open(created.device, opener, arena, open_options);
  ASSERT_TRUE(image.ok());
  Result<ImageWriter*> writer =
      driver->open_writer(**image, created.device, WriterEntropy{}, compat, arena);
  EXPECT_EQ(writer.status().code(), StatusCode::kNotSupported);
}

TEST(Qcow2WriteTest, RefusesWritesPastTheEnd) {
  const QemuImgBinary qemu{"qemu-img", QemuVersion{11, 1, 3}, "11.1.3"};
  EngineImage(qemu, "", 1 << 20, [](ImageWriter& writer) {
    const uint8_t byte = 1;
    EXPECT_EQ(writer.Write(1 << 20, &byte, 1).code(), StatusCode::kOutOfRange);
    EXPECT_EQ(writer.Write(UINT64_MAX, &byte, 1).code(), StatusCode::kOutOfRange);
  });
}

}  // namespace
}  // namespace instar
