// Sharded conform joined by merge gives the unsharded run's reports, byte
// for byte: JSON, JUnit and HTML, with a pass, a fail and a skip in them.
#include "harness/shard/merge_reports.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "harness/conform/conformer.h"
#include "harness/core/files.h"
#include "harness/report/run_page.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

namespace fs = std::filesystem;
using testing::ErrorOf;
using testing::kSourceRoot;
using testing::ReadText;
using testing::TempDir;
using testing::WriteText;

class MergeReportsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // measure's profiles, one case changed so that it fails, and a
    // divergence file that skips another.
    profiles_ = dir_.path() / "profiles";
    for (const char* type : {"measure-human", "measure-json"}) {
      fs::create_directories(profiles_);
      fs::copy(kSourceRoot / "profiles" / type, profiles_ / type, fs::copy_options::recursive);
    }
    WriteText(profiles_ / "measure-json/profile-02/_size/1G-raw.stdout.txt",
              "{\n    \"required\": 1,\n    \"fully-allocated\": 1073741824\n}\n");
    divergences_ = dir_.path() / "divergences.json";
    WriteText(divergences_, R"({"divergences": [{"name": "not-yet", "skip": ["1M-raw"], )"
                            R"("output-types": ["measure-human"], "reason": "a test's skip"}]})");
  }

  ConformReport Run(std::optional<Shard> shard, const std::string& name) {
    ConformRequest request;
    request.command = "measure";
    request.case_globs = {"_size/1*-raw", "_size/1G-qcow2-cs-*"};
    request.selection.profiles = profiles_;
    request.cases_dir = kSourceRoot / "cases";
    request.divergences = divergences_;
    request.instar = INSTAR_BINARY_PATH;
    request.sandbox = "process";
    request.output_dir = dir_.path() / ("kept-" + name);
    request.jobs = 2;
    request.progress = ProgressStyle::kSilent;
    request.reproduce_prefix = {"instar-harness", "conform", "--command", "measure"};
    request.shard = shard;
    Interrupt interrupt;
    return Conform(request, interrupt);
  }

  TempDir dir_;
  fs::path profiles_;
  fs::path divergences_;
};

TEST_F(MergeReportsTest, ThreeShardsMergedAreTheUnshardedReports) {
  const ConformReport unsharded = Run(std::nullopt, "all");
  // Every profile of measure-human and measure-json x (3 raw + 4
  // cluster-size cases); the changed case fails, 1M-raw is skipped in each
  // measure-human profile.
  ASSERT_GE(unsharded.cases.size(), 5 * 7u);
  EXPECT_GE(unsharded.Count(Outcome::kFail), 1u);
  EXPECT_GE(unsharded.Count(Outcome::kSkip), 1u);

  // Each case of each output type, with every profile of that type, in
  // exactly one shard.
  std::map<std::string, size_t> targets_per_case;  // "<type> <bucket>/<case>"
  for (const auto& c : unsharded.cases) ++targets_per_case[c.output_type + " " + c.Id()];
  std::map<std::string, std::set<unsigned>> shards_of_case;
  std::vector<fs::path> reports;
  for (unsigned k = 1; k <= 3; ++k) {
    const ConformReport shard = Run(Shard{k, 3}, std::to_string(k));
    EXPECT_EQ(shard.shard, std::to_string(k) + "/3");
    EXPECT_EQ(shard.targets.size(), unsharded.targets.size());
    std::map<std::string, size_t> targets;
    for (const auto& c : shard.cases) ++targets[c.output_type + " " + c.Id()];
    for (const auto& [id, count] : targets) {
      EXPECT_EQ(count, targets_per_case[id]) << id;
      shards_of_case[id].insert(k);
    }
    reports.push_back(dir_.path() / ("shard-" + std::to_string(k) + ".json"));
    WriteFileAtomic(reports.back(), JsonReport(shard));
  }
  EXPECT_EQ(shards_of_case.size(), targets_per_case.size());
  for (const auto& [id, shards] : shards_of_case) EXPECT_EQ(shards.size(), 1u) << id;

  // Given in any order.
  std::swap(reports[0], reports[2]);
  const ConformReport merged = MergeConformReports(reports);
  EXPECT_EQ(merged.merged_shards, 3u);
  EXPECT_EQ(JsonReport(merged), JsonReport(unsharded));
  EXPECT_EQ(JunitXml(merged), JunitXml(unsharded));
  EXPECT_EQ(CommandHtml(merged), CommandHtml(unsharded));

  // Shards missing, twice, of another N, or not a shard's at all.
  EXPECT_EQ(ErrorOf([&] {
              (void)MergeConformReports({reports[0], reports[2]});
            }),
            "merge: shard 2/3 missing (2 of 3 reports given)");
  EXPECT_EQ(ErrorOf([&] {
              (void)MergeConformReports({reports[0], reports[0], reports[1]});
            }),
            reports[0].string() + ": shard 3/3 again (also " + reports[0].string() + ")");
  const fs::path whole = dir_.path() / "whole.json";
  WriteFileAtomic(whole, JsonReport(unsharded));
  EXPECT_EQ(ErrorOf([&] { (void)MergeConformReports({whole}); }),
            whole.string() + ": not a shard's report (no \"shard\": run conform with --shard K/N)");
  const fs::path other = dir_.path() / "other.json";
  ConformReport changed = ParseJsonReport(ReadText(reports[1]), "x");
  changed.shard = "2/4";
  WriteFileAtomic(other, JsonReport(changed));
  EXPECT_EQ(ErrorOf([&] {
              (void)MergeConformReports({reports[0], other});
            }),
            other.string() + ": shard 2/4, but " + reports[0].string() + " is shard 3/3");
  changed.shard = "2/3";
  changed.sandbox = "kvm";
  WriteFileAtomic(other, JsonReport(changed));
  EXPECT_EQ(ErrorOf([&] {
              (void)MergeConformReports({reports[2], other, reports[0]});
            }),
            other.string() + ": sandbox \"kvm\", but " + reports[2].string() +
                " has \"process\" (not shards of one run)");
}

}  // namespace
}  // namespace instar::harness
