// Round trips for the targets qemu-img cannot measure (vmdk, vpc, vhdx):
// instar's prediction against the files the system qemu-img really makes.
//
//  * --size mode: `required` equals the total size of what
//    `qemu-img create -f FMT [-o OPTS] t.EXT SIZE` leaves in a fresh
//    directory.
//  * fully allocated: `fully_allocated` equals what `qemu-img convert -O
//    FMT` makes of a raw source whose every byte is non-zero.
//  * source mode: `required` equals what convert makes of a sparse raw
//    source with data runs (an upper bound for streamOptimized, whose grains
//    are compressed).
//
// Nothing is skipped: the system qemu-img (qemu-utils) is part of the
// machine's setup, and a missing one fails these tests.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "measure/measure_test_support.h"

namespace instar {
namespace {

using measure_test::ErrorText;
using measure_test::MakeSparseFile;
using measure_test::RunCommand;
using measure_test::SparseFileImage;
using measure_test::SystemQemuVersion;
using measure_test::TempDir;

struct Prediction {
  bool ok = false;
  MeasureResult result;
  std::string error;
};

Prediction Predict(ImageFormat target, const std::string& options, bool has_size, uint64_t size,
                   const std::string& target_name, Image* source_image) {
  const QemuVersion version = SystemQemuVersion();
  std::vector<uint8_t> buffer(options.size() + 4096);
  Arena arena(buffer.data(), buffer.size());
  ParsedMeasureOptions parsed;
  MeasureError error;
  Prediction p;
  if (!ParseMeasureOptions(target, options.data(), options.size(), version, arena, &parsed, &error)
           .ok()) {
    p.error = ErrorText(error);
    return p;
  }
  MeasureSource source;
  source.image = source_image;
  source.block_status = &SparseFileImage::Status;
  MeasureRequest request;
  request.options = &parsed;
  request.has_size = has_size;
  request.size = size;
  request.target_name = MeasureText{target_name.data(), target_name.size()};
  auto r = Measure(request, source_image != nullptr ? &source : nullptr, version, &error);
  if (!r.ok()) {
    p.error = ErrorText(error);
    return p;
  }
  p.ok = true;
  p.result = *r;
  return p;
}

const char* Extension(ImageFormat f) {
  return f == ImageFormat::kVmdk ? "vmdk" : f == ImageFormat::kVpc ? "vhd" : "vhdx";
}

// The descriptor of flat and split vmdk files carries a random CID printed
// with %x; the prediction assumes eight digits. Returns the real count.
size_t CidDigits(const std::string& descriptor_path) {
  int status;
  const std::string text = RunCommand("head -c 4096 '" + descriptor_path + "'", &status);
  const size_t at = text.find("\nCID=");
  if (at == std::string::npos) return 8;
  const size_t end = text.find('\n', at + 5);
  return end - (at + 5);
}

bool HasSeparateDescriptor(ImageFormat format, const std::string& options) {
  return format == ImageFormat::kVmdk &&
         (options.find("Flat") != std::string::npos || options.find("twoGb") != std::string::npos);
}

struct CreateCase {
  ImageFormat format;
  const char* size;
  uint64_t bytes;
  const char* options;
};

const CreateCase kCreateCases[] = {
    {ImageFormat::kVmdk, "0", 0, ""},
    {ImageFormat::kVmdk, "1", 1, ""},
    {ImageFormat::kVmdk, "1M", 1 << 20, ""},
    {ImageFormat::kVmdk, "1G", uint64_t{1} << 30, ""},
    {ImageFormat::kVmdk, "5G", uint64_t{5} << 30, ""},
    {ImageFormat::kVmdk, "2T", uint64_t{2} << 40, ""},
    {ImageFormat::kVmdk, "100T", uint64_t{100} << 40, ""},
    {ImageFormat::kVmdk, "5G", uint64_t{5} << 30, "subformat=streamOptimized"},
    {ImageFormat::kVmdk, "5G", uint64_t{5} << 30, "subformat=monolithicFlat"},
    {ImageFormat::kVmdk, "5G", uint64_t{5} << 30, "subformat=twoGbMaxExtentSparse"},
    {ImageFormat::kVmdk, "5G", uint64_t{5} << 30, "subformat=twoGbMaxExtentFlat"},
    {ImageFormat::kVmdk, "4G", uint64_t{4} << 30, "subformat=twoGbMaxExtentSparse"},
    // 1050 extents: indexes past 999 take a fourth digit in their names.
    {ImageFormat::kVmdk, "2100G", uint64_t{2100} << 30, "subformat=twoGbMaxExtentFlat"},
    {ImageFormat::kVmdk, "3000M", uint64_t{3000} << 20,
     "subformat=monolithicFlat,adapter_type=lsilogic"},
    {ImageFormat::kVmdk, "1G", uint64_t{1} << 30,
     "subformat=monolithicFlat,compat6=on,adapter_type=buslogic"},
    {ImageFormat::kVmdk, "1G", uint64_t{1} << 30,
     "subformat=twoGbMaxExtentFlat,hwversion=11,toolsversion=10309"},
    {ImageFormat::kVmdk, "1G", uint64_t{1} << 30, "zeroed_grain=on,adapter_type=legacyESX"},
    {ImageFormat::kVpc, "0", 0, ""},
    {ImageFormat::kVpc, "1", 1, ""},
    {ImageFormat::kVpc, "1M", 1 << 20, ""},
    {ImageFormat::kVpc, "100M", 100 << 20, ""},
    {ImageFormat::kVpc, "1000001", 1000001, ""},
    {ImageFormat::kVpc, "1G", uint64_t{1} << 30, ""},
    {ImageFormat::kVpc, "127G", uint64_t{127} << 30, ""},
    {ImageFormat::kVpc, "2040G", uint64_t{2040} << 30, ""},
    {ImageFormat::kVpc, "1G", uint64_t{1} << 30, "subformat=fixed"},
    {ImageFormat::kVpc, "1G", uint64_t{1} << 30, "force_size=on"},
    {ImageFormat::kVpc, "1000001", 1000001, "force_size=on,subformat=fixed"},
    {ImageFormat::kVpc, "2040G", uint64_t{2040} << 30, "force_size=on"},
    {ImageFormat::kVhdx, "0", 0, ""},
    {ImageFormat::kVhdx, "1", 1, ""},
    {ImageFormat::kVhdx, "1G", uint64_t{1} << 30, ""},
    {ImageFormat::kVhdx, "1073741825", (uint64_t{1} << 30) + 1, ""},
    {ImageFormat::kVhdx, "200G", uint64_t{200} << 30, ""},
    {ImageFormat::kVhdx, "33T", uint64_t{33} << 40, ""},
    {ImageFormat::kVhdx, "64T", uint64_t{64} << 40, ""},
    {ImageFormat::kVhdx, "1G", uint64_t{1} << 30, "block_size=1M"},
    {ImageFormat::kVhdx, "1G", uint64_t{1} << 30, "block_size=100k,log_size=3M"},
    {ImageFormat::kVhdx, "1G", uint64_t{1} << 30, "block_size=0,log_size=1"},
    {ImageFormat::kVhdx, "1G", uint64_t{1} << 30, "block_size=512M"},
    {ImageFormat::kVhdx, "1G", uint64_t{1} << 30, "subformat=fixed"},
    {ImageFormat::kVhdx, "10M", 10 << 20, "subformat=fixed,block_size=4M"},
    {ImageFormat::kVhdx, "1G", uint64_t{1} << 30, "block_state_zero=off"},
};

std::string CreateCommand(ImageFormat format, const std::string& options, const std::string& path,
                          const std::string& size) {
  std::string command = std::string("qemu-img create -q -f ") + ImageFormatName(format);
  if (!options.empty()) command += " -o '" + options + "'";
  return command + " '" + path + "' " + size + " 2>&1";
}

TEST(InstarTargetsTest, SizeModePredictsWhatCreateMakes) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  for (const CreateCase& c : kCreateCases) {
    dir.Clear();
    const std::string name = std::string("t.") + Extension(c.format);
    const std::string command = CreateCommand(c.format, c.options, dir.path() + "/" + name, c.size);
    int status;
    const std::string out = RunCommand(command, &status);
    ASSERT_EQ(status, 0) << command << ": " << out;
    const Prediction p = Predict(c.format, c.options, true, c.bytes, name, nullptr);
    ASSERT_TRUE(p.ok) << command << ": " << p.error;
    uint64_t expected = p.result.required;
    if (HasSeparateDescriptor(c.format, c.options)) {
      expected = expected - 8 + CidDigits(dir.path() + "/" + name);
    }
    EXPECT_EQ(expected, dir.TotalBytes()) << command;
    EXPECT_LE(p.result.required, p.result.fully_allocated) << command;
  }
}

// What `qemu-img create` refuses, measure refuses with the same words
// (without create's "<file>: " prefix, which measure has no file for).
TEST(InstarTargetsTest, SizeModeRefusesWhatCreateRefuses) {
  struct {
    ImageFormat format;
    const char* size;
    uint64_t bytes;
    const char* options;
  } const cases[] = {
      {ImageFormat::kVpc, "3000G", uint64_t{3000} << 30, ""},
      {ImageFormat::kVpc, "2041G", uint64_t{2041} << 30, "force_size=on"},
      {ImageFormat::kVpc, "1G", uint64_t{1} << 30, "subformat=xyz"},
      {ImageFormat::kVhdx, "65T", uint64_t{65} << 40, ""},
      {ImageFormat::kVhdx, "1G", uint64_t{1} << 30, "block_size=3M"},
      {ImageFormat::kVhdx, "1G", uint64_t{1} << 30, "log_size=5G"},
      {ImageFormat::kVhdx, "1G", uint64_t{1} << 30, "log_size=0"},
      {ImageFormat::kVhdx, "1G", uint64_t{1} << 30, "subformat=xyz"},
      {ImageFormat::kVmdk, "1G", uint64_t{1} << 30, "subformat=xyz"},
      {ImageFormat::kVmdk, "1G", uint64_t{1} << 30, "adapter_type=xyz"},
      {ImageFormat::kVmdk, "1G", uint64_t{1} << 30, "compat6=on,hwversion=7"},
      {ImageFormat::kVmdk, "1G", uint64_t{1} << 30, "zeroed_grain=on,subformat=monolithicFlat"},
      {ImageFormat::kVmdk, "1G", uint64_t{1} << 30, "backing_fmt=qcow2"},
  };
  TempDir dir;
  for (const auto& c : cases) {
    dir.Clear();
    const std::string path = dir.path() + "/t." + Extension(c.format);
    const std::string command = CreateCommand(c.format, c.options, path, c.size);
    int status;
    std::string out = RunCommand(command, &status);
    ASSERT_NE(status, 0) << command;
    // "qemu-img: <path>: message" -> "qemu-img: message"
    const std::string prefix = "qemu-img: " + path + ": ";
    ASSERT_EQ(out.compare(0, prefix.size(), prefix), 0) << command << ": " << out;
    out = "qemu-img: " + out.substr(prefix.size());
    const Prediction p = Predict(c.format, c.options, true, c.bytes, "t.x", nullptr);
    ASSERT_FALSE(p.ok) << command;
    EXPECT_EQ(p.error, out) << command;
  }
}

struct ConvertCase {
  ImageFormat format;
  const char* options;
};

const ConvertCase kConvertCases[] = {
    {ImageFormat::kVmdk, ""},
    {ImageFormat::kVmdk, "subformat=monolithicFlat"},
    {ImageFormat::kVmdk, "subformat=twoGbMaxExtentSparse"},
    {ImageFormat::kVmdk, "subformat=twoGbMaxExtentFlat"},
    {ImageFormat::kVmdk, "zeroed_grain=on"},
    {ImageFormat::kVpc, ""},
    {ImageFormat::kVpc, "subformat=fixed"},
    {ImageFormat::kVpc, "force_size=on"},
    {ImageFormat::kVhdx, ""},
    {ImageFormat::kVhdx, "block_size=1M"},
    {ImageFormat::kVhdx, "subformat=fixed"},
    {ImageFormat::kVhdx, "block_size=2M,log_size=2M"},
};

uint64_t ConvertAndMeasureFiles(const TempDir& dir, const std::string& source, ImageFormat format,
                                const std::string& options, const std::string& name,
                                const std::string& command_prefix, std::string* command) {
  *command = command_prefix + std::string(" -O ") + ImageFormatName(format);
  if (!options.empty()) *command += " -o '" + options + "'";
  *command += " '" + source + "' '" + dir.path() + "/" + name + "' 2>&1";
  int status;
  const std::string out = RunCommand(*command, &status);
  EXPECT_EQ(status, 0) << *command << ": " << out;
  return dir.TotalBytes();
}

// Sources: the sparse raw files below, with every run non-zero.
struct Layout {
  const char* name;
  uint64_t size;
  std::vector<std::pair<uint64_t, uint64_t>> runs;
};

const std::vector<Layout>& Layouts() {
  static const std::vector<Layout> layouts = {
      {"full-3M+512", (3 << 20) + 512, {{0, (3 << 20) + 512}}},
      {"full-5M", 5 << 20, {{0, 5 << 20}}},
      {"sparse-64M",
       64 << 20,
       {{0, 4096}, {200704, 8192}, {10 << 20, 1 << 20}, {(64 << 20) - 4096, 4096}}},
      {"sparse-odd",
       (24 << 20) + 4096,
       {{4096, 4096}, {(9 << 20) + 65536, 12288}, {24 << 20, 4096}}},
      {"empty-16M", 16 << 20, {}},
  };
  return layouts;
}

TEST(InstarTargetsTest, SourceModePredictsWhatConvertMakes) {
  TempDir src_dir, dir;
  for (const Layout& layout : Layouts()) {
    const std::string source = src_dir.path() + "/" + layout.name + ".raw";
    ASSERT_TRUE(MakeSparseFile(source, layout.size, layout.runs));
    SparseFileImage image(source);
    ASSERT_TRUE(image.ok());
    for (const ConvertCase& c : kConvertCases) {
      dir.Clear();
      const std::string name = std::string("t.") + Extension(c.format);
      std::string command;
      const uint64_t actual = ConvertAndMeasureFiles(dir, source, c.format, c.options, name,
                                                     "qemu-img convert -f raw", &command);
      const Prediction p = Predict(c.format, c.options, false, 0, name, &image);
      ASSERT_TRUE(p.ok) << command << ": " << p.error;
      uint64_t expected = p.result.required;
      if (HasSeparateDescriptor(c.format, c.options)) {
        // Once convert writes data the descriptor is a whole sector; before
        // that its length depends on the CID's digits.
        if (expected % 512 != 0) expected = expected - 8 + CidDigits(dir.path() + "/" + name);
      }
      EXPECT_EQ(expected, actual) << command;
      // A source written in full is the fully allocated case.
      if (layout.runs.size() == 1 && layout.runs[0].second == layout.size) {
        EXPECT_EQ(p.result.fully_allocated, actual) << command;
      }
    }
  }
}

TEST(InstarTargetsTest, StreamOptimizedPredictionsAreUpperBounds) {
  TempDir src_dir, dir;
  for (const Layout& layout : Layouts()) {
    const std::string source = src_dir.path() + "/" + layout.name + ".raw";
    ASSERT_TRUE(MakeSparseFile(source, layout.size, layout.runs));
    SparseFileImage image(source);
    dir.Clear();
    std::string command;
    const uint64_t actual =
        ConvertAndMeasureFiles(dir, source, ImageFormat::kVmdk, "subformat=streamOptimized",
                               "t.vmdk", "qemu-img convert -f raw", &command);
    const Prediction p =
        Predict(ImageFormat::kVmdk, "subformat=streamOptimized", false, 0, "t.vmdk", &image);
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_LE(actual, p.result.required) << command;
    EXPECT_LE(p.result.required, p.result.fully_allocated) << command;
  }
}

}  // namespace
}  // namespace instar
