#include "harness/conform/divergences.h"

#include <gtest/gtest.h>

#include "harness/cases/commands.h"
#include "harness/core/error.h"
#include "harness/core/words.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

using testing::kSourceRoot;
using testing::ReadText;

std::string ErrorOf(const std::string& text) {
  try {
    ParseDivergencesText(text, "cases/divergences.json");
  } catch (const HarnessError& error) {
    return error.what();
  }
  return "(no error)";
}

std::vector<std::string> EveryOutputType() {
  std::vector<std::string> types;
  for (const auto& command : Commands()) {
    for (const auto& type : command.output_types) types.push_back(type.name);
  }
  return types;
}

// One entry wrapped in a file.
std::string File(const std::string& entry) { return R"({"divergences": [)" + entry + "]}"; }

TEST(DivergencesTest, TheCommittedFileParsesAndDocsListEveryEntry) {
  const Divergences divergences = ParseDivergencesFile(kSourceRoot / "cases/divergences.json");
  ASSERT_FALSE(divergences.entries.empty());
  const std::string docs = ReadText(kSourceRoot / "docs/divergences.md");
  for (const auto& entry : divergences.entries) {
    EXPECT_NE(docs.find("`" + entry.name + "`"), std::string::npos)
        << entry.name << " is not in docs/divergences.md";
  }
}

TEST(DivergencesTest, ParsesFilterAndSkipEntries) {
  const Divergences d = ParseDivergencesText(
      R"({"description": "x", "divergences": [
           {"name": "a", "filter": "disk-size", "output-types": ["info-human"],
            "formats": ["qcow2", "vpc"], "versions": ["5.2.0"], "cases": ["qcow2-*"],
            "reason": "why a"},
           {"name": "b", "skip": ["vmdk/vmdk-flat"], "output-types": ["info-json"],
            "reason": "why b"}]})",
      "t.json");
  ASSERT_EQ(d.entries.size(), 2u);
  EXPECT_EQ(d.entries[0].filter, FindFilter("disk-size"));
  EXPECT_FALSE(d.entries[0].is_skip());
  EXPECT_EQ(d.entries[0].formats, (std::vector<std::string>{"qcow2", "vpc"}));
  EXPECT_EQ(d.entries[0].reason, "why a");
  EXPECT_TRUE(d.entries[1].is_skip());
  EXPECT_EQ(d.entries[1].skip, std::vector<std::string>{"vmdk/vmdk-flat"});
}

constexpr char kNeedsOne[] =
    "cases/divergences.json: divergences[0] \"a\": needs exactly one of \"filter\" (a filter "
    "name), \"skip\" (case globs), \"stderr\" (case globs) and \"difffuzz\" (script globs)";

TEST(DivergencesTest, BadEntriesAreOneLineNamingFileAndEntry) {
  const std::string ok_rest = R"("output-types": ["info-human"], "reason": "r")";
  EXPECT_EQ(ErrorOf(File(R"({"name": "a", "filter": "disksize", )" + ok_rest + "}")),
            "cases/divergences.json: divergences[0] \"a\": unknown filter \"disksize\" (known: "
            "disk-size, actual-size)");
  EXPECT_EQ(ErrorOf(File(R"({"name": "a", "filter": "disk-size", "output-types": ["info-json"],)"
                         R"( "reason": "r"})")),
            "cases/divergences.json: divergences[0] \"a\": filter \"disk-size\" reads human "
            "output, but \"info-json\" is json");
  EXPECT_EQ(
      ErrorOf(File(R"({"name": "a", "filter": "disk-size", "output-types": ["info-human"]})")),
      "cases/divergences.json: divergences[0] \"a\": missing field \"reason\"");
  EXPECT_EQ(ErrorOf(File(R"({"name": "a", "filter": "disk-size", "reason": "", )"
                         R"("output-types": ["info-human"]})")),
            "cases/divergences.json: divergences[0] \"a\": \"reason\" must not be empty");
  EXPECT_EQ(ErrorOf(File(R"({"name": "a", )" + ok_rest + "}")), kNeedsOne);
  EXPECT_EQ(
      ErrorOf(File(R"({"name": "a", "filter": "disk-size", "skip": ["x"], )" + ok_rest + "}")),
      kNeedsOne);
  EXPECT_EQ(ErrorOf(File(R"({"name": "a", "difffuzz": ["x"], "skip": ["x"], )" + ok_rest + "}")),
            kNeedsOne);
  EXPECT_EQ(ErrorOf(File(R"({"name": "a", "difffuzz": [], )" + ok_rest + "}")),
            "cases/divergences.json: divergences[0] \"a\": \"difffuzz\" is empty (it lists the "
            "scripts it explains)");
  EXPECT_EQ(ErrorOf(File(R"({"name": "a", "skip": [], )" + ok_rest + "}")),
            "cases/divergences.json: divergences[0] \"a\": \"skip\" is empty (it lists the cases "
            "to skip)");
  EXPECT_EQ(ErrorOf(File(R"({"name": "a", "skip": ["x"], "cases": ["y"], )" + ok_rest + "}")),
            "cases/divergences.json: divergences[0] \"a\": \"cases\" narrows a filter entry; a "
            "skip entry lists its cases in \"skip\", a stderr entry in \"stderr\", a difffuzz "
            "entry its scripts in \"difffuzz\"");
  EXPECT_EQ(ErrorOf(File(R"({"name": "a", "filter": "disk-size", "output-types": ["info-hmn"],)"
                         R"( "reason": "r"})")),
            "cases/divergences.json: divergences[0] \"a\": unknown output type \"info-hmn\" "
            "(known: " +
                JoinWords(EveryOutputType()) + ")");
  EXPECT_EQ(ErrorOf(File(R"({"name": "a", "filter": "disk-size", "formats": ["qcow3"], )" +
                         ok_rest + "}")),
            "cases/divergences.json: divergences[0] \"a\": unknown format \"qcow3\" (known: raw, "
            "qcow2, vmdk, vpc, vhd, vhdx, _size, _cli)");
  EXPECT_EQ(ErrorOf(File(R"({"name": "a", "filter": "disk-size", "versions": ["7.2"], )" + ok_rest +
                         "}")),
            "cases/divergences.json: divergences[0] \"a\": bad version \"7.2\" (X.Y.Z)");
  EXPECT_EQ(
      ErrorOf(File(R"({"name": "a", "filter": "disk-size", "versions": [], )" + ok_rest + "}")),
      "cases/divergences.json: divergences[0] \"a\": \"versions\" is empty (leave it out "
      "to cover every one)");
  EXPECT_EQ(ErrorOf(File(R"({"name": "a", "filter": "disk-size", "colour": 1, )" + ok_rest + "}")),
            "cases/divergences.json: divergences[0] \"a\": unknown key \"colour\"");
  EXPECT_EQ(ErrorOf(File(R"({"name": "a b", "filter": "disk-size", )" + ok_rest + "}")),
            "cases/divergences.json: divergences[0] \"a b\": bad name (it must match "
            "[A-Za-z0-9_][A-Za-z0-9._-]*)");
  EXPECT_EQ(ErrorOf(File(R"({"name": "a", "filter": "disk-size", )" + ok_rest + R"(}, )" +
                         R"({"name": "a", "filter": "disk-size", )" + ok_rest + "}")),
            "cases/divergences.json: divergences[1] \"a\": duplicate name \"a\"");
  EXPECT_EQ(ErrorOf(File("3")),
            "cases/divergences.json: divergences[0]: expected an object, found an integer");
  EXPECT_EQ(ErrorOf(R"({"divergences": [], "extra": 1})"),
            "cases/divergences.json: unknown key \"extra\"");
  EXPECT_EQ(ErrorOf("{\"divergences\": [\n,]}"),
            "cases/divergences.json:2:1: not valid JSON (syntax error)");
}

TEST(DivergencesTest, DifffuzzEntriesNeitherFilterNorSkip) {
  const Divergences d = ParseDivergencesText(
      R"({"divergences": [{"name": "fuzz", "difffuzz": ["*snapshot -c*"],)"
      R"( "output-types": ["info-human"], "formats": ["qcow2"], "reason": "r"}]})",
      "cases/divergences.json");
  ASSERT_EQ(d.entries.size(), 1u);
  EXPECT_TRUE(d.entries[0].is_difffuzz());
  EXPECT_FALSE(d.entries[0].is_skip());
  const CaseScope scope{"info-human", "qcow2", "difffuzz", {"7.2.22"}};
  EXPECT_TRUE(Covers(d.entries[0], scope));
  EXPECT_FALSE(Covers(d.entries[0], {"info-human", "raw", "difffuzz", {"7.2.22"}}));
  EXPECT_EQ(FindSkip(d, scope), nullptr);
  EXPECT_EQ(Normalise("disk size: 1 KiB\n", d, scope), "disk size: 1 KiB\n");
}

TEST(DivergencesTest, StderrEntriesNameTheCasesWhoseStderrIsNotCompared) {
  const Divergences d = ParseDivergencesText(
      R"({"divergences": [{"name": "crash", "stderr": ["vmdk/mal-*"],)"
      R"( "output-types": ["info-human"], "versions": ["5.2.0"], "reason": "r"}]})",
      "cases/divergences.json");
  ASSERT_EQ(d.entries.size(), 1u);
  EXPECT_TRUE(d.entries[0].is_stderr());
  EXPECT_FALSE(d.entries[0].is_skip());
  const CaseScope scope{"info-human", "vmdk", "mal-vmdk-x", {"5.2.0"}};
  EXPECT_EQ(FindStderrDivergence(d, scope), &d.entries[0]);
  EXPECT_EQ(FindSkip(d, scope), nullptr);
  EXPECT_EQ(FindStderrDivergence(d, {"info-human", "vmdk", "mal-vmdk-x", {"7.2.22"}}), nullptr);
  EXPECT_EQ(FindStderrDivergence(d, {"info-human", "qcow2", "mal-qcow2-x", {"5.2.0"}}), nullptr);
  EXPECT_THROW(ParseDivergencesText(R"({"divergences": [{"name": "e", "stderr": [],)"
                                    R"( "output-types": ["info-human"], "reason": "r"}]})",
                                    "cases/divergences.json"),
               HarnessError);
}

TEST(DivergencesTest, CoversNarrowsByTypeFormatVersionAndCase) {
  const Divergences d = ParseDivergencesText(
      File(R"({"name": "a", "filter": "disk-size", "output-types": ["info-human"],)"
           R"( "formats": ["qcow2"], "versions": ["7.2.22"], "cases": ["qcow2-v*"],)"
           R"( "reason": "r"})"),
      "t.json");
  const Divergence& entry = d.entries[0];
  CaseScope scope{"info-human", "qcow2", "qcow2-v2", {"7.2.18", "7.2.22"}};
  EXPECT_TRUE(Covers(entry, scope));
  scope.output_type = "info-json";
  EXPECT_FALSE(Covers(entry, scope));
  scope.output_type = "info-human";
  scope.bucket = "vpc";
  EXPECT_FALSE(Covers(entry, scope));
  scope.bucket = "qcow2";
  scope.versions = {"10.0.2", "11.1.3"};
  EXPECT_FALSE(Covers(entry, scope));
  scope.versions = {"7.2.22"};
  scope.name = "qcow2-empty";
  EXPECT_FALSE(Covers(entry, scope));
}

TEST(DivergencesTest, SkipMatchesNameOrBucketSlashName) {
  const Divergences d =
      ParseDivergencesText(File(R"({"name": "s", "skip": ["vmdk/vmdk-f*", "raw-sparse"],)"
                                R"( "output-types": ["info-json"], "reason": "why"})"),
                           "t.json");
  EXPECT_NE(FindSkip(d, {"info-json", "vmdk", "vmdk-flat", {"5.2.0"}}), nullptr);
  EXPECT_NE(FindSkip(d, {"info-json", "raw", "raw-sparse", {"5.2.0"}}), nullptr);
  EXPECT_EQ(FindSkip(d, {"info-json", "vmdk", "vmdk-sparse", {"5.2.0"}}), nullptr);
  EXPECT_EQ(FindSkip(d, {"info-human", "vmdk", "vmdk-flat", {"5.2.0"}}), nullptr);
}

TEST(DivergencesTest, NormaliseAppliesCoveringFiltersAndNamesThem) {
  const Divergences d = ParseDivergencesText(
      R"({"divergences": [
           {"name": "h", "filter": "disk-size", "output-types": ["info-human"], "reason": "r"},
           {"name": "j", "filter": "actual-size", "output-types": ["info-json"], "reason": "r"},
           {"name": "s", "skip": ["x"], "output-types": ["info-human"], "reason": "r"}]})",
      "t.json");
  std::vector<std::string> applied;
  EXPECT_EQ(
      Normalise("disk size: 4 KiB\n", d, {"info-human", "raw", "raw-sparse", {"5.2.0"}}, &applied),
      "disk size: $DISK_SIZE\n");
  EXPECT_EQ(applied, std::vector<std::string>{"h"});
  applied.clear();
  EXPECT_EQ(
      Normalise("disk size: 4 KiB\n", d, {"info-json", "raw", "raw-sparse", {"5.2.0"}}, &applied),
      "disk size: 4 KiB\n");
  EXPECT_TRUE(applied.empty());
}

}  // namespace
}  // namespace instar::harness
