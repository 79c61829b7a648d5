// Conform end to end, with the real instar built from this tree, on the
// committed profiles and on copies of them with one thing changed.
#include "harness/conform/conformer.h"

#include <gtest/gtest.h>

#include "harness/core/error.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

namespace fs = std::filesystem;
using testing::kSourceRoot;
using testing::ReadText;
using testing::TempDir;
using testing::WriteText;

ConformRequest BaseRequest(const fs::path& output_dir) {
  ConformRequest request;
  request.selection.profiles = kSourceRoot / "profiles";
  request.cases_dir = kSourceRoot / "cases";
  request.divergences = kSourceRoot / "cases/divergences.json";
  request.instar = INSTAR_BINARY_PATH;
  request.sandbox = "process";
  request.output_dir = output_dir;
  request.jobs = 2;
  request.progress = ProgressStyle::kSilent;
  request.reproduce_prefix = {"instar-harness", "conform", "--command"};
  return request;
}

ConformReport RunConformRequest(const ConformRequest& request) {
  Interrupt interrupt;
  return Conform(request, interrupt);
}

const CaseResult* Find(const ConformReport& report, const std::string& target,
                       const std::string& id) {
  for (const auto& c : report.cases) {
    if (c.target == target && c.Id() == id) return &c;
  }
  return nullptr;
}

// A copy of one output type's profiles, to change.
fs::path CopyProfiles(const fs::path& to, const std::string& output_type) {
  fs::create_directories(to);
  fs::copy(kSourceRoot / "profiles" / output_type, to / output_type, fs::copy_options::recursive);
  return to;
}

TEST(ConformerTest, CommittedMeasureCasesPassIncludingAFailingBaseline) {
  TempDir dir;
  ConformRequest request = BaseRequest(dir.path() / "out");
  request.command = "measure";
  request.case_globs = {"_size/1G-qcow2-cs-*", "qcow2-zstd__raw"};
  const ConformReport report = RunConformRequest(request);
  // (3 profiles of measure-human + 2 of measure-json) x (4 size cases + 1
  // image case).
  ASSERT_EQ(report.cases.size(), 25u);
  EXPECT_EQ(report.Count(Outcome::kPass), 25u) << FormatFailures(report, 40);
  ASSERT_EQ(report.targets.size(), 5u);
  EXPECT_EQ(report.targets[0].output_type, "measure-human");
  EXPECT_EQ(report.targets[0].name, "profile-01");
  EXPECT_EQ(report.targets[0].pass, 5u);
  // 5.2.0 cannot open the zstd image (exit 1): instar, as 5.2.0, fails too.
  const CaseResult* zstd = Find(report, "profile-01", "qcow2/qcow2-zstd__raw");
  ASSERT_NE(zstd, nullptr);
  EXPECT_EQ(zstd->expected_exit, 1);
  EXPECT_EQ(zstd->instar_exit, 1);
  EXPECT_EQ(
      zstd->instar_command,
      "instar --sandbox=process --compat 5.2.0 measure -O raw $TESTDATA_ROOT/qcow2-zstd.qcow2");
  const CaseResult* later = Find(report, "profile-02", "qcow2/qcow2-zstd__raw");
  ASSERT_NE(later, nullptr);
  EXPECT_EQ(later->expected_exit, 0);
  EXPECT_EQ(later->instar_exit, 0);
}

TEST(ConformerTest, AChangedBaselineFailsKeepsTheOutputsUntilItPassesAgain) {
  TempDir dir;
  const fs::path profiles = CopyProfiles(dir.path() / "profiles", "info-human");
  const fs::path stdout_path = profiles / "info-human/profile-02/qcow2/qcow2-v2.stdout.txt";
  const std::string original = ReadText(stdout_path);
  std::string changed = original;
  const size_t at = changed.find("virtual size: 64 MiB");
  ASSERT_NE(at, std::string::npos);
  changed.replace(at, 20, "virtual size: 65 MiB");
  WriteText(stdout_path, changed);

  ConformRequest request = BaseRequest(dir.path() / "out");
  request.command = "info";
  request.output_types = {"info-human"};
  request.selection.profiles = profiles;
  request.selection.profile_names = {"profile-02"};
  request.case_globs = {"qcow2/qcow2-v2"};
  ConformReport report = RunConformRequest(request);
  ASSERT_EQ(report.cases.size(), 1u);
  const CaseResult& fail = report.cases[0];
  EXPECT_EQ(fail.outcome, Outcome::kFail);
  EXPECT_EQ(fail.reason, "stdout differs");
  EXPECT_NE(fail.diff.find("\n-virtual size: 65 MiB (67108864 bytes)\n+virtual size: 64 MiB "
                           "(67108864 bytes)\n"),
            std::string::npos)
      << fail.diff;
  EXPECT_EQ(fail.reproduce,
            "instar-harness conform --command --output-type info-human --profile profile-02 "
            "--case qcow2/qcow2-v2");
  const fs::path kept = dir.path() / "out/info-human/profile-02/qcow2/qcow2-v2";
  EXPECT_EQ(fail.kept, kept.string());
  EXPECT_EQ(ReadText(kept.string() + ".diff"), fail.diff);
  // Both sides as compared: normalised by the divergence filters.
  EXPECT_NE(ReadText(kept.string() + ".out").find("virtual size: 65 MiB"), std::string::npos);
  EXPECT_NE(ReadText(kept.string() + ".out.bad").find("\ndisk size: $DISK_SIZE\n"),
            std::string::npos);
  EXPECT_TRUE(fs::exists(kept.string() + ".err.bad"));

  WriteText(stdout_path, original);
  report = RunConformRequest(request);
  ASSERT_EQ(report.cases.size(), 1u);
  EXPECT_EQ(report.cases[0].outcome, Outcome::kPass);
  EXPECT_FALSE(fs::exists(kept.string() + ".out"));
  EXPECT_FALSE(fs::exists(kept.string() + ".out.bad"));
  EXPECT_FALSE(fs::exists(kept.string() + ".diff"));
  EXPECT_FALSE(fs::exists(dir.path() / "out/info-human"));  // emptied directories go too
  EXPECT_TRUE(fs::exists(dir.path() / "out"));
}

// A baseline that says qemu-img failed asserts that instar fails too.
TEST(ConformerTest, NonZeroBaselineAndZeroInstarFails) {
  TempDir dir;
  const fs::path profiles = CopyProfiles(dir.path() / "profiles", "measure-json");
  const fs::path meta = profiles / "measure-json/profile-02/_size/1G-raw.meta.json";
  std::string text = ReadText(meta);
  const size_t at = text.find("\"exit-code\": 0");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 14, "\"exit-code\": 1");
  WriteText(meta, text);

  ConformRequest request = BaseRequest(dir.path() / "out");
  request.command = "measure";
  request.output_types = {"measure-json"};
  request.selection.profiles = profiles;
  request.selection.versions = {"7.2.22"};
  request.case_globs = {"_size/1G-raw"};
  const ConformReport report = RunConformRequest(request);
  ASSERT_EQ(report.cases.size(), 1u);
  EXPECT_EQ(report.cases[0].outcome, Outcome::kFail);
  EXPECT_EQ(report.cases[0].reason,
            "instar exited 0, qemu-img 1 (a failing baseline asserts that instar fails too)");
}

// The filters apply to both sides: a baseline whose disk size differs
// (as on a file system that allocates differently) passes with the
// committed divergences and fails without them.
TEST(ConformerTest, DivergenceFiltersNormaliseBothSides) {
  TempDir dir;
  const fs::path profiles = CopyProfiles(dir.path() / "profiles", "info-json");
  const fs::path stdout_path = profiles / "info-json/profile-03/raw/raw-sparse.stdout.txt";
  std::string text = ReadText(stdout_path);
  size_t changed = 0;
  for (size_t at = text.find("\"actual-size\": "); at != std::string::npos;
       at = text.find("\"actual-size\": ", at + 1)) {
    text.insert(at + 15, "1");
    ++changed;
  }
  ASSERT_EQ(changed, 2u);  // the image and its file child
  WriteText(stdout_path, text);

  ConformRequest request = BaseRequest(dir.path() / "out");
  request.command = "info";
  request.output_types = {"info-json"};
  request.selection.profiles = profiles;
  request.selection.profile_names = {"profile-03"};
  request.case_globs = {"raw-sparse"};
  ConformReport report = RunConformRequest(request);
  ASSERT_EQ(report.cases.size(), 1u);
  EXPECT_EQ(report.cases[0].outcome, Outcome::kPass) << report.cases[0].diff;
  EXPECT_EQ(report.cases[0].filters, std::vector<std::string>{"host-actual-size"});

  WriteText(dir.path() / "none.json", R"({"divergences": []})");
  request.divergences = dir.path() / "none.json";
  report = RunConformRequest(request);
  ASSERT_EQ(report.cases.size(), 1u);
  EXPECT_EQ(report.cases[0].outcome, Outcome::kFail);
}

TEST(ConformerTest, SkipEntriesAreNotRunAndCarryTheirReason) {
  TempDir dir;
  WriteText(dir.path() / "skip.json",
            R"({"divergences": [{"name": "no-flat", "skip": ["vmdk/vmdk-flat"],)"
            R"( "output-types": ["info-human"], "versions": ["5.2.0"], "reason": "a test"}]})");
  ConformRequest request = BaseRequest(dir.path() / "out");
  request.command = "info";
  request.output_types = {"info-human"};
  request.divergences = dir.path() / "skip.json";
  request.case_globs = {"vmdk-flat"};
  const ConformReport report = RunConformRequest(request);
  ASSERT_EQ(report.cases.size(), 3u);
  const CaseResult* skipped = Find(report, "profile-01", "vmdk/vmdk-flat");
  ASSERT_NE(skipped, nullptr);
  EXPECT_EQ(skipped->outcome, Outcome::kSkip);
  EXPECT_EQ(skipped->reason, "a test (divergence no-flat)");
  EXPECT_FALSE(skipped->instar_exit.has_value());
  EXPECT_EQ(Find(report, "profile-02", "vmdk/vmdk-flat")->outcome, Outcome::kPass);
  EXPECT_EQ(report.targets[0].skip, 1u);
}

TEST(ConformerTest, BadRequestsAreOneLine) {
  TempDir dir;
  ConformRequest request = BaseRequest(dir.path() / "out");
  request.command = "rebase";  // not a command of the table
  EXPECT_THROW(PlanConform(request), HarnessError);
  request.command = "measure";
  request.output_types = {"info-json"};
  try {
    PlanConform(request);
    ADD_FAILURE();
  } catch (const HarnessError& error) {
    EXPECT_STREQ(error.what(),
                 "conform: command measure has no output type \"info-json\" (it has "
                 "measure-human, measure-json)");
  }
  request.output_types = {};
  request.case_globs = {"no-such-case"};
  try {
    PlanConform(request);
    ADD_FAILURE();
  } catch (const HarnessError& error) {
    EXPECT_STREQ(error.what(), "conform: no case of measure matches the --case patterns");
  }
}

}  // namespace
}  // namespace instar::harness
