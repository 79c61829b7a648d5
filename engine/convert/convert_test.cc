// The copy of `qemu-img convert -B` (ConvertImages() with a backing file
// for the target) against the real qemu-img: each case makes a base and an
// overlay over it with qemu-img and qemu-io, converts a source onto a
// backing file with `qemu-img convert -O qcow2 -o backing_fmt=qcow2,... -B
// BACKING SRC OUT` of every qemu-img of the matrix present (the system one
// otherwise), and the engine's target (the create hook with the same
// options, the reader with its backing chain, the writer, ConvertImages()
// as convert_operation.cc sets it up) must be the same file, byte for
// byte: only the source's top image is copied, what it leaves unallocated
// stays unallocated, its zeros become zero clusters (data on compat=0.10).
// The target's device makes a lent write only at its next call
// (testing/memory_device.h), so a copy that reused lent memory too early
// leaves wrong bytes.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "instar/engine/convert.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/image.h"
#include "instar/engine/modify.h"
#include "testing/corpus.h"
#include "testing/create_hook.h"
#include "testing/memory_device.h"
#include "testing/qemu_img.h"

namespace instar {
namespace {

using testing::MemoryDevice;
using testing::QemuImgBinary;
using testing::QemuIoFor;
using testing::RunProgram;
using testing::ScratchDir;

struct ConvertBackingCase {
  const char* name;
  uint64_t base_size;
  uint64_t top_size;
  std::vector<std::string> base_io;  // qemu-io commands on base.qcow2
  std::vector<std::string> top_io;   // on top.qcow2 (over base.qcow2)
  const char* source;                // "top.qcow2" or "base.qcow2"
  const char* backing;               // -B
  const char* options;               // -o beside backing_fmt
  uint64_t min_sparse;               // -S in sectors
};

// Opens `name` (a file of the MapOpener) as qcow2 with its backing chain.
Image* OpenQcow2(MemoryDevice& device, testing::MapOpener& opener, Arena& arena,
                 const QemuVersion& compat) {
  const FormatDriver* driver = FindFormatDriver(ImageFormat::kQcow2);
  OpenOptions options;
  options.compat = compat;
  Result<Image*> image = driver->open(device, opener, arena, options);
  EXPECT_TRUE(image.ok()) << image.status().message();
  if (!image.ok()) return nullptr;
  EXPECT_TRUE(OpenBackingChain(**image, opener, arena, options).ok());
  return *image;
}

TEST(ConvertTest, BackingTargetMatchesQemuImgConvert) {
  const std::vector<std::string> top_io = {
      "write -P 2 512k 1M", "write -z 4M 64k",     "write -P 3 100k 8k", "write -P 0 3M 64k",
      "write -P 5 3M 4k",   "write -P 0 200k 60k", "write -P 6 60M 12k"};
  const std::vector<std::string> base_io = {"write -P 1 0 1M", "write -P 7 5M 128k"};
  const std::vector<ConvertBackingCase> cases = {
      {"overlay-onto-its-base", 64 << 20, 64 << 20, base_io, top_io, "top.qcow2", "base.qcow2", "",
       8},
      {"compat-v2", 64 << 20, 64 << 20, base_io, top_io, "top.qcow2", "base.qcow2", "compat=0.10",
       8},
      {"sparse-0", 64 << 20, 64 << 20, base_io, top_io, "top.qcow2", "base.qcow2", "", 0},
      {"cluster-4k", 64 << 20, 64 << 20, base_io, top_io, "top.qcow2", "base.qcow2",
       "cluster_size=4k", 8},
      {"target-past-backing-end",
       32 << 20,
       64 << 20,
       base_io,
       {"write -P 2 512k 1M", "write -z 40M 1M", "write -P 9 50M 64k", "write -P 0 33M 64k"},
       "top.qcow2",
       "base.qcow2",
       "",
       8},
      {"plain-onto-chosen-backing", 64 << 20, 64 << 20, base_io, top_io, "base.qcow2", "top.qcow2",
       "", 8},
  };
  ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  for (const QemuImgBinary& qemu : testing::QemuImgBinaries()) {
    for (const ConvertBackingCase& c : cases) {
      const std::string what = std::string(c.name) + " with qemu-img " + qemu.version_text;
      SCOPED_TRACE(what);
      const std::string base_path = dir.File("base.qcow2");
      const std::string top_path = dir.File("top.qcow2");
      const std::string out_path = dir.File("out.qcow2");
      for (const std::string& path : {base_path, top_path, out_path}) std::remove(path.c_str());
      std::string out;
      ASSERT_EQ(
          testing::QemuImgCreate(qemu, "qcow2", "", base_path, std::to_string(c.base_size), &out),
          0)
          << out;
      ASSERT_EQ(testing::QemuImgCreate(qemu, "qcow2", "backing_file=base.qcow2,backing_fmt=qcow2",
                                       top_path, std::to_string(c.top_size), &out),
                0)
          << out;
      for (const auto& [path, commands] :
           {std::pair{base_path, c.base_io}, std::pair{top_path, c.top_io}}) {
        std::vector<std::string> argv = {QemuIoFor(qemu), "-f", "qcow2"};
        for (const std::string& command : commands) {
          argv.push_back("-c");
          argv.push_back(command);
        }
        argv.push_back(path);
        ASSERT_EQ(RunProgram(argv, &out), 0) << out;
      }
      std::string options = "backing_fmt=qcow2";
      if (*c.options != '\0') options += std::string(",") + c.options;
      ASSERT_EQ(RunProgram({qemu.path, "convert", "-S", std::to_string(c.min_sparse * 512), "-O",
                            "qcow2", "-o", options, "-B", c.backing, dir.File(c.source), out_path},
                           &out),
                0)
          << out;
      const std::vector<uint8_t> expected = testing::ReadWholeFile(out_path);

      // The engine: the source with its chain, the target over its own.
      MemoryDevice base(testing::ReadWholeFile(base_path));
      MemoryDevice top(testing::ReadWholeFile(top_path));
      MemoryDevice target_base(testing::ReadWholeFile(base_path));
      MemoryDevice target_top(testing::ReadWholeFile(top_path));
      testing::MapOpener source_files;
      source_files.Add("base.qcow2", &base);
      testing::MapOpener target_files;
      target_files.Add("base.qcow2", &target_base);
      target_files.Add("top.qcow2", &target_top);
      std::vector<uint8_t> buffer(64 << 20);
      Arena arena(buffer.data(), buffer.size());
      MemoryDevice& source_device = std::string(c.source) == "top.qcow2" ? top : base;
      Image* source = OpenQcow2(source_device, source_files, arena, qemu.version);
      ASSERT_NE(source, nullptr);
      QemuLength length;
      const ConvertSource convert_source = ConvertSourceOf(*source, ImageFormat::kQcow2, &length);
      ASSERT_TRUE(length.ok);

      testing::CreateOutcome created = testing::RunCreateHook(
          ImageFormat::kQcow2, options + ",backing_file=" + c.backing, convert_source.sectors * 512,
          qemu.version, "out.qcow2", 0, {}, 32 << 20);
      ASSERT_TRUE(created.status.ok()) << created.error_text;
      Image* target = OpenQcow2(created.device, target_files, arena, qemu.version);
      ASSERT_NE(target, nullptr);
      ASSERT_NE(target->backing(), nullptr);
      const FormatDriver* driver = FindFormatDriver(ImageFormat::kQcow2);
      Result<ImageWriter*> writer =
          driver->open_writer(*target, created.device, WriterEntropy{}, qemu.version, arena);
      ASSERT_TRUE(writer.ok()) << writer.status().message();

      ConvertSettings settings;
      settings.compat = qemu.version;
      settings.min_sparse = c.min_sparse;
      settings.has_zero_init = false;
      settings.target_has_backing = true;
      settings.target_backing_sectors =
          static_cast<int64_t>((target->backing()->VirtualSize() + 511) / 512);
      uint8_t* copy_buffer = arena.AllocateArray<uint8_t>(kConvertBufferBytes);
      ASSERT_NE(copy_buffer, nullptr);
      ConvertFailure failure;
      uint64_t written = 0;
      const Status copied = ConvertImages(&convert_source, 1, settings, **writer, copy_buffer,
                                          arena, &failure, &written);
      ASSERT_TRUE(copied.ok()) << copied.message() << " at sector " << failure.sector;
      ASSERT_TRUE((*writer)->Finish().ok());
      ASSERT_EQ(created.device.bytes().size(), expected.size());
      EXPECT_TRUE(created.device.bytes() == expected)
          << testing::FirstDifference(created.device.bytes(), expected, {});
    }
  }
}

}  // namespace
}  // namespace instar
