// .github/workflows/nightly.yml runs what ci/nightly runs: the shard jobs,
// the final job and the difffuzz job call ci/nightly's own phases, and their wiring (the
// shard list, each job's K/N, the artifacts uploaded, downloaded and
// merged) gives exactly the phases `ci/nightly plan --shards N` prints for
// the whole job. The workflow is read line by line in the shapes it is
// written in; a change of shape fails here first, on purpose.

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <sstream>

#include "harness/run/child.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

namespace fs = std::filesystem;
using testing::kSourceRoot;
using testing::ReadText;

using Block = std::vector<std::string>;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The blocks of `lines` that start at a line matching `start`, each up to
// the next such line (or a line indented less than `start`'s match).
std::vector<Block> Blocks(const Block& lines, const std::regex& start) {
  std::vector<Block> blocks;
  size_t indent = 0;
  for (const auto& line : lines) {
    const size_t own = line.find_first_not_of(' ');
    if (std::regex_search(line, start)) {
      indent = own;
      blocks.push_back({line});
    } else if (!blocks.empty() && own != std::string::npos && own < indent) {
      break;
    } else if (!blocks.empty()) {
      blocks.back().push_back(line);
    }
  }
  return blocks;
}

// The job `name` of the workflow.
Block Job(const Block& workflow, const std::string& name) {
  const auto jobs = std::find(workflow.begin(), workflow.end(), "jobs:");
  EXPECT_NE(jobs, workflow.end());
  for (const auto& block : Blocks(Block(jobs, workflow.end()), std::regex("^  [a-z-]+:$"))) {
    if (block.front() == "  " + name + ":") return block;
  }
  ADD_FAILURE() << "no job " << name;
  return {};
}

// The steps of a job.
std::vector<Block> Steps(const Block& job) { return Blocks(job, std::regex("^      - ")); }

// The value of `key:` in a block, at any indentation; empty when absent.
std::string Value(const Block& block, const std::string& key) {
  const std::regex pattern("^ *(- )?" + key + ": *(.*)$");
  std::smatch match;
  for (const auto& line : block) {
    if (std::regex_match(line, match, pattern)) return match[2];
  }
  return "";
}

// The `with:` of a step.
Block With(const Block& step) {
  const std::vector<Block> with = Blocks(step, std::regex("^ +with:$"));
  EXPECT_EQ(with.size(), 1u) << step.front();
  return with.empty() ? Block() : with[0];
}

// The step of `job` whose `key` is `value` (e.g. uses: actions/...).
Block StepWith(const Block& job, const std::string& key, const std::string& value_prefix) {
  for (const auto& step : Steps(job)) {
    if (Value(step, key).starts_with(value_prefix)) return step;
  }
  ADD_FAILURE() << "no step with " << key << ": " << value_prefix;
  return {};
}

TEST(NightlyWorkflowTest, RunsTheNightlyPhases) {
  const Block workflow = Lines(ReadText(kSourceRoot / ".github/workflows/nightly.yml"));
  ASSERT_FALSE(workflow.empty());

  // The shard jobs: a matrix of 1..N, each running `ci/nightly shard K/N DIR`
  // and uploading DIR as an artifact named after K.
  const Block shard_job = Job(workflow, "shard");
  const std::vector<Block> matrix = Blocks(shard_job, std::regex("^ +matrix:$"));
  ASSERT_EQ(matrix.size(), 1u);
  const std::string list = Value(matrix[0], "shard");
  std::smatch match;
  ASSERT_TRUE(std::regex_match(list, match, std::regex("\\[([0-9, ]+)\\]"))) << list;
  std::vector<unsigned> shards;
  {
    std::string numbers = match[1];
    std::replace(numbers.begin(), numbers.end(), ',', ' ');
    std::istringstream in(numbers);
    for (unsigned k; in >> k;) shards.push_back(k);
  }
  ASSERT_FALSE(shards.empty());
  for (size_t i = 0; i < shards.size(); ++i) EXPECT_EQ(shards[i], i + 1) << "the shard list";
  const std::string n = std::to_string(shards.size());

  const Block generate = StepWith(shard_job, "run", "ci/nightly shard ");
  const std::string run = Value(generate, "run");
  ASSERT_TRUE(std::regex_match(run, match,
                               std::regex("ci/nightly shard \\$\\{\\{ matrix\\.shard \\}\\}/"
                                          "([0-9]+) ([A-Za-z0-9_./-]+)")))
      << run;
  EXPECT_EQ(match[1], n) << "the /N of the shard command is not the number of shards";
  const std::string shard_out = match[2];
  const Block upload = With(StepWith(shard_job, "uses", "actions/upload-artifact@"));
  EXPECT_EQ(Value(upload, "path"), shard_out) << "the shard uploads another directory";
  const std::string artifact = Value(upload, "name");
  const std::string suffix = "${{ matrix.shard }}";
  ASSERT_TRUE(artifact.ends_with(suffix)) << artifact;
  const std::string artifact_prefix = artifact.substr(0, artifact.size() - suffix.size());

  // The final job: after every shard, downloads those artifacts and runs
  // `ci/nightly final` on the directories they land in.
  const Block final_job = Job(workflow, "final");
  EXPECT_EQ(Value(final_job, "needs"), "shard");
  const Block download = With(StepWith(final_job, "uses", "actions/download-artifact@"));
  EXPECT_EQ(Value(download, "pattern"), artifact_prefix + "*");
  EXPECT_EQ(Value(download, "merge-multiple"), "") << "each artifact needs its own directory";
  const std::string downloaded = Value(download, "path");
  ASSERT_FALSE(downloaded.empty());
  const std::string final_run = Value(StepWith(final_job, "run", "ci/nightly final "), "run");
  ASSERT_TRUE(std::regex_match(final_run, match,
                               std::regex("ci/nightly final ([^ |]+)( \\| tee [a-z.]+)?")))
      << final_run;
  EXPECT_EQ(match[1], downloaded + "/" + artifact_prefix + "*");

  // What the workflow runs, each shard's directory named as the plan names
  // it: shard K's upload is downloaded to <downloaded>/<artifact K>.
  std::vector<std::string> phases, finals;
  for (unsigned k : shards) {
    const std::string dir = "$SHARD_DIR_" + std::to_string(k);
    phases.push_back("ci/nightly shard " + std::to_string(k) + "/" + n + " " + dir);
    finals.push_back(dir);
  }
  // (The shell's glob sorts 1, 10, 11, 2, ...; merge takes them in any order.)
  std::sort(finals.begin(), finals.end(), [](const std::string& a, const std::string& b) {
    return std::stoul(a.substr(11)) < std::stoul(b.substr(11));
  });
  std::string final_phase = "ci/nightly final";
  for (const auto& dir : finals) final_phase += " " + dir;
  phases.push_back(final_phase);

  // The differential fuzz: a job of its own, with the matrix.
  const Block difffuzz_job = Job(workflow, "difffuzz");
  const std::string difffuzz_run =
      Value(StepWith(difffuzz_job, "run", "ci/nightly difffuzz"), "run");
  ASSERT_TRUE(
      std::regex_match(difffuzz_run, match, std::regex("(ci/nightly difffuzz)( \\| tee [a-z.]+)?")))
      << difffuzz_run;
  phases.push_back(match[1]);
  StepWith(difffuzz_job, "run", "ci/fetch-qemu-matrix");

  ChildRunner runner;
  const ChildResult plan =
      runner.Run({kSourceRoot / "ci/nightly", {"plan", "--shards", n}, MinimalEnvironment()});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_EQ(Lines(plan.out), phases);
}

// The run's report: `ci/nightly final` writes it into $build/conform,
// compared with the results.json it finds there from the run before; the
// final job restores that file from the cache before it, keeps this run's
// after it, and publishes the report.
TEST(NightlyWorkflowTest, PublishesTheRunsReportAndKeepsItsResults) {
  const std::string script = ReadText(kSourceRoot / "ci/nightly");
  EXPECT_NE(script.find("local conform=\"$build/conform\""), std::string::npos);
  EXPECT_NE(script.find("mv \"$conform/results.json\" \"$conform/previous-results.json\""),
            std::string::npos);
  EXPECT_NE(script.find("\"$harness\" report --out \"$conform\" \"${previous[@]}\""),
            std::string::npos);

  const Block final_job =
      Job(Lines(ReadText(kSourceRoot / ".github/workflows/nightly.yml")), "final");
  const std::vector<Block> steps = Steps(final_job);
  auto index_of = [&](const std::string& key, const std::string& prefix) {
    for (size_t i = 0; i < steps.size(); ++i) {
      if (Value(steps[i], key).starts_with(prefix)) return i;
    }
    ADD_FAILURE() << "no step with " << key << ": " << prefix;
    return steps.size();
  };
  const size_t restore = index_of("uses", "actions/cache/restore@");
  const size_t run = index_of("run", "ci/nightly final ");
  const size_t save = index_of("uses", "actions/cache/save@");
  const size_t publish = index_of("uses", "actions/upload-artifact@");
  ASSERT_LT(restore, run);
  ASSERT_LT(run, save);
  ASSERT_LT(run, publish);
  const Block restored = With(steps[restore]);
  const Block saved = With(steps[save]);
  EXPECT_EQ(Value(restored, "path"), "build/conform/results.json");
  EXPECT_EQ(Value(saved, "path"), "build/conform/results.json");
  const std::string key = Value(saved, "key");
  const std::string run_id = "${{ github.run_id }}";
  ASSERT_TRUE(key.ends_with(run_id)) << key;
  EXPECT_EQ(Value(restored, "key"), key);
  EXPECT_EQ(Value(restored, "restore-keys"), key.substr(0, key.size() - run_id.size()));
  EXPECT_EQ(Value(steps[save], "if"), "always()");
  const Block published = With(steps[publish]);
  for (const char* file : {"index.html", "junit.xml", "results.json"}) {
    EXPECT_NE(std::find(published.begin(), published.end(),
                        std::string("            build/conform/") + file),
              published.end())
        << file;
  }
}

// The whole job here is the same phases, and `make nightly` is ci/nightly.
TEST(NightlyWorkflowTest, PlanIsTheWholeJob) {
  ChildRunner runner;
  ChildResult plan = runner.Run({kSourceRoot / "ci/nightly", {"plan"}, MinimalEnvironment()});
  EXPECT_EQ(plan.out,
            "ci/nightly shard 1/1 $SHARD_DIR_1\nci/nightly final $SHARD_DIR_1\n"
            "ci/nightly difffuzz\n");
  plan = runner.Run({kSourceRoot / "ci/nightly", {"plan", "--shards", "0"}, MinimalEnvironment()});
  EXPECT_EQ(plan.exit_code, 2);
  const std::string script = ReadText(kSourceRoot / "ci/nightly");
  // The whole job runs plan's phases: `shard K/N` for each K, then `final`,
  // then `difffuzz`.
  EXPECT_NE(script.find("phase_shard \"$k/$shards\" \"$scratch/shard-$k\""), std::string::npos);
  const size_t final_phase = script.find("  phase_final \"${dirs[@]}\" &\n");
  EXPECT_NE(final_phase, std::string::npos);
  EXPECT_NE(script.find("  phase_difffuzz || status=$?\n", final_phase), std::string::npos);
  EXPECT_NE(ReadText(kSourceRoot / "Makefile").find("nightly:\n\tci/nightly\n"), std::string::npos);
}

}  // namespace
}  // namespace instar::harness
