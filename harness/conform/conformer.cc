#include "harness/conform/conformer.h"

#include <fnmatch.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "harness/cases/case_file.h"
#include "harness/cases/case_model.h"
#include "harness/cases/manifest.h"
#include "harness/conform/instar_argv.h"
#include "harness/core/error.h"
#include "harness/core/files.h"
#include "harness/core/words.h"
#include "harness/generate/baseline_store.h"
#include "harness/run/child.h"
#include "harness/run/corpus.h"
#include "harness/run/normalise.h"
#include "harness/run/scratch.h"

namespace instar::harness {

namespace fs = std::filesystem;

namespace {

// Enough of instar's stderr to say why it failed, not a runaway's megabytes.
constexpr size_t kMaxKeptStderr = 4096;

// What a failing case leaves in the output directory, iotests style.
constexpr const char* kKeptSuffixes[] = {".out", ".out.bad", ".err.bad", ".diff"};

bool MatchesGlobs(const RecordedCase& recorded, const std::vector<std::string>& globs) {
  if (globs.empty()) return true;
  const std::string id = recorded.Id();
  for (const auto& glob : globs) {
    if (::fnmatch(glob.c_str(), recorded.name.c_str(), 0) == 0) return true;
    if (::fnmatch(glob.c_str(), id.c_str(), 0) == 0) return true;
  }
  return false;
}

void ClearDirectory(const fs::path& dir) {
  for (const auto& item : fs::directory_iterator(dir)) fs::remove_all(item.path());
}

struct Job {
  const ConformTarget* target;
  const RecordedCase* recorded;
};

// The command as it ran, paths as placeholders; steps joined as a shell
// would run them.
std::string ShownCommand(const RecordedCase& recorded, const ConformTarget& target,
                         const std::string& sandbox) {
  const PlaceholderValues placeholders{std::string(kFilenamePlaceholder),
                                       std::string(kTestdataPlaceholder)};
  std::string shown;
  for (const auto& step : recorded.steps) {
    std::vector<std::string> words = {"instar"};
    for (auto& word : InstarArguments(step.argv, target.compat, sandbox, placeholders)) {
      words.push_back(std::move(word));
    }
    if (!shown.empty()) shown += " && ";
    shown += ShellCommand(words);
  }
  return shown;
}

std::string ReproduceCommand(const ConformRequest& request, const ConformTarget& target,
                             const RecordedCase& recorded) {
  if (request.reproduce_prefix.empty()) return "";
  std::vector<std::string> words = request.reproduce_prefix;
  words.insert(words.end(),
               {"--output-type", target.output_type, target.is_profile ? "--profile" : "--version",
                target.name, "--case", recorded.Id()});
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

}  // namespace

const std::vector<std::string>& ConformCommands() {
  static const std::vector<std::string> commands = {"measure", "info"};
  return commands;
}

ConformPlan PlanConform(const ConformRequest& request) {
  const auto& commands = ConformCommands();
  if (std::find(commands.begin(), commands.end(), request.command) == commands.end()) {
    throw HarnessError("conform: cannot run \"" + request.command + "\" (instar implements " +
                       JoinWords(commands) + ")");
  }
  const CommandSpec* command = FindCommand(request.command);
  if (command == nullptr)
    throw HarnessError("conform: unknown command \"" + request.command + "\"");
  std::vector<std::string> types = request.output_types;
  std::vector<std::string> known;
  for (const auto& type : command->output_types) known.push_back(type.name);
  if (types.empty()) types = known;
  for (const auto& type : types) {
    if (std::find(known.begin(), known.end(), type) == known.end()) {
      throw HarnessError("conform: command " + request.command + " has no output type \"" + type +
                         "\" (it has " + JoinWords(known) + ")");
    }
  }

  ConformPlan plan;
  plan.divergences = ParseDivergencesFile(request.divergences);
  size_t matched = 0;
  for (const auto& type : types) {
    for (auto& target : SelectTargets(type, request.selection)) {
      std::erase_if(target.cases, [&](const RecordedCase& recorded) {
        return !MatchesGlobs(recorded, request.case_globs);
      });
      matched += target.cases.size();
      plan.targets.push_back(std::move(target));
    }
  }
  if (!request.case_globs.empty() && matched == 0) {
    throw HarnessError("conform: no case of " + request.command + " matches the --case patterns");
  }
  return plan;
}

ConformReport Conform(const ConformRequest& request, Interrupt& interrupt) {
  const auto wall_start = std::chrono::steady_clock::now();
  const ConformPlan plan = PlanConform(request);
  if (!fs::exists(request.instar)) {
    throw HarnessError("conform: no instar at " + request.instar.string());
  }
  const unsigned jobs_wanted =
      request.jobs != 0 ? request.jobs : std::max(1u, std::thread::hardware_concurrency());

  std::vector<Job> jobs;
  for (const auto& target : plan.targets) {
    for (const auto& recorded : target.cases) jobs.push_back({&target, &recorded});
  }

  std::string scratch_note;
  ScratchDir scratch(ScratchBase(&scratch_note));
  const fs::path corpus = scratch.path() / "corpus";
  const bool uses_corpus = std::any_of(jobs.begin(), jobs.end(),
                                       [](const Job& job) { return job.recorded->UsesCorpus(); });
  if (uses_corpus) {
    fs::create_directory(corpus);
    const Manifest manifest = LoadManifest(request.cases_dir / "images" / "manifest.json");
    MaterialiseCorpus(manifest, request.cases_dir / "images", corpus, jobs_wanted, &interrupt);
  }

  std::vector<CaseResult> results(jobs.size());
  std::vector<char> finished(jobs.size(), 0);
  Progress progress("conform " + request.command, jobs.size(), request.progress);
  std::atomic<size_t> next{0};
  std::mutex mutex;         // guards first_error
  std::mutex output_mutex;  // serialises changes to the output directory
  std::string first_error;

  auto worker = [&](unsigned index) {
    ChildRunner runner(&interrupt);
    const fs::path work_dir = scratch.path() / ("w" + std::to_string(index));
    fs::create_directory(work_dir);
    const PlaceholderValues values{(work_dir / "filename").string(), corpus.string()};
    const std::vector<PathRewrite> rewrites = {
        {values.filename, std::string(kFilenamePlaceholder)},
        {values.testdata_root, std::string(kTestdataPlaceholder)}};
    const std::vector<std::string> environment = MinimalEnvironment();

    for (size_t i; (i = next.fetch_add(1)) < jobs.size();) {
      if (interrupt.stopping()) return;
      const ConformTarget& target = *jobs[i].target;
      const RecordedCase& recorded = *jobs[i].recorded;
      CaseResult& result = results[i];
      result.output_type = target.output_type;
      result.target = target.name;
      result.bucket = recorded.bucket;
      result.name = recorded.name;
      result.expected_exit = recorded.expected_exit();
      try {
        result.instar_command = ShownCommand(recorded, target, request.sandbox);
        result.reproduce = ReproduceCommand(request, target, recorded);
        const CaseScope scope{target.output_type, recorded.bucket, recorded.name, target.versions};
        if (const Divergence* skip = FindSkip(plan.divergences, scope)) {
          result.outcome = Outcome::kSkip;
          result.reason = skip->reason + " (divergence " + skip->name + ")";
          finished[i] = 1;
          progress.Advance();
          continue;
        }

        ChildResult last;
        for (const auto& step : recorded.steps) {
          ChildRequest child{request.instar,
                             InstarArguments(step.argv, target.compat, request.sandbox, values),
                             environment, request.timeout};
          last = runner.Run(child);
          if (last.exit_code != 0 || last.timed_out || interrupt.stopping()) break;
        }
        if (recorded.UsesScratchFile()) ClearDirectory(work_dir);
        if (interrupt.stopping()) return;

        const std::string expected_raw =
            ReadFile(recorded.stem.string() + std::string(kStdoutSuffix));
        std::vector<std::string> applied;
        const std::string expected = Normalise(expected_raw, plan.divergences, scope, &applied);
        const std::string actual =
            Normalise(RewritePaths(last.out, rewrites), plan.divergences, scope, &applied);
        std::string err = RewritePaths(last.err, rewrites);
        if (err.size() > kMaxKeptStderr) err = err.substr(0, kMaxKeptStderr) + "...\n";
        std::sort(applied.begin(), applied.end());
        applied.erase(std::unique(applied.begin(), applied.end()), applied.end());

        const Verdict verdict = Judge(recorded.expected_exit(), expected,
                                      {last.exit_code, last.timed_out, actual, err});
        result.outcome = verdict.outcome;
        result.reason = verdict.reason;
        result.diff = verdict.diff;
        result.instar_exit = last.exit_code;
        result.filters = std::move(applied);
        const fs::path kept =
            request.output_dir / target.output_type / target.name / recorded.bucket / recorded.name;
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
        std::lock_guard<std::mutex> lock(mutex);
        if (first_error.empty()) first_error = recorded.stem.string() + ": " + error.what();
        next.store(jobs.size());
        return;
      }
    }
  };

  const unsigned workers =
      static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>(jobs_wanted, jobs.size())));
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < workers; ++i) threads.emplace_back(worker, i);
  worker(0);
  for (auto& thread : threads) thread.join();
  progress.Finish();
  if (!first_error.empty()) throw HarnessError(first_error);

  ConformReport report;
  report.command = request.command;
  report.sandbox = request.sandbox;
  report.instar = request.instar.string();
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
  if (!scratch_note.empty()) report.notes.push_back(scratch_note);
  return report;
}

}  // namespace instar::harness
