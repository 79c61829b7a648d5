#include "harness/cases/case_file.h"

#include <gtest/gtest.h>

#include "harness/core/error.h"
#include "harness/core/words.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

using testing::kSourceRoot;
using testing::TempDir;
using testing::WriteText;

const std::string kSizeCase = R"({"case": "1M-raw", "size": "1M", "target": "raw", "options": []})";

class CaseFileTest : public ::testing::Test {
 protected:
  Manifest manifest_ = LoadManifest(kSourceRoot / "cases/images/manifest.json");
  TempDir dir_;

  // Parses `text` as a case file and returns the error line, or "" when
  // it parses.
  std::string ErrorOf(const std::string& text) {
    WriteText(dir_.path() / "measure.json", text);
    try {
      ParseCaseFile(dir_.path() / "measure.json", manifest_);
    } catch (const HarnessError& error) {
      return error.what();
    }
    return "";
  }
  std::string File() const { return (dir_.path() / "measure.json").string(); }
  static std::string Measure(const std::string& size_case) {
    return R"({"command": "measure", "size-cases": [)" + size_case +
           R"(], "image-cases": {"tiers": ["safe"], "targets": ["raw"]}})";
  }
};

TEST_F(CaseFileTest, CommittedFilesParseAndPlan) {
  CaseFile measure = ParseCaseFile(kSourceRoot / "cases/measure.json", manifest_);
  EXPECT_EQ(measure.sized_cases.size(), 21u);  // SIZE_CASES of seed 000
  // Every tier, but for the six images qemu-img runs on for seconds or more.
  EXPECT_EQ(measure.images->excluded.size(), 6u);
  const size_t images = manifest_.images.size() - 6;
  std::vector<CaseSpec> measure_json = PlanCases(measure, manifest_, {"measure-json"});
  // Each image to raw and qcow2, and (measure-json only) to each of the
  // five qcow2 image variants.
  EXPECT_EQ(measure_json.size(), 21 + (2 + 5) * images);
  // The cli cases are measure-human's only (measure_cases.cc says why).
  EXPECT_EQ(measure.cli_cases.size(), 261u);
  EXPECT_EQ(PlanCases(measure, manifest_, {"measure-human"}).size(), 21 + 261 + 2 * images);

  CaseFile create = ParseCaseFile(kSourceRoot / "cases/create.json", manifest_);
  // seed 002 without grain, with 1G-zstd, raw's preallocations and
  // rounded size, and vmdk's monolithicFlat (four cases)
  EXPECT_EQ(create.sized_cases.size(), 43u);
  CaseFile info = ParseCaseFile(kSourceRoot / "cases/info.json", manifest_);
  EXPECT_EQ(PlanCases(info, manifest_, {"info-human", "info-json"}).size(),
            2 * manifest_.images.size());
  // check and map: every tier, less the images qemu-img runs on for seconds
  // or more (map one more: a 1 EiB qcow2 that check reads at once).
  CaseFile check = ParseCaseFile(kSourceRoot / "cases/check.json", manifest_);
  EXPECT_EQ(PlanCases(check, manifest_, {"check-json"}).size(), manifest_.images.size() - 5);
  CaseFile map = ParseCaseFile(kSourceRoot / "cases/map.json", manifest_);
  EXPECT_EQ(PlanCases(map, manifest_, {"map-json"}).size(), manifest_.images.size() - 6);
}

TEST_F(CaseFileTest, PlansMeasureSizeCase) {
  CaseFile file = ParseCaseFile(kSourceRoot / "cases/measure.json", manifest_);
  std::vector<CaseSpec> cases = PlanCases(file, manifest_, {"measure-json"});
  auto it = std::find_if(cases.begin(), cases.end(),
                         [](const CaseSpec& c) { return c.name == "1G-qcow2-extended-l2"; });
  ASSERT_NE(it, cases.end());
  EXPECT_EQ(it->bucket, "_size");
  EXPECT_EQ(it->output_type, "measure-json");
  ASSERT_EQ(it->steps.size(), 1u);
  EXPECT_EQ(it->steps[0].argv,
            (std::vector<std::string>{"qemu-img", "measure", "--output=json", "--size", "1G", "-O",
                                      "qcow2", "-o", "extended_l2=on,cluster_size=64k"}));
  EXPECT_FALSE(it->UsesCorpus());
}

TEST_F(CaseFileTest, PlansMeasureCliCaseAsTyped) {
  CaseFile file = ParseCaseFile(kSourceRoot / "cases/measure.json", manifest_);
  std::vector<CaseSpec> cases = PlanCases(file, manifest_, {"measure-human"});
  auto it = std::find_if(cases.begin(), cases.end(),
                         [](const CaseSpec& c) { return c.name == "qcow2-1G-o-empty"; });
  ASSERT_NE(it, cases.end());
  EXPECT_EQ(it->bucket, "_cli");
  EXPECT_EQ(it->parameters.at("mode").as_string(), "cli");
  ASSERT_EQ(it->steps.size(), 1u);
  EXPECT_EQ(it->steps[0].argv, (std::vector<std::string>{"qemu-img", "measure", "--size", "1G",
                                                         "-O", "qcow2", "-o", ""}));
  EXPECT_FALSE(it->UsesCorpus());
}

TEST_F(CaseFileTest, CliCasesAreStrict) {
  auto with = [](const std::string& cli_case) {
    return R"({"command": "measure", "size-cases": [], "image-cases": {"targets": ["raw"]},
               "cli-cases": [)" +
           cli_case + "]}";
  };
  EXPECT_EQ(ErrorOf(with(R"({"case": "raw-empty", "args": ["--size", "", "-O", "raw"]})")), "");
  EXPECT_EQ(ErrorOf(with(R"({"case": "a", "args": ["-O", "raw"], "size": "1G"})")),
            File() + R"(: cli-cases[0] "a": unknown key "size")");
  EXPECT_EQ(ErrorOf(with(R"({"case": "a"})")),
            File() + R"(: cli-cases[0] "a": missing field "args")");
  EXPECT_EQ(ErrorOf(with(R"({"case": "a", "args": []})")),
            File() + R"(: cli-cases[0] "a": "args" is empty)");
  EXPECT_EQ(ErrorOf(with(R"({"case": "a", "args": ["-O", 1]})")),
            File() + R"(: cli-cases[0] "a": "args"[1] must be a string, found an integer)");
  EXPECT_EQ(
      ErrorOf(with(R"({"case": "a b", "args": ["-O", "raw"]})")),
      File() +
          R"(: cli-cases[0] "a b": bad case name (it must match [A-Za-z0-9_][A-Za-z0-9._-]*))");
  EXPECT_EQ(
      ErrorOf(with(R"({"case": "a", "args": ["--output=json", "--size", "1G"]})")),
      File() +
          R"(: cli-cases[0] "a": "args" has "--output=json" (the output type chooses the output format))");
  EXPECT_EQ(ErrorOf(with(R"({"case": "a", "args": ["x"]}, {"case": "a", "args": ["y"]})")),
            File() + R"(: cli-cases[1] "a": duplicate case "a")");
  EXPECT_EQ(ErrorOf(with(R"({"case": "a", "args": ["x"]}, {"case": "b", "args": ["x"]})")),
            File() + R"(: cli-cases[1] "b": the same "args" as an earlier case)");
  EXPECT_EQ(ErrorOf(R"({"command": "info", "image-cases": {}, "cli-cases": []})"),
            File() + R"(: unknown key "cli-cases")");
}

TEST_F(CaseFileTest, PlansMeasureImageCase) {
  CaseFile file = ParseCaseFile(kSourceRoot / "cases/measure.json", manifest_);
  std::vector<CaseSpec> cases = PlanCases(file, manifest_, {"measure-human"});
  auto it = std::find_if(cases.begin(), cases.end(),
                         [](const CaseSpec& c) { return c.name == "vpc-fixed__qcow2"; });
  ASSERT_NE(it, cases.end());
  EXPECT_EQ(it->bucket, "vpc");  // as the manifest spells the format
  EXPECT_EQ(it->steps[0].argv, (std::vector<std::string>{"qemu-img", "measure", "-O", "qcow2",
                                                         "$TESTDATA_ROOT/vpc-fixed.vhd"}));
  EXPECT_TRUE(it->UsesCorpus());
}

TEST_F(CaseFileTest, PlansCreatePipelineWithVhdAsVpc) {
  CaseFile file = ParseCaseFile(kSourceRoot / "cases/create.json", manifest_);
  std::vector<CaseSpec> cases = PlanCases(file, manifest_, {"create-info-json"});
  auto it = std::find_if(cases.begin(), cases.end(), [](const CaseSpec& c) {
    return c.bucket == "vhd" && c.name == "1M-fixed";
  });
  ASSERT_NE(it, cases.end());
  ASSERT_EQ(it->steps.size(), 2u);
  EXPECT_EQ(it->steps[0].argv, (std::vector<std::string>{"qemu-img", "create", "-f", "vpc", "-o",
                                                         "subformat=fixed", "$FILENAME", "1M"}));
  EXPECT_EQ(it->steps[1].argv,
            (std::vector<std::string>{"qemu-img", "info", "--output=json", "$FILENAME"}));
  // Only vmdk draws a random cid.
  EXPECT_TRUE(it->filters.empty());
  EXPECT_TRUE(std::any_of(cases.begin(), cases.end(), [](const CaseSpec& c) {
    return c.bucket == "vmdk" && c.filters == std::vector<std::string>{"random-cid"};
  }));
  EXPECT_TRUE(std::any_of(cases.begin(), cases.end(), [](const CaseSpec& c) {
    return c.name == "1G-zstd" && c.steps[0].argv[5] == "compression_type=zstd";
  }));
}

TEST_F(CaseFileTest, ValidMinimalFile) { EXPECT_EQ(ErrorOf(Measure(kSizeCase)), ""); }

TEST_F(CaseFileTest, UnknownKey) {
  EXPECT_EQ(ErrorOf(Measure(R"({"case": "1M-raw", "size": "1M", "target": "raw", "optoins": []})")),
            File() + R"(: size-cases[0] "1M-raw": unknown key "optoins")");
  EXPECT_EQ(ErrorOf(R"({"command": "measure", "size-cases": [], "image-cases": )"
                    R"({"targets": ["raw"]}, "extra": 1})"),
            File() + R"(: unknown key "extra")");
}

TEST_F(CaseFileTest, MissingField) {
  EXPECT_EQ(ErrorOf(Measure(R"({"case": "1M-raw", "size": "1M", "options": []})")),
            File() + R"(: size-cases[0] "1M-raw": missing field "target")");
  EXPECT_EQ(ErrorOf(R"({"command": "measure", "size-cases": []})"),
            File() + R"(: missing field "image-cases")");
  EXPECT_EQ(ErrorOf(R"({"size-cases": []})"), File() + R"(: missing field "command")");
}

TEST_F(CaseFileTest, WrongType) {
  EXPECT_EQ(
      ErrorOf(Measure(R"({"case": "1M-raw", "size": 1048576, "target": "raw", "options": []})")),
      File() + R"(: size-cases[0] "1M-raw": "size" must be a string, found an integer)");
  EXPECT_EQ(
      ErrorOf(Measure(R"({"case": "1M-raw", "size": "1M", "target": "raw", "options": "a=b"})")),
      File() + R"(: size-cases[0] "1M-raw": "options" must be an array, found a string)");
  EXPECT_EQ(
      ErrorOf(Measure(R"({"case": "1M-raw", "size": "1M", "target": "raw", "options": [1]})")),
      File() +
          R"(: size-cases[0] "1M-raw": "options"[0] must be a non-empty string, found an integer)");
  EXPECT_EQ(ErrorOf(Measure("[]")), File() + ": size-cases[0]: expected an object, found an array");
  EXPECT_EQ(ErrorOf("[]"), File() + ": expected an object, found an array");
}

TEST_F(CaseFileTest, BadSizeString) {
  EXPECT_EQ(
      ErrorOf(Measure(R"({"case": "1M-raw", "size": "1 MB", "target": "raw", "options": []})")),
      File() +
          R"(: size-cases[0] "1M-raw": bad size string "1 MB" (digits and an optional b/k/M/G/T/P/E))");
}

TEST_F(CaseFileTest, BadNamesOptionsTargetsAndDuplicates) {
  EXPECT_EQ(
      ErrorOf(Measure(R"({"case": "../x", "size": "1M", "target": "raw", "options": []})")),
      File() +
          R"(: size-cases[0] "../x": bad case name (it must match [A-Za-z0-9_][A-Za-z0-9._-]*))");
  EXPECT_EQ(
      ErrorOf(
          Measure(R"({"case": "a", "size": "1M", "target": "raw", "options": ["cluster_size"]})")),
      File() +
          R"(: size-cases[0] "a": bad option string "cluster_size" (it must be key=value[,key=value...]))");
  EXPECT_EQ(
      ErrorOf(Measure(R"({"case": "a", "size": "1M", "target": "qcwo2", "options": []})")),
      File() +
          R"(: size-cases[0] "a": unknown target "qcwo2" (known: raw, qcow2, vmdk, vhd, vhdx))");
  EXPECT_EQ(ErrorOf(Measure(kSizeCase + ", " + kSizeCase)),
            File() + R"(: size-cases[1] "1M-raw": duplicate case "1M-raw" in bucket "_size")");
}

TEST_F(CaseFileTest, ImageSelection) {
  EXPECT_EQ(ErrorOf(R"({"command": "measure", "size-cases": [], "image-cases": )"
                    R"({"tiers": ["saef"], "targets": ["raw"]}})"),
            File() + R"(: image-cases: tier "saef" matches no image of the manifest)");
  EXPECT_EQ(
      ErrorOf(R"({"command": "measure", "size-cases": [], "image-cases": {"tiers": ["safe"]}})"),
      File() + R"(: image-cases: missing field "targets")");
}

TEST_F(CaseFileTest, ExcludedImagesAreLeftOutEachWithAReason) {
  auto measure = [](const std::string& exclude) {
    return R"({"command": "measure", "size-cases": [], "image-cases": {"tiers": ["safe"], )"
           R"("targets": ["raw"], "exclude": [)" +
           exclude + "]}}";
  };
  const std::string raw_odd = R"({"image": "raw-odd", "reason": "because"})";
  EXPECT_EQ(ErrorOf(measure(raw_odd)), "");
  CaseFile file = ParseCaseFile(dir_.path() / "measure.json", manifest_);
  ASSERT_EQ(file.images->excluded.size(), 1u);
  EXPECT_EQ(file.images->excluded[0].reason, "because");
  ImageSelection all_safe = *file.images;
  all_safe.excluded.clear();
  const auto selected = SelectImages(manifest_, *file.images);
  EXPECT_EQ(selected.size() + 1, SelectImages(manifest_, all_safe).size());
  for (const ManifestImage* image : selected) EXPECT_NE(image->id, "raw-odd");

  EXPECT_EQ(ErrorOf(measure(raw_odd + ", " + raw_odd)),
            File() + R"(: image-cases exclude[1]: image "raw-odd" excluded twice)");
  EXPECT_EQ(ErrorOf(measure(R"({"image": "raw-odd"})")),
            File() + R"(: image-cases exclude[0]: missing field "reason")");
  EXPECT_EQ(ErrorOf(measure(R"({"image": "raw-odd", "reason": ""})")),
            File() + R"(: image-cases exclude[0]: "reason" must not be empty)");
  EXPECT_EQ(ErrorOf(measure(R"({"image": "raw-odd-x", "reason": "r"})")),
            File() + R"(: image-cases exclude[0]: image "raw-odd-x" is not in the manifest)");
  EXPECT_EQ(ErrorOf(measure(R"({"image": "mal-qcow2-version-4", "reason": "r"})")),
            File() + R"(: image-cases exclude[0]: image "mal-qcow2-version-4" is of the tier )"
                     R"("malicious", which "tiers" does not select)");
}

TEST_F(CaseFileTest, SyntaxErrorNamesLineAndColumn) {
  std::string error = ErrorOf("{\n  \"command\": \"measure\",\n  \"size-cases\": [}\n");
  EXPECT_EQ(error.rfind(File() + ":3:18: not valid JSON (", 0), 0u) << error;
}

TEST_F(CaseFileTest, UnknownCommand) {
  EXPECT_EQ(ErrorOf(R"({"command": "mesure"})"),
            File() + R"(: unknown command "mesure" (known: )" + JoinWords(CommandNames()) + ")");
}

}  // namespace
}  // namespace instar::harness
