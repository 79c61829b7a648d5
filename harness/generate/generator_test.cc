#include "harness/generate/generator.h"

#include <gtest/gtest.h>

#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

namespace fs = std::filesystem;
using testing::ReadText;
using testing::ReadTree;
using testing::TempDir;

// Runs generate for the system qemu-img (a matrix of one), quietly.
class GeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ChildRunner runner;
    matrix_ = MatrixOfBinary(testing::kSystemQemuImg, false, runner);
    version_ = matrix_.entries[0].version_text;
  }

  GenerateReport Run(const std::string& command, const fs::path& out,
                     std::vector<std::string> globs, bool resume = false) {
    GenerateRequest request;
    request.command = command;
    request.cases_dir = testing::kSourceRoot / "cases";
    request.out_dir = out;
    request.matrix = matrix_;
    request.jobs = 2;
    request.resume = resume;
    request.case_globs = std::move(globs);
    request.progress = ProgressStyle::kSilent;
    Interrupt interrupt;
    return Generate(request, interrupt);
  }

  std::string Direct(const std::vector<std::string>& arguments) {
    ChildRunner runner;
    return runner.Run({testing::kSystemQemuImg, arguments, MinimalEnvironment()}).out;
  }

  Matrix matrix_;
  std::string version_;
  TempDir out_;
};

TEST_F(GeneratorTest, MeasureRecordsWhatQemuImgPrints) {
  GenerateReport report = Run("measure", out_.path(), {"_size/1G-qcow2-default", "vpc-fixed__raw"});
  EXPECT_EQ(report.cases, 4u);  // two cases, human and json
  EXPECT_EQ(report.recorded, 4u);
  EXPECT_EQ(report.nonzero_exits, 0u);
  const fs::path size_dir = out_.path() / "measure-json/_size" / version_;
  EXPECT_EQ(ReadText(size_dir / "1G-qcow2-default.stdout.txt"),
            Direct({"measure", "--output=json", "--size", "1G", "-O", "qcow2"}));
  EXPECT_EQ(
      ReadText(out_.path() / "measure-human/_size" / version_ / "1G-qcow2-default.stdout.txt"),
      Direct({"measure", "--size", "1G", "-O", "qcow2"}));
  const std::string meta =
      ReadText(out_.path() / "measure-json/vpc" / version_ / "vpc-fixed__raw.meta.json");
  EXPECT_NE(meta.find(R"("argv": ["qemu-img", "measure", "--output=json", "-O", "raw", )"
                      R"("$TESTDATA_ROOT/vpc-fixed.vhd"])"),
            std::string::npos)
      << meta;
  EXPECT_NE(meta.find(R"("exit-code": 0)"), std::string::npos);
}

TEST_F(GeneratorTest, CreatePipelineIsNormalised) {
  Run("create", out_.path(), {"vmdk/1M-default"});
  const fs::path dir = out_.path() / "create-info-json/vmdk" / version_;
  const std::string out = ReadText(dir / "1M-default.stdout.txt");
  EXPECT_NE(out.find(R"("filename": "$FILENAME")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("cid": "$CID")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("parent-cid": 4294967295)"), std::string::npos) << out;
  EXPECT_EQ(out.find("/tmp"), std::string::npos) << out;
  EXPECT_EQ(ReadText(dir / "1M-default.stderr.txt"), "---CREATE STDERR---\n---INFO STDERR---\n");
}

// resize, dd and amend: pipelines of three or four steps over one or two
// scratch files, both named by placeholder.
TEST_F(GeneratorTest, ProducingCommandsRecordTheirPipelines) {
  GenerateReport resize =
      Run("resize", out_.path(), {"raw/64M-to-1M-shrink", "qcow2/64M-to-1M-without-shrink-flag"});
  EXPECT_EQ(resize.recorded, 2u);
  const fs::path raw = out_.path() / "resize-info-json/raw" / version_;
  // qemu-img agrees with the size the harness expects.
  EXPECT_NE(ReadText(raw / "64M-to-1M-shrink.stdout.txt").find(R"("virtual-size": 1048576,)"),
            std::string::npos);
  EXPECT_NE(ReadText(raw / "64M-to-1M-shrink.meta.json").find(R"("applied_shrink_flag": true)"),
            std::string::npos);
  EXPECT_EQ(ReadText(raw / "64M-to-1M-shrink.stderr.txt").rfind("---CREATE STDERR---\n", 0), 0u);
  // Without --shrink qemu-img refuses, and the pipeline stops there.
  const fs::path qcow2 = out_.path() / "resize-info-json/qcow2" / version_;
  EXPECT_EQ(ReadText(qcow2 / "64M-to-1M-without-shrink-flag.stdout.txt"), "");
  const std::string refused = ReadText(qcow2 / "64M-to-1M-without-shrink-flag.stderr.txt");
  EXPECT_NE(refused.find("---RESIZE STDERR---\n"), std::string::npos) << refused;
  EXPECT_EQ(refused.find("---INFO STDERR---"), std::string::npos) << refused;

  Run("dd", out_.path(), {"vpc/1M-raw-bs1000-count3"});
  const fs::path vhd = out_.path() / "dd-info-json/vpc" / version_;
  const std::string dd_out = ReadText(vhd / "1M-raw-bs1000-count3.stdout.txt");
  EXPECT_NE(dd_out.find(R"("filename": "$FILENAME")"), std::string::npos) << dd_out;
  EXPECT_NE(dd_out.find(R"("format": "vpc")"), std::string::npos) << dd_out;
  EXPECT_EQ(ReadText(vhd / "1M-raw-bs1000-count3.stderr.txt"),
            "---CREATE STDERR---\n---DD STDERR---\n---INFO STDERR---\n");

  Run("amend", out_.path(), {"qcow2/compat-0.10-to-1.1-backing"});
  const fs::path amend = out_.path() / "amend-info-json/qcow2" / version_;
  const std::string amend_out = ReadText(amend / "compat-0.10-to-1.1-backing.stdout.txt");
  EXPECT_NE(amend_out.find(R"("backing-filename": "$FILENAME.base")"), std::string::npos)
      << amend_out;
  EXPECT_NE(amend_out.find(R"("compat": "1.1")"), std::string::npos) << amend_out;
  const std::string amend_meta = ReadText(amend / "compat-0.10-to-1.1-backing.meta.json");
  EXPECT_NE(amend_meta.find(R"("name": "backing")"), std::string::npos) << amend_meta;

  // No host path anywhere.
  for (const auto& [path, text] : ReadTree(out_.path())) {
    EXPECT_EQ(text.find(out_.path().string()), std::string::npos) << path;
    EXPECT_EQ(text.find("instar-harness."), std::string::npos) << path;
  }
}

// check, map, compare and convert over the corpus, one case each.
TEST_F(GeneratorTest, CorpusCommandsRecordTheirFindings) {
  Run("check", out_.path(), {"qcow2/qcow2-v3-64k", "vpc/vpc-dynamic"});
  const fs::path check = out_.path() / "check-human";
  EXPECT_EQ(ReadText(check / "qcow2" / version_ / "qcow2-v3-64k.stdout.txt"),
            Direct({"check", (testing::kSourceRoot / "cases/images/qcow2-v3-64k.qcow2").string()}));
  // vpc has no check: qemu-img's exit status 63 is the baseline.
  EXPECT_NE(ReadText(check / "vpc" / version_ / "vpc-dynamic.meta.json").find(R"("exit-code": 63)"),
            std::string::npos);

  Run("map", out_.path(), {"qcow2/qcow2-backing"});
  const std::string map =
      ReadText(out_.path() / "map-human/qcow2" / version_ / "qcow2-backing.stdout.txt");
  EXPECT_NE(map.find("$TESTDATA_ROOT/qcow2-v3-64k.qcow2"), std::string::npos) << map;
  EXPECT_NE(map.find("$TESTDATA_ROOT/qcow2-backing.qcow2"), std::string::npos) << map;

  Run("compare", out_.path(), {"chain3-vs-flattened", "base-vs-overlay"});
  const fs::path compare = out_.path() / "compare-human/qcow2" / version_;
  EXPECT_EQ(ReadText(compare / "chain3-vs-flattened.stdout.txt"), "Images are identical.\n");
  EXPECT_EQ(ReadText(compare / "base-vs-overlay.stdout.txt"),
            "Content mismatch at offset 65536!\n");
  EXPECT_NE(ReadText(compare / "base-vs-overlay.meta.json").find(R"("exit-code": 1)"),
            std::string::npos);

  // One image's content is the same in raw and qcow2: the digests agree.
  Run("convert", out_.path(), {"raw/qcow2-v3-64k__raw", "qcow2/qcow2-v3-64k__qcow2"});
  const fs::path convert = out_.path() / "convert-info-json";
  const std::string raw_meta = ReadText(convert / "raw" / version_ / "qcow2-v3-64k__raw.meta.json");
  const std::string qcow2_meta =
      ReadText(convert / "qcow2" / version_ / "qcow2-v3-64k__qcow2.meta.json");
  const size_t at = raw_meta.find(R"("digest": "xxh3-64-sparse:)");
  ASSERT_NE(at, std::string::npos) << raw_meta;
  const std::string digest = raw_meta.substr(at, 43);
  EXPECT_NE(qcow2_meta.find(digest), std::string::npos) << digest << "\n" << qcow2_meta;
}

TEST_F(GeneratorTest, InfoNamesTheCorpusByPlaceholder) {
  Run("info", out_.path(), {"qcow2-backing"});
  const std::string out =
      ReadText(out_.path() / "info-human/qcow2" / version_ / "qcow2-backing.stdout.txt");
  EXPECT_NE(out.find("image: $TESTDATA_ROOT/qcow2-backing.qcow2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("(actual path: $TESTDATA_ROOT/qcow2-v3-64k.qcow2)"), std::string::npos) << out;
}

TEST_F(GeneratorTest, ResumeSkipsCompleteCasesAndRedoesHalfWrittenOnes) {
  Run("create", out_.path(), {"raw/1?-default"});
  const fs::path dir = out_.path() / "create-info-json/raw" / version_;
  testing::WriteText(dir / "1M-default.stdout.txt", "kept because complete");
  fs::remove(dir / "1G-default.meta.json");  // as if stopped before its meta.json
  GenerateReport report = Run("create", out_.path(), {"raw/1?-default"}, /*resume=*/true);
  EXPECT_EQ(report.skipped, 1u);
  EXPECT_EQ(report.recorded, 1u);
  EXPECT_EQ(ReadText(dir / "1M-default.stdout.txt"), "kept because complete");
  EXPECT_TRUE(fs::exists(dir / "1G-default.meta.json"));
  // Without --resume everything is redone.
  Run("create", out_.path(), {"raw/1?-default"});
  EXPECT_NE(ReadText(dir / "1M-default.stdout.txt"), "kept because complete");
}

TEST_F(GeneratorTest, RegeneratedTreesAreByteIdenticalAndStaleFilesGo) {
  TempDir second;
  // A stale case and a stale bucket of this version, as left by an older
  // case file; a full run removes them.
  testing::WriteText(second.path() / "create-info-json/qcow2" / version_ / "old.stdout.txt", "x");
  testing::WriteText(second.path() / "create-info-json/gone" / version_ / "old.meta.json", "{}");
  GenerateReport first_report = Run("create", out_.path(), {});
  GenerateReport second_report = Run("create", second.path(), {});
  EXPECT_EQ(second_report.pruned_files, 2u);
  EXPECT_EQ(first_report.recorded, 43u);
  auto first_tree = ReadTree(out_.path());
  EXPECT_EQ(first_tree.size(), 3 * 43u);
  EXPECT_EQ(first_tree, ReadTree(second.path()));

  Run("measure", out_.path(), {"qcow2-v3-64k__*", "_size/1T-*"});
  Run("measure", second.path(), {"qcow2-v3-64k__*", "_size/1T-*"});
  EXPECT_EQ(ReadTree(out_.path()), ReadTree(second.path()));
}

}  // namespace
}  // namespace instar::harness
