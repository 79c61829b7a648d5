// The case runner with /bin/sh standing in for qemu-img: what is tested is
// how steps are run, stopped, rewritten and filtered, not what any qemu-img
// prints (generate's and conform's tests run the real ones).
#include "harness/run/case_runner.h"

#include <signal.h>

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>

#include "harness/core/error.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

namespace fs = std::filesystem;
using testing::ErrorOf;
using testing::TempDir;

const Program kShell{"/bin/sh", {}};

// The stored corpus (for the cases that read it) and a time-out no step
// here comes near.
PoolOptions Options(unsigned jobs) {
  return {testing::kSourceRoot / "cases/images", jobs, std::chrono::seconds(30)};
}

// A step that runs `script` with sh, $1 being the scratch file.
StepSpec ShellStep(const std::string& name, const std::string& script) {
  return {name, {"qemu-img", "-c", script, "sh", "$FILENAME"}};
}

CaseSpec ShellCase(std::vector<StepSpec> steps, std::vector<std::string> filters = {}) {
  return {"create", "create-info-json", "raw", "case", {}, std::move(steps), std::move(filters)};
}

TEST(ResolvePlaceholdersTest, AnywhereInAWord) {
  const PlaceholderValues values{"/dev/shm/instar-harness.ab12/w1/filename",
                                 "/dev/shm/instar-harness.ab12/corpus"};
  EXPECT_EQ(ResolvePlaceholders("file=$FILENAME,backing=$TESTDATA_ROOT/a.qcow2", values),
            "file=/dev/shm/instar-harness.ab12/w1/filename,backing=/dev/shm/instar-harness.ab12/"
            "corpus/a.qcow2");
  EXPECT_EQ(ResolvePlaceholders("$FILENAMEX", values), "/dev/shm/instar-harness.ab12/w1/filenameX");
  EXPECT_EQ(ResolvePlaceholders("$OTHER", values), "$OTHER");
  EXPECT_EQ(ResolvePlaceholders("", values), "");
}

TEST(StepArgumentsTest, ProgramOptionsFirstThenTheStepsWords) {
  const PlaceholderValues values{"/s/w0/filename", "/s/corpus"};
  EXPECT_EQ(StepArguments({"/bin/instar", {"--compat", "7.2.18"}},
                          {"info", {"qemu-img", "info", "$TESTDATA_ROOT/a.qcow2"}}, values),
            (std::vector<std::string>{"--compat", "7.2.18", "info", "/s/corpus/a.qcow2"}));
  EXPECT_THROW(StepArguments(kShell, {"info", {}}, values), HarnessError);
  EXPECT_THROW(StepArguments(kShell, {"info", {"qemu-io", "-c", "read 0 1"}}, values),
               HarnessError);
}

TEST(CaseOutputTest, StdoutIsTheLastStepsWhenEveryStepRan) {
  CaseSpec pipeline = ShellCase({ShellStep("create", ""), ShellStep("info", "")});
  std::vector<StepRun> runs = {{&pipeline.steps[0], {0, false, "made\n", "create-err"}},
                               {&pipeline.steps[1], {0, false, "info-out\n", ""}}};
  EXPECT_EQ(CaseStdout(pipeline, runs), "info-out\n");
  EXPECT_EQ(CaseStderr(pipeline, runs), "---CREATE STDERR---\ncreate-err\n---INFO STDERR---\n");
  // Stopped at the first step: the step that prints did not run.
  runs = {{&pipeline.steps[0], {1, false, "partial\n", "create failed\n"}}};
  EXPECT_EQ(CaseStdout(pipeline, runs), "");
  EXPECT_EQ(CaseStderr(pipeline, runs), "---CREATE STDERR---\ncreate failed\n");

  CaseSpec single = ShellCase({ShellStep("measure", "")});
  runs = {{&single.steps[0], {1, false, "out", "no newline"}}};
  EXPECT_EQ(CaseStdout(single, runs), "out");
  EXPECT_EQ(CaseStderr(single, runs), "no newline");
}

class CaseRunnerTest : public ::testing::Test {
 protected:
  CaseRunnerTest() : runner_(work_.path(), corpus_.path(), std::chrono::seconds(30), nullptr) {}

  TempDir work_;
  TempDir corpus_;
  CaseRunner runner_;
};

TEST_F(CaseRunnerTest, RunsTheStepsRewritesAndFiltersByName) {
  const CaseSpec spec = ShellCase(
      {ShellStep("create", "echo made > \"$1\"; echo \"Formatting '$1'\"; echo '    cid: 42' >&2"),
       ShellStep("info", "cat \"$1\"; echo '    cid: 42'")},
      {"random-cid"});
  const std::vector<StepRun> runs = runner_.Run(spec, kShell);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].step, &spec.steps[0]);
  EXPECT_EQ(runs[0].result.out, "Formatting '$FILENAME'\n");
  EXPECT_EQ(runs[0].result.err, "    cid: $CID\n");
  EXPECT_EQ(runs[1].result.out, "made\n    cid: $CID\n");
  EXPECT_EQ(runner_.placeholders().filename, (work_.path() / "filename").string());
  // What the case left in its scratch directory is gone.
  EXPECT_TRUE(fs::is_empty(work_.path()));
}

TEST_F(CaseRunnerTest, WithoutTheFilterTheValueStays) {
  const CaseSpec spec = ShellCase({ShellStep("info", "echo '    cid: 42'")});
  EXPECT_EQ(runner_.Run(spec, kShell)[0].result.out, "    cid: 42\n");
}

TEST_F(CaseRunnerTest, StopsAtTheFirstStepThatFails) {
  const CaseSpec spec =
      ShellCase({ShellStep("create", "echo no >&2; exit 3"), ShellStep("info", "echo never")});
  const std::vector<StepRun> runs = runner_.Run(spec, kShell);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].result.exit_code, 3);
  EXPECT_EQ(runs[0].result.err, "no\n");
}

TEST(CaseRunnerTimeOutTest, ATimedOutStepKeepsNothingOfItsOutput) {
  // Whatever it printed before the kill (how much is a race) is dropped,
  // and the pipeline stops there.
  TempDir work;
  TempDir corpus;
  CaseRunner runner(work.path(), corpus.path(), std::chrono::milliseconds(300), nullptr);
  const CaseSpec spec = ShellCase({ShellStep("map", "echo partial; echo err >&2; exec sleep 30"),
                                   ShellStep("info", "echo never")});
  const std::vector<StepRun> runs = runner.Run(spec, kShell);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_TRUE(runs[0].result.timed_out);
  EXPECT_EQ(runs[0].result.exit_code, 128 + SIGKILL);
  EXPECT_EQ(runs[0].result.out, "");
  EXPECT_EQ(runs[0].result.err, "instar-harness: timed out after 300 ms (killed)\n");

  CaseRunner whole_seconds(work.path(), corpus.path(), std::chrono::seconds(1), nullptr);
  const CaseSpec single = ShellCase({ShellStep("check", "echo partial; exec sleep 30")});
  EXPECT_EQ(whole_seconds.Run(single, kShell)[0].result.err,
            "instar-harness: timed out after 1 s (killed)\n");
}

TEST_F(CaseRunnerTest, TheProgramsOptionsGoBeforeTheResolvedWords) {
  // sh -c 'echo "$@"' sh info <corpus>/a.qcow2: echoes the words it got.
  const Program echo{"/bin/sh", {"-c", "echo \"$@\"", "sh"}};
  const CaseSpec spec = ShellCase({{"info", {"qemu-img", "info", "$TESTDATA_ROOT/a.qcow2"}}});
  EXPECT_EQ(runner_.Run(spec, echo)[0].result.out, "info $TESTDATA_ROOT/a.qcow2\n");
}

TEST_F(CaseRunnerTest, AnUnknownFilterNameIsAnError) {
  const CaseSpec spec = ShellCase({ShellStep("info", "true")}, {"no-such-filter"});
  EXPECT_EQ(ErrorOf([&] { runner_.Run(spec, kShell); }),
            "unknown output filter \"no-such-filter\" (known: random-cid)");
}

TEST(CasePoolTest, EveryJobRunsOnceEachWorkerWithItsOwnScratchFile) {
  const CaseSpec spec = ShellCase({ShellStep("create", "echo x > \"$1\"; echo \"$1\"")});
  std::vector<const CaseSpec*> cases(8, &spec);
  Interrupt interrupt;
  CasePool pool(cases, Options(2), interrupt);
  EXPECT_EQ(pool.jobs(), 2u);
  std::mutex mutex;
  std::vector<int> ran(cases.size(), 0);
  std::set<std::string> filenames;
  pool.Run([&](size_t job, CaseRunner& runner) {
    const std::vector<StepRun> runs = runner.Run(*cases[job], kShell);
    std::lock_guard<std::mutex> lock(mutex);
    ++ran[job];
    EXPECT_EQ(runs[0].result.out, "$FILENAME\n");
    filenames.insert(runner.placeholders().filename);
  });
  EXPECT_EQ(ran, std::vector<int>(cases.size(), 1));
  EXPECT_LE(filenames.size(), 2u);
  for (const auto& filename : filenames) {
    EXPECT_TRUE(filename.ends_with("/filename")) << filename;
  }
}

TEST(CasePoolTest, TheFirstErrorStopsTheRunAndIsThrown) {
  const CaseSpec spec = ShellCase({ShellStep("info", "true")});
  std::vector<const CaseSpec*> cases(50, &spec);
  Interrupt interrupt;
  CasePool pool(cases, Options(2), interrupt);
  std::atomic<size_t> calls{0};
  EXPECT_EQ(ErrorOf([&] {
              pool.Run([&](size_t, CaseRunner&) {
                ++calls;
                throw HarnessError("broken");
              });
            }),
            "broken");
  EXPECT_LE(calls.load(), 2u);  // one per worker at most
}

TEST(CasePoolTest, AnInterruptedRunTakesNoJob) {
  const CaseSpec spec = ShellCase({ShellStep("info", "true")});
  Interrupt interrupt;
  CasePool pool({&spec, &spec}, Options(2), interrupt);
  interrupt.Stop(SIGINT);
  bool called = false;
  pool.Run([&](size_t, CaseRunner&) { called = true; });
  EXPECT_FALSE(called);
}

// A case that reads $TESTDATA_ROOT gets the corpus, materialised once.
TEST(CasePoolTest, TheCorpusIsThereWhenACaseReadsIt) {
  CaseSpec spec = ShellCase(
      {{"info", {"qemu-img", "-c", "test -r \"$1\"", "sh", "$TESTDATA_ROOT/qcow2-v2.qcow2"}}});
  Interrupt interrupt;
  CasePool pool({&spec}, Options(1), interrupt);
  pool.Run([&](size_t, CaseRunner& runner) {
    EXPECT_EQ(runner.Run(spec, kShell)[0].result.exit_code, 0);
    EXPECT_TRUE(fs::exists(fs::path(runner.placeholders().testdata_root) / "qcow2-v2.qcow2"));
  });
}

}  // namespace
}  // namespace instar::harness
