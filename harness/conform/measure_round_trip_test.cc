// The round trip of instar's own measure (issue 14 item 6): for every image
// of the corpus's safe tier and every target qemu-img refuses to measure
// (vmdk in each subformat, vpc dynamic and fixed, vhdx dynamic and fixed),
// `instar measure --instar-targets --output=json` predicts `required` and
// `fully-allocated`, the image is converted to that target, and the
// converted files (a vmdk descriptor and its extents: all of them) must
// be no larger than `required`, which must be no larger than
// `fully-allocated`. The target is named image.<ext>: the name of a vmdk
// descriptor file's extents is in the descriptor, and measure, which has
// no target file, counts it for that name.
//
// The converting program is ConvertImage() alone: `instar convert`, as the
// newest qemu-img of the matrix (the system's on a clean clone), whose
// version instar measures as (--compat). Every program runs in the
// corpus's directory, as conform runs them, since qemu resolves a qcow2
// external data file's name from the working directory.
//
// Nothing is skipped: a corpus image that cannot be measured fails the
// test, and so does one that cannot be converted, but for qemu-img's own
// failure on an empty disk: vmdk and fixed vpc targets of 0 bytes are
// created and then refused when qemu-img reopens them, or abort it (an
// assertion in vmdk_co_get_info for the descriptor-file subformats), for
// raw-empty. That is checked to be the case (the source's virtual size is
// 0), whatever create left must still fit the prediction, and the summary
// names them.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "harness/cases/manifest.h"
#include "harness/matrix/matrix.h"
#include "harness/run/child.h"
#include "harness/run/corpus.h"
#include "harness/testing/acceptance.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

namespace fs = std::filesystem;

const fs::path kSourceRoot = INSTAR_SOURCE_ROOT;
const std::string kInstar = INSTAR_BINARY_PATH;

struct Target {
  const char* label;    // the test's name
  const char* format;   // -O
  const char* options;  // -o, or "" for none
  const char* extension;
};

const Target kTargets[] = {
    {"vmdk", "vmdk", "", "vmdk"},
    {"vmdk_stream", "vmdk", "subformat=streamOptimized", "vmdk"},
    {"vmdk_flat", "vmdk", "subformat=monolithicFlat", "vmdk"},
    {"vmdk_2gb_sparse", "vmdk", "subformat=twoGbMaxExtentSparse", "vmdk"},
    {"vmdk_2gb_flat", "vmdk", "subformat=twoGbMaxExtentFlat", "vmdk"},
    {"vpc", "vpc", "", "vhd"},
    {"vpc_fixed", "vpc", "subformat=fixed", "vhd"},
    {"vhdx", "vhdx", "", "vhdx"},
    {"vhdx_fixed", "vhdx", "subformat=fixed", "vhdx"},
};

using testing::RunChild;

// The corpus's safe tier, materialised once for every target, and the
// qemu-img that converts.
class MeasureRoundTripTest : public ::testing::TestWithParam<Target> {
 protected:
  static void SetUpTestSuite() {
    corpus_ = std::make_unique<testing::TempDir>();
    const Manifest manifest = LoadManifest(kSourceRoot / "cases" / "images" / "manifest.json");
    for (const ManifestImage& image : manifest.images) {
      if (image.tier == "safe") safe_.images.push_back(image);
    }
    MaterialiseCorpus(safe_, kSourceRoot / "cases" / "images", corpus_->path(), 2, nullptr);
    ChildRunner runner;
    MatrixOptions options;
    const fs::path in_tree = kSourceRoot / "qemu-img-binaries" / "x86_64";
    std::error_code ec;
    if (fs::is_directory(in_tree, ec)) options.binaries = in_tree;
    const Matrix matrix = DiscoverMatrix(options, runner);
    if (!matrix.entries.empty()) converter_ = matrix.entries.back();
  }
  static void TearDownTestSuite() { corpus_.reset(); }

  // The program that makes the target from the source; the only place that
  // names it.
  static ChildResult ConvertImage(ChildRunner& runner, const ManifestImage& image,
                                  const Target& target, const fs::path& output) {
    std::vector<std::string> args = {"convert", "-f", image.format, "-O", target.format};
    if (target.options[0] != '\0') args.insert(args.end(), {"-o", target.options});
    args.insert(args.end(), {image.files[0].name, output.string()});
    args.insert(args.begin(), {"--sandbox=process", "--compat", converter_.version_text});
    return RunChild(runner, kInstar, args);
  }

  static inline std::unique_ptr<testing::TempDir> corpus_;
  static inline Manifest safe_;
  static inline MatrixEntry converter_;
};

// `value` of `key` in a JSON object (measure's, info's), or false.
bool ReadSize(const std::string& text, const char* key, uint64_t* value) {
  boost::system::error_code ec;
  const boost::json::value json = boost::json::parse(text, ec);
  if (ec || !json.is_object()) return false;
  const boost::json::value* field = json.as_object().if_contains(key);
  if (field == nullptr || !field->is_int64() || field->as_int64() < 0) return false;
  *value = static_cast<uint64_t>(field->as_int64());
  return true;
}

// The bytes of the files in `directory` (st_size: holes count).
uint64_t TotalSize(const fs::path& directory) {
  uint64_t total = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

// Runs the test's children in `directory`, and goes back afterwards.
class WorkingDirectory {
 public:
  explicit WorkingDirectory(const fs::path& directory) : previous_(fs::current_path()) {
    fs::current_path(directory);
  }
  WorkingDirectory(const WorkingDirectory&) = delete;
  WorkingDirectory& operator=(const WorkingDirectory&) = delete;
  ~WorkingDirectory() {
    std::error_code ec;
    fs::current_path(previous_, ec);
  }

 private:
  fs::path previous_;
};

TEST_P(MeasureRoundTripTest, ConvertedFileFitsThePrediction) {
  const Target& target = GetParam();
  ASSERT_FALSE(converter_.qemu_img.empty()) << "no qemu-img to convert with";
  ASSERT_GE(safe_.images.size(), 50u) << "the corpus's safe tier is missing";
  ChildRunner runner;
  testing::TempDir out;
  const fs::path output = out.path() / (std::string("image.") + target.extension);
  const WorkingDirectory in_corpus(corpus_->path());
  size_t checked = 0;
  uint64_t largest_slack = 0;
  std::string not_converted;
  for (const ManifestImage& image : safe_.images) {
    SCOPED_TRACE(image.id + " -O " + target.format + " " + target.options + " (qemu-img " +
                 converter_.version_text + ")");
    std::vector<std::string> args = {"--sandbox=process",
                                     "--compat",
                                     converter_.version_text,
                                     "measure",
                                     "--instar-targets",
                                     "--output=json",
                                     "-f",
                                     image.format,
                                     "-O",
                                     target.format};
    if (target.options[0] != '\0') args.insert(args.end(), {"-o", target.options});
    args.push_back(image.files[0].name);
    const ChildResult measured = RunChild(runner, kInstar, args);
    ASSERT_EQ(measured.exit_code, 0) << measured.err;
    uint64_t required = 0, fully_allocated = 0;
    ASSERT_TRUE(ReadSize(measured.out, "required", &required)) << measured.out;
    ASSERT_TRUE(ReadSize(measured.out, "fully-allocated", &fully_allocated)) << measured.out;

    for (const fs::directory_entry& entry : fs::directory_iterator(out.path())) {
      fs::remove(entry.path());
    }
    const ChildResult converted = ConvertImage(runner, image, target, output);
    if (converted.exit_code != 0) {
      // Only qemu-img's own failure on an empty disk.
      const ChildResult info = RunChild(
          runner, kInstar,
          {"--sandbox=process", "info", "--output=json", "-f", image.format, image.files[0].name});
      uint64_t virtual_size = 1;
      EXPECT_TRUE(ReadSize(info.out, "virtual-size", &virtual_size)) << info.out << info.err;
      EXPECT_EQ(virtual_size, 0u) << converted.err;
      not_converted += " " + image.id;
    }
    const uint64_t size = TotalSize(out.path());
    EXPECT_LE(size, required);
    EXPECT_LE(required, fully_allocated);
    if (size <= required) largest_slack = std::max(largest_slack, required - size);
    ++checked;
  }
  std::cout << "measure round trip -O " << target.format << " " << target.options << ": " << checked
            << " corpus images checked against instar convert as qemu-img "
            << converter_.version_text << "; largest required - converted: " << largest_slack
            << " bytes; failed on an empty disk for"
            << (not_converted.empty() ? " none" : not_converted) << "\n";
}

INSTANTIATE_TEST_SUITE_P(InstarTargets, MeasureRoundTripTest, ::testing::ValuesIn(kTargets),
                         [](const ::testing::TestParamInfo<Target>& param) {
                           return std::string(param.param.label);
                         });

}  // namespace
}  // namespace instar::harness
