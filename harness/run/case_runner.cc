#include "harness/run/case_runner.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "harness/cases/manifest.h"
#include "harness/core/error.h"
#include "harness/run/content_digest.h"
#include "harness/run/corpus.h"

namespace instar::harness {

namespace fs = std::filesystem;

namespace {

std::string Marker(const std::string& step_name) {
  std::string upper;
  for (char c : step_name) upper += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return "---" + upper + " STDERR---\n";
}

// What a step killed at its time-out leaves in the record: how much of its
// output was out before the kill, and whether it was still alive to be killed
// at all, are races, so nothing of them is kept. A baseline generated twice
// is the same whatever the machine's load, as long as the step times out
// both times.
ChildResult TimedOutResult(std::chrono::milliseconds timeout) {
  const auto ms = timeout.count();
  const std::string bound =
      ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
  return {128 + SIGKILL, true, "", "instar-harness: timed out after " + bound + " (killed)\n"};
}

void ClearDirectory(const fs::path& dir) {
  for (const auto& item : fs::directory_iterator(dir)) fs::remove_all(item.path());
}

}  // namespace

std::string ResolvePlaceholders(std::string_view word, const PlaceholderValues& values) {
  std::string out;
  out.reserve(word.size());
  size_t pos = 0;
  while (pos < word.size()) {
    if (word.substr(pos).starts_with(kTestdataPlaceholder)) {
      out += values.testdata_root;
      pos += kTestdataPlaceholder.size();
    } else if (word.substr(pos).starts_with(kFilenamePlaceholder)) {
      out += values.filename;
      pos += kFilenamePlaceholder.size();
    } else {
      out += word[pos++];
    }
  }
  return out;
}

std::vector<std::string> StepArguments(const Program& program, const StepSpec& step,
                                       const PlaceholderValues& values) {
  if (step.argv.empty() || step.argv.front() != kBinaryWord) {
    throw HarnessError("step \"" + step.name + "\": its argv must start with \"" +
                       std::string(kBinaryWord) + "\"");
  }
  std::vector<std::string> arguments = program.options;
  for (size_t i = 1; i < step.argv.size(); ++i) {
    arguments.push_back(ResolvePlaceholders(step.argv[i], values));
  }
  return arguments;
}

std::string CaseStdout(const CaseSpec& spec, const std::vector<StepRun>& runs,
                       size_t planned_steps) {
  const size_t planned = planned_steps != 0 ? planned_steps : spec.steps.size();
  if (runs.empty() || runs.size() != planned) return "";
  return runs.back().result.out;
}

std::string CaseStderr(const CaseSpec& spec, const std::vector<StepRun>& runs,
                       size_t planned_steps) {
  const size_t planned = planned_steps != 0 ? planned_steps : spec.steps.size();
  if (planned == 1) return runs.empty() ? std::string() : runs.front().result.err;
  std::string joined;
  for (const auto& run : runs) {
    joined += Marker(run.step->name);
    joined += run.result.err;
    if (!run.result.err.empty() && run.result.err.back() != '\n') joined += '\n';
  }
  return joined;
}

CaseRunner::CaseRunner(fs::path work_dir, const fs::path& corpus, std::chrono::milliseconds timeout,
                       Interrupt* interrupt)
    : work_dir_(std::move(work_dir)),
      placeholders_{(work_dir_ / "filename").string(), corpus.string()},
      rewrites_{{placeholders_.filename, std::string(kFilenamePlaceholder)},
                {placeholders_.testdata_root, std::string(kTestdataPlaceholder)}},
      environment_(MinimalEnvironment()),
      timeout_(timeout),
      interrupt_(interrupt),
      children_(interrupt) {}

std::vector<StepRun> CaseRunner::Run(const CaseSpec& spec, const Program& program,
                                     const Program* fixture,
                                     const std::function<bool(const StepSpec&)>& fixture_step) {
  std::vector<const OutputFilter*> filters;
  for (const auto& name : spec.filters) filters.push_back(&FindOutputFilter(name));
  auto normalise = [&](const std::string& text) {
    std::string normalised = RewritePaths(text, rewrites_);
    for (const OutputFilter* filter : filters) normalised = filter->apply(normalised);
    return normalised;
  };

  std::vector<StepRun> runs;
  for (const auto& step : spec.steps) {
    const Program& runs_it =
        fixture != nullptr && fixture_step && fixture_step(step) ? *fixture : program;
    ChildResult result = children_.Run(
        {runs_it.executable, StepArguments(runs_it, step, placeholders_), environment_, timeout_});
    if (result.timed_out) {
      result = TimedOutResult(timeout_);
    } else {
      result.out = normalise(result.out);
      result.err = normalise(result.err);
    }
    const bool failed = result.exit_code != 0 || result.timed_out;
    runs.push_back({&step, std::move(result)});
    if (failed || (interrupt_ != nullptr && interrupt_->stopping())) break;
  }
  const bool completed = runs.size() == spec.steps.size() && runs.back().result.exit_code == 0 &&
                         !runs.back().result.timed_out;
  if (!spec.content_file.empty() && completed) {
    runs.back().content_digest =
        ContentDigest(ResolvePlaceholders(spec.content_file, placeholders_));
  }
  if (spec.UsesScratchFile()) ClearDirectory(work_dir_);
  return runs;
}

CasePool::CasePool(std::vector<const CaseSpec*> cases, const PoolOptions& options,
                   Interrupt& interrupt)
    : cases_(std::move(cases)),
      options_(options),
      jobs_(options.jobs != 0 ? options.jobs : std::max(1u, std::thread::hardware_concurrency())),
      interrupt_(interrupt),
      scratch_(ScratchBase(&note_)),
      corpus_(scratch_.path() / "corpus") {
  const bool uses_corpus = std::any_of(cases_.begin(), cases_.end(),
                                       [](const CaseSpec* spec) { return spec->UsesCorpus(); });
  if (!uses_corpus) return;
  fs::create_directory(corpus_);
  const Manifest manifest = LoadManifest(options_.images_dir / "manifest.json");
  MaterialiseCorpus(manifest, options_.images_dir, corpus_, jobs_, &interrupt_);
}

void CasePool::Run(const std::function<void(size_t job, CaseRunner& runner)>& work) {
  const size_t count = cases_.size();
  std::atomic<size_t> next{0};
  std::mutex mutex;  // guards first_error
  std::string first_error;

  auto worker = [&](unsigned index) {
    try {
      const fs::path work_dir = scratch_.path() / ("w" + std::to_string(index));
      fs::create_directory(work_dir);
      CaseRunner runner(work_dir, corpus_, options_.timeout, &interrupt_);
      for (size_t job; (job = next.fetch_add(1)) < count;) {
        if (interrupt_.stopping()) return;
        work(job, runner);
      }
    } catch (const std::exception& error) {
      std::lock_guard<std::mutex> lock(mutex);
      if (first_error.empty()) first_error = error.what();
      next.store(count);
    }
  };

  const unsigned workers =
      static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>(jobs_, count)));
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < workers; ++i) threads.emplace_back(worker, i);
  worker(0);
  for (auto& thread : threads) thread.join();
  if (!first_error.empty()) throw HarnessError(first_error);
}

}  // namespace instar::harness
