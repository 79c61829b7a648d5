// The case runner: how generate and conform run a case, in one place, so
// that both sides of a comparison were made the same way.
//
//   generate  plan (cases/case_file.h) -> pool -> the steps with qemu-img
//             -> store (store/baseline_store.h)
//   conform   store -> pool -> the same steps with `instar --compat V`
//             -> judge (conform/outcome.h)
//
// A CasePool is the scratch space of one run and its workers: one temporary
// directory (scratch.h), the image corpus materialised in it once when any
// case reads it ($TESTDATA_ROOT, corpus.h), and --jobs threads that take
// the jobs in order. Each worker has a CaseRunner: a scratch file of its own
// ($FILENAME, cleared after each case that uses it) and a child runner.
//
// CaseRunner::Run runs a case's steps in order with a Program, what the
// steps' argv[0] "qemu-img" stands for, with the placeholders resolved, in
// the environment every harness child gets (child.h). It stops at the first
// step that exits non-zero or times out, or at an interrupt. Each step's
// stdout and stderr get the path rewrites and then the case's named filters
// (normalise.h) before anyone sees them, so generate records and conform
// compares outputs that went through the same filters. A step that timed
// out keeps nothing of what it printed: its result is exit 137 (killed),
// empty stdout and the one stderr line "instar-harness: timed out after
// N s (killed)", the same on every run.
#ifndef INSTAR_HARNESS_RUN_CASE_RUNNER_H_
#define INSTAR_HARNESS_RUN_CASE_RUNNER_H_

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/cases/case_model.h"
#include "harness/run/child.h"
#include "harness/run/interrupt.h"
#include "harness/run/normalise.h"
#include "harness/run/scratch.h"

namespace instar::harness {

// What a step's argv[0] ("qemu-img") becomes.
struct Program {
  std::filesystem::path executable;  // a qemu-img of the matrix, or instar
  // Put before the step's own arguments: instar's global options
  // ("--sandbox=process", "--compat", "7.2.18"); none for qemu-img.
  std::vector<std::string> options;
};

struct PlaceholderValues {
  std::string filename;       // $FILENAME
  std::string testdata_root;  // $TESTDATA_ROOT
};

// Replaces every placeholder in `word` by its value.
std::string ResolvePlaceholders(std::string_view word, const PlaceholderValues& values);

// The arguments after the executable: the program's options, then the
// step's argv[1..] with the placeholders resolved. Throws HarnessError when
// the step's argv does not start with "qemu-img".
std::vector<std::string> StepArguments(const Program& program, const StepSpec& step,
                                       const PlaceholderValues& values);

// One step that ran, its output already rewritten and filtered.
struct StepRun {
  const StepSpec* step;
  ChildResult result;
  // On the last step of a case with a content_file whose every step ran
  // and succeeded: ContentDigest of that file. Empty otherwise.
  std::string content_digest = {};
};

// What a case printed, as the baseline store keeps it. stdout is the last
// step's when every step of the case ran, and empty when the pipeline
// stopped early (the step that prints did not run). stderr of a single step
// is kept as it is; a pipeline's joins the steps that ran, each under a
// marker line "---<STEP> STDERR---" (the step name in capitals), a newline
// added after a step's stderr that does not end in one.
// `planned_steps` is how many steps the case has (0: spec's); a stored
// case that stopped early has fewer in its spec than its command planned
// (conform passes the planned count so that it is judged as it was kept).
std::string CaseStdout(const CaseSpec& spec, const std::vector<StepRun>& runs,
                       size_t planned_steps = 0);
std::string CaseStderr(const CaseSpec& spec, const std::vector<StepRun>& runs,
                       size_t planned_steps = 0);

class CaseRunner {
 public:
  // `work_dir` must exist and is this runner's alone; `corpus` is the
  // materialised corpus (it need not exist when no case reads it).
  CaseRunner(std::filesystem::path work_dir, const std::filesystem::path& corpus,
             std::chrono::milliseconds timeout, Interrupt* interrupt);

  // Runs the case's steps with `program`; returns the steps that ran.
  // With `fixture`, a step `fixture_step` says `program` cannot run (conform:
  // a qemu-img command instar does not implement, such as compare's
  // "flatten", a `qemu-img convert`) runs with `fixture` instead: it only
  // prepares the input of the steps after it. Throws HarnessError when a
  // program cannot be started.
  std::vector<StepRun> Run(const CaseSpec& spec, const Program& program,
                           const Program* fixture = nullptr,
                           const std::function<bool(const StepSpec&)>& fixture_step = {});

  const PlaceholderValues& placeholders() const { return placeholders_; }

 private:
  std::filesystem::path work_dir_;
  PlaceholderValues placeholders_;
  std::vector<PathRewrite> rewrites_;
  std::vector<std::string> environment_;
  std::chrono::milliseconds timeout_;
  Interrupt* interrupt_;
  ChildRunner children_;
};

struct PoolOptions {
  std::filesystem::path images_dir = "cases/images";  // the stored corpus and its manifest
  unsigned jobs = 0;                                  // workers; 0: one per core
  std::chrono::milliseconds timeout = std::chrono::seconds(60);  // per step
};

class CasePool {
 public:
  // `cases` holds the case of each job, in job order. Makes the scratch
  // directory and, when a case reads the corpus, materialises it (which an
  // interrupt may cut short: HarnessError).
  CasePool(std::vector<const CaseSpec*> cases, const PoolOptions& options, Interrupt& interrupt);
  CasePool(const CasePool&) = delete;
  CasePool& operator=(const CasePool&) = delete;

  // The workers asked for (--jobs, or one per core).
  unsigned jobs() const { return jobs_; }
  // Set when the scratch directory is not on tmpfs: worth a line in a summary.
  const std::string& note() const { return note_; }

  // Calls work(job, runner) once for each job, on min(jobs(), job count)
  // threads, the calling one among them. A worker stops taking jobs on an
  // interrupt; an exception out of `work` stops every worker, and the first
  // one is thrown again (as HarnessError) once all have stopped.
  void Run(const std::function<void(size_t job, CaseRunner& runner)>& work);

 private:
  std::vector<const CaseSpec*> cases_;
  PoolOptions options_;
  unsigned jobs_;
  Interrupt& interrupt_;
  std::string note_;
  ScratchDir scratch_;
  std::filesystem::path corpus_;
};

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_RUN_CASE_RUNNER_H_
