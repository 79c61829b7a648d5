#include "harness/conform/conformer.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>

#include "harness/cases/commands.h"
#include "harness/conform/instar_argv.h"
#include "harness/core/error.h"
#include "harness/core/files.h"
#include "harness/core/words.h"
#include "harness/matrix/matrix.h"
#include "harness/run/case_runner.h"

namespace instar::harness {

namespace fs = std::filesystem;

namespace {

// Enough of instar's stderr to say why it failed, not a runaway's megabytes.
constexpr size_t kMaxKeptStderr = 4096;

// What a failing case leaves in the output directory, iotests style.
constexpr const char* kKeptSuffixes[] = {".out", ".out.bad", ".err.bad", ".diff"};

struct Job {
  const ConformTarget* target;
  const StoredCase* stored;
};

// The qemu-img of each compat version whose cases have a step instar cannot
// run, by version text; empty when no case has one.
std::map<std::string, Program> FixturePrograms(const ConformRequest& request,
                                               const ConformPlan& plan, Interrupt& interrupt) {
  std::set<std::string> wanted;
  for (const auto& target : plan.targets) {
    for (const auto& stored : target.cases) {
      const auto& steps = stored.spec.steps;
      for (size_t i = 0; i < steps.size(); ++i) {
        if (!IsFixtureStep(steps[i])) continue;
        if (i + 1 == steps.size()) {
          throw HarnessError("conform: " + stored.spec.Id() + ": its last step, \"" +
                             steps[i].name + "\", is qemu-img " + steps[i].argv[1] +
                             ", which instar does not implement");
        }
        wanted.insert(target.compat);
      }
    }
  }
  std::map<std::string, Program> programs;
  if (wanted.empty()) return programs;
  ChildRunner runner(&interrupt);
  MatrixOptions options;
  options.binaries = request.binaries;
  const Matrix matrix = DiscoverMatrix(options, runner);
  if (matrix.entries.empty()) {
    throw HarnessError(
        "conform: some cases prepare their input with qemu-img, and there is none (" +
        matrix.source + ")");
  }
  // What a fixture step makes is input, not output: a flatten is the
  // guest's bytes as a raw file, the same whichever qemu-img writes it. So
  // without that version (a clone without the matrix has the system's
  // qemu-img only) the newest present does it.
  for (const std::string& version : wanted) {
    const auto entry =
        std::find_if(matrix.entries.begin(), matrix.entries.end(),
                     [&](const MatrixEntry& e) { return e.version_text == version; });
    programs[version] = Program{
        entry != matrix.entries.end() ? entry->qemu_img : matrix.entries.back().qemu_img, {}};
  }
  return programs;
}

std::string ReproduceCommand(const ConformRequest& request, const ConformTarget& target,
                             const CaseSpec& spec) {
  if (request.reproduce_prefix.empty()) return "";
  std::vector<std::string> words = request.reproduce_prefix;
  words.insert(words.end(),
               {"--output-type", target.output_type, target.is_profile ? "--profile" : "--version",
                target.name, "--case", spec.Id()});
  return ShellCommand(words);
}

void KeepFailure(const fs::path& stem, const std::string& expected, const std::string& actual,
                 const std::string& err, const std::string& diff) {
  fs::create_directories(stem.parent_path());
  WriteFileAtomic(stem.string() + ".out", expected);
  WriteFileAtomic(stem.string() + ".out.bad", actual);
  WriteFileAtomic(stem.string() + ".err.bad", err);
  WriteFileAtomic(stem.string() + ".diff", diff);
}

// Removes what a failure kept, and the directories that leaves empty, up
// to (not including) `output_dir`.
void ForgetFailure(const fs::path& output_dir, const fs::path& stem) {
  std::error_code ec;
  bool removed = false;
  for (const char* suffix : kKeptSuffixes) removed |= fs::remove(stem.string() + suffix, ec);
  if (!removed) return;
  for (fs::path dir = stem.parent_path(); dir != output_dir && dir.has_relative_path();
       dir = dir.parent_path()) {
    if (!fs::is_empty(dir, ec) || ec || !fs::remove(dir, ec)) break;
  }
}

// A case that instar could not run for want of a writer: a create step
// failed in instar with qemu's "Format driver 'F' does not support image
// creation", the answer of a driver with no create hook
// (guest/ops/create_operation.cc), a dd or convert step with instar's
// "instar cannot write guest data to a F image yet", the answer of a
// driver with no open_writer hook (guest/ops/dd_operation.cc,
// convert_operation.cc). The case is skipped
// with that reason, "no writer for F yet", until the format's writer
// lands; then the answer, and the skip, go away by themselves
// (docs/divergences.md). Also where qemu-img failed too (5.2's qcow2
// without zstd): that both failed says nothing while instar has no writer.
std::optional<std::string> MissingWriter(const std::vector<StepRun>& runs) {
  struct Refusal {
    std::string_view step;    // the step that writes
    std::string_view prefix;  // the words before the format's name
    std::string_view suffix;  // and after it
  };
  static constexpr Refusal kRefusals[] = {
      {"create", "Format driver '", "' does not support image creation"},
      {"dd", "instar cannot write guest data to a ", " image yet"},
      {"convert", "instar cannot write guest data to a ", " image yet"},
  };
  for (size_t i = 0; i < runs.size(); ++i) {
    // Only a step that writes an image: measure -O bochs is refused with
    // the same words by qemu-img itself, and is judged.
    if (runs[i].result.exit_code == 0) continue;
    for (const Refusal& refusal : kRefusals) {
      if (runs[i].step->name != refusal.step) continue;
      const std::string& err = runs[i].result.err;
      const size_t end = err.find(refusal.suffix);
      if (end == std::string::npos) continue;
      const size_t start = err.rfind(refusal.prefix, end);
      if (start == std::string::npos) continue;
      const std::string format =
          err.substr(start + refusal.prefix.size(), end - start - refusal.prefix.size());
      return "no writer for " + format +
             " yet (instar: " + err.substr(start, end + refusal.suffix.size() - start) + ")";
    }
  }
  return std::nullopt;
}

}  // namespace

ConformPlan PlanConform(const ConformRequest& request) {
  const CommandSpec* command = FindCommand(request.command);
  if (command == nullptr || !command->implemented()) {
    throw HarnessError("conform: cannot run \"" + request.command + "\" (instar implements " +
                       JoinWords(ImplementedCommandNames()) + ")");
  }
  std::vector<std::string> types;
  try {
    types = SelectOutputTypes(*command, request.output_types);
  } catch (const HarnessError& error) {
    throw HarnessError(std::string("conform: ") + error.what());
  }

  ConformPlan plan;
  plan.divergences = ParseDivergencesFile(request.divergences);
  size_t matched = 0;
  for (const auto& type : types) {
    for (auto& target : SelectTargets(type, request.selection)) {
      std::erase_if(target.cases, [&](const StoredCase& stored) {
        return !stored.spec.MatchesAnyGlob(request.case_globs);
      });
      matched += target.cases.size();
      plan.targets.push_back(std::move(target));
    }
  }
  if (!request.case_globs.empty() && matched == 0) {
    throw HarnessError("conform: no case of " + request.command + " matches the --case patterns");
  }
  if (request.shard) {
    std::vector<std::string> keys;
    for (const auto& target : plan.targets) {
      for (const auto& stored : target.cases) keys.push_back(ShardKey(stored.spec));
    }
    const std::set<std::string> own = DealKeys(std::move(keys), *request.shard);
    for (auto& target : plan.targets) {
      std::erase_if(target.cases,
                    [&](const StoredCase& stored) { return !own.contains(ShardKey(stored.spec)); });
    }
  }
  return plan;
}

ConformReport Conform(const ConformRequest& request, Interrupt& interrupt) {
  const auto wall_start = std::chrono::steady_clock::now();
  const ConformPlan plan = PlanConform(request);
  if (!fs::exists(request.instar)) {
    throw HarnessError("conform: no instar at " + request.instar.string());
  }

  std::vector<Job> jobs;
  std::vector<const CaseSpec*> job_cases;
  for (const auto& target : plan.targets) {
    for (const auto& stored : target.cases) {
      jobs.push_back({&target, &stored});
      job_cases.push_back(&stored.spec);
    }
  }
  const std::map<std::string, Program> fixtures = FixturePrograms(request, plan, interrupt);
  CasePool pool(std::move(job_cases), {request.cases_dir / "images", request.jobs, request.timeout},
                interrupt);

  std::vector<CaseResult> results(jobs.size());
  std::vector<char> finished(jobs.size(), 0);
  Progress progress("conform " + request.command, jobs.size(), request.progress);
  std::mutex output_mutex;  // serialises changes to the output directory

  auto judge = [&](size_t i, CaseRunner& runner) {
    const ConformTarget& target = *jobs[i].target;
    const StoredCase& stored = *jobs[i].stored;
    const CaseSpec& spec = stored.spec;
    CaseResult& result = results[i];
    result.output_type = target.output_type;
    result.target = target.name;
    result.bucket = spec.bucket;
    result.name = spec.name;
    result.expected_exit = stored.expected_exit();
    try {
      const Program instar = InstarProgram(request.instar, target.compat, request.sandbox);
      result.instar_command = ShownCommand(spec, instar);
      result.reproduce = ReproduceCommand(request, target, spec);
      const CaseScope scope{target.output_type, spec.bucket, spec.name, target.versions};
      if (const Divergence* skip = FindSkip(plan.divergences, scope)) {
        result.outcome = Outcome::kSkip;
        result.reason = skip->reason + " (divergence " + skip->name + ")";
        finished[i] = 1;
        progress.Advance();
        return;
      }

      const auto fixture = fixtures.find(target.compat);
      const std::vector<StepRun> runs = runner.Run(
          spec, instar, fixture != fixtures.end() ? &fixture->second : nullptr, IsFixtureStep);
      if (interrupt.stopping()) return;
      if (const std::optional<std::string> missing = MissingWriter(runs)) {
        result.outcome = Outcome::kSkip;
        result.reason = *missing;
        finished[i] = 1;
        progress.Advance();
        return;
      }
      const ChildResult& last = runs.back().result;
      // A baseline whose pipeline stopped early (a step before the last
      // failed) keeps only the steps that ran; it is judged as it was
      // kept: no stdout, and the steps' stderr under their markers.
      const CommandSpec* command = FindCommand(request.command);
      const bool stopped_early = command != nullptr && !command->steps.empty() &&
                                 spec.steps.back().name != command->steps.back();
      const size_t planned = stopped_early ? command->steps.size() : spec.steps.size();

      std::vector<std::string> applied;
      const std::string expected =
          Normalise(stored.ReadStdout(), plan.divergences, scope, &applied);
      const std::string actual =
          Normalise(CaseStdout(spec, runs, planned), plan.divergences, scope, &applied);
      std::string err = last.err;
      if (err.size() > kMaxKeptStderr) err = err.substr(0, kMaxKeptStderr) + "...\n";
      std::sort(applied.begin(), applied.end());
      applied.erase(std::unique(applied.begin(), applied.end()), applied.end());

      // stderr is compared unless a stderr divergence says why it differs.
      const Divergence* stderr_divergence = FindStderrDivergence(plan.divergences, scope);
      const std::string expected_stderr = stderr_divergence ? "" : stored.ReadStderr();
      const std::string case_stderr = CaseStderr(spec, runs, planned);
      const Verdict verdict = Judge(stored.expected_exit(), expected,
                                    {last.exit_code, last.timed_out, actual, err, case_stderr},
                                    stderr_divergence ? nullptr : &expected_stderr);
      if (stderr_divergence != nullptr) applied.push_back(stderr_divergence->name);
      result.outcome = verdict.outcome;
      result.reason = verdict.reason;
      result.diff = verdict.diff;
      result.instar_exit = last.exit_code;
      result.filters = std::move(applied);
      const fs::path kept =
          request.output_dir / target.output_type / target.name / spec.bucket / spec.name;
      if (verdict.outcome == Outcome::kFail) {
        result.instar_stderr = err;
        if (!request.output_dir.empty()) {
          std::lock_guard<std::mutex> lock(output_mutex);
          KeepFailure(kept, expected, actual, err, verdict.diff);
          result.kept = kept.string();
        }
      } else if (!request.output_dir.empty()) {
        // Not while another worker creates a directory this may remove.
        std::lock_guard<std::mutex> lock(output_mutex);
        ForgetFailure(request.output_dir, kept);
      }
      finished[i] = 1;
      progress.Advance();
    } catch (const std::exception& error) {
      throw HarnessError(stored.stem.string() + ": " + error.what());
    }
  };
  try {
    pool.Run(judge);
  } catch (const HarnessError&) {
    progress.Finish();  // the error line starts clean
    throw;
  }
  progress.Finish();

  ConformReport report;
  report.command = request.command;
  report.sandbox = request.sandbox;
  report.instar = request.instar.string();
  if (request.shard) report.shard = request.shard->Text();
  for (const auto& target : plan.targets) {
    report.targets.push_back(
        {target.output_type, target.name, target.versions, target.compat, target.is_profile});
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!finished[i]) continue;
    for (auto& target : report.targets) {
      if (target.output_type != results[i].output_type || target.name != results[i].target) {
        continue;
      }
      switch (results[i].outcome) {
        case Outcome::kPass:
          ++target.pass;
          break;
        case Outcome::kFail:
          ++target.fail;
          break;
        case Outcome::kSkip:
          ++target.skip;
          break;
      }
    }
    report.cases.push_back(std::move(results[i]));
  }
  report.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  if (!pool.note().empty()) report.notes.push_back(pool.note());
  return report;
}

}  // namespace instar::harness
