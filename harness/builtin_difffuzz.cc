// instar-harness difffuzz: differential fuzzing of instar against the
// qemu-img matrix. See docs/harness.md, "Differential fuzzing".
//
// Each iteration draws a script from its seed (difffuzz/script.h: the
// seeds are --seed, --seed + 1, ...), makes its images with the newest
// qemu-img and qemu-io of the matrix, runs every command instar implements
// on every image with the qemu-img of each selected version and with
// `instar --compat` of that version (difffuzz/runner.h), and minimises each
// disagreement to the fewest steps that still show it
// (difffuzz/minimiser.h). A disagreement is explained only by a difffuzz
// entry of cases/divergences.json; the rest are reported in full
// (difffuzz/report.h).
//
// Exit status: 0 when no disagreement is left unexplained, 1 otherwise, 2 on
// a usage error (a bad option, an unknown version, no qemu-io, no instar),
// 128 + n on a signal.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "harness/builtins.h"
#include "harness/conform/instar_argv.h"
#include "harness/core/error.h"
#include "harness/core/words.h"
#include "harness/difffuzz/minimiser.h"
#include "harness/difffuzz/report.h"
#include "harness/difffuzz/runner.h"
#include "harness/difffuzz/script.h"
#include "harness/matrix/matrix.h"
#include "harness/run/interrupt.h"
#include "harness/run/progress.h"
#include "harness/run/scratch.h"

namespace instar::harness {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

constexpr int kUnexplained = 1;
constexpr int kUsage = 2;

struct Options {
  uint64_t first_seed = 1;
  size_t iterations = 20;
  unsigned jobs = 1;
  size_t max_tries = 200;
  std::optional<fs::path> keep;
  std::vector<std::string> versions;  // as asked for, for the rerun line
};

struct IterationResult {
  uint64_t seed = 0;
  std::string summary;  // "qcow2, 7 steps (1 failed), 2 images"
  size_t checks = 0;
  size_t both_failed = 0;
  size_t failed_steps = 0;
  std::vector<std::string> notes;  // the steps that failed
  std::vector<Disagreement> disagreements;
  // What RunChecks found: every check and its run, and the failing ones
  // by image and output type, in the order they first failed.
  std::vector<DifffuzzCheck> check_list;
  std::vector<DifffuzzCheckRun> runs;
  std::map<std::pair<size_t, std::string>, std::vector<size_t>> failing;
  std::vector<std::pair<size_t, std::string>> failing_order;
};

fs::path SelfExecutable() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw HarnessError("difffuzz: cannot read /proc/self/exe: " + ec.message());
  return self;
}

std::string ShellLineOf(const std::vector<std::string>& words) {
  std::vector<std::string> line = {"env", "-i"};
  for (auto& variable : MinimalEnvironment()) line.push_back(std::move(variable));
  line.insert(line.end(), words.begin(), words.end());
  return ScriptShellLine(line);
}

DifffuzzSide SideOf(const std::vector<std::string>& words, const ChildResult& result,
                    const std::string& compared) {
  return {ShellLineOf(words), result.exit_code, result.timed_out, compared, result.err};
}

std::string RerunLine(const DifffuzzSetup& setup, uint64_t seed, const std::string& version) {
  std::vector<std::string> words = {
      "ci/difffuzz", "--seed", std::to_string(seed), "--iterations", "1", "--versions", version};
  if (!setup.sandbox.empty()) words.insert(words.end(), {"--sandbox", setup.sandbox});
  return ShellCommand(words);
}

// The disagreement of `check` in `script`, minimised.
Disagreement Minimise(DifffuzzRunner& runner, const DifffuzzSetup& setup, const Options& options,
                      const Script& script, const DifffuzzCheck& check,
                      const DifffuzzCheckRun& original, const fs::path& root,
                      const std::string& stem) {
  const fs::path trial = root / (stem + "-try");
  const std::string image = ResolveDir(script.images.at(check.image).file, trial.string());
  const Minimised minimised = MinimiseSteps(
      script.steps.size(),
      [&](const std::vector<size_t>& kept) {
        const Script candidate = KeepSteps(script, kept);
        runner.RunSteps(candidate, trial);
        if (!fs::exists(image)) return false;
        const DifffuzzCheckRun run = runner.RunCheck(candidate, check, trial);
        return !run.image_vanished && run.verdict.outcome == Outcome::kFail;
      },
      options.max_tries);
  fs::remove_all(trial);

  // Run the minimal script once more where it is kept, for what is shown;
  // should the disagreement not show again (a flaky one), show the whole.
  Script minimal = KeepSteps(script, minimised.kept);
  const fs::path dir = root / (stem + "-min");
  runner.RunSteps(minimal, dir);
  DifffuzzCheckRun run = fs::exists(ResolveDir(minimal.images.at(check.image).file, dir.string()))
                             ? runner.RunCheck(minimal, check, dir)
                             : DifffuzzCheckRun{};
  const bool flaky = run.verdict.outcome != Outcome::kFail;
  if (flaky) {
    minimal = script;
    run = original;
  }

  Disagreement d;
  d.seed = script.seed;
  d.output_type = check.output_type;
  d.image = script.images.at(check.image).file;
  d.format = script.images.at(check.image).format;
  d.version = setup.versions.at(check.version).version;
  d.reason = run.verdict.reason + (flaky ? " (not seen again on the minimised script)" : "");
  d.diff = run.verdict.diff;
  d.original_steps = script.steps.size();
  for (const auto& step : minimal.steps) {
    std::vector<std::string> words = {StepProgram(setup, step)};
    words.insert(words.end(), step.args.begin(), step.args.end());
    d.script.push_back(ShellLineOf(words));
  }
  d.exhausted = minimised.exhausted;
  d.qemu = SideOf(QemuWords(setup, check), run.qemu, run.expected);
  d.instar = SideOf(InstarWords(setup, check), run.instar, run.actual);
  if (const Divergence* entry = FindDifffuzzExplanation(
          setup.divergences, CheckScope(setup, minimal, check), ScriptPatternText(minimal))) {
    d.explained_by = entry->name;
    d.explanation = entry->reason;
  }
  if (options.keep) {
    d.kept = dir.string();
  } else {
    fs::remove_all(dir);
  }
  d.rerun = RerunLine(setup, script.seed, d.version);
  return d;
}

// Makes the images of `script` in `dir` and runs every check on them into
// `result`. False when an image vanished while it was checked.
bool RunChecks(DifffuzzRunner& runner, const Script& script, const fs::path& dir,
               Interrupt& interrupt, IterationResult& result) {
  const uint64_t seed = script.seed;
  // A step that fails (a write past a vpc image's rounded size, an option
  // the maker refuses) leaves the image as it was; the script goes on.
  const std::vector<ChildResult> steps = runner.RunSteps(script, dir);
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].exit_code == 0) continue;
    ++result.failed_steps;
    const std::string& err = steps[i].err.empty() ? steps[i].out : steps[i].err;
    std::vector<std::string> words = {ScriptToolName(script.steps[i].tool)};
    words.insert(words.end(), script.steps[i].args.begin(), script.steps[i].args.end());
    result.notes.push_back("note: seed " + std::to_string(seed) + " step " + std::to_string(i + 1) +
                           " exited " + std::to_string(steps[i].exit_code) + ": " +
                           ScriptShellLine(words) + ": " + err.substr(0, err.find('\n')));
  }
  const std::vector<DifffuzzCheck> checks = runner.Checks(script, dir);
  result.checks = checks.size();

  // The failures of one image and output type are one disagreement, shown
  // with the first version that has it.
  result.check_list = checks;
  result.runs.resize(checks.size());
  for (size_t i = 0; i < checks.size() && !interrupt.stopping(); ++i) {
    DifffuzzCheckRun& run = result.runs[i];
    run = runner.RunCheck(script, checks[i], dir);
    if (run.image_vanished) return false;
    if (run.qemu.exit_code != 0 && run.instar.exit_code != 0) ++result.both_failed;
    if (run.verdict.outcome != Outcome::kFail) continue;
    const auto key = std::make_pair(checks[i].image, checks[i].output_type);
    if (result.failing[key].empty()) result.failing_order.push_back(key);
    result.failing[key].push_back(i);
  }
  return true;
}

IterationResult RunIteration(const DifffuzzSetup& setup, const Options& options, uint64_t seed,
                             const fs::path& root, Interrupt& interrupt) {
  IterationResult result;
  result.seed = seed;
  DifffuzzRunner runner(setup, &interrupt);
  const Script script = GenerateScript(seed);
  const std::string stem = "seed-" + std::to_string(seed);
  const fs::path dir = root / stem;
  // Should another process remove the images while they are checked (on a
  // shared /dev/shm, something did), the iteration runs again from its
  // script, twice at most.
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    IterationResult fresh;
    fresh.seed = seed;
    if (RunChecks(runner, script, dir, interrupt, fresh)) {
      result.failed_steps = fresh.failed_steps;
      result.checks = fresh.checks;
      result.both_failed = fresh.both_failed;
      result.notes.insert(result.notes.end(), fresh.notes.begin(), fresh.notes.end());
      result.failing = std::move(fresh.failing);
      result.failing_order = std::move(fresh.failing_order);
      result.runs = std::move(fresh.runs);
      result.check_list = std::move(fresh.check_list);
      break;
    }
    if (attempt == kAttempts) {
      throw HarnessError("seed " + std::to_string(seed) + ": the images vanished from " +
                         dir.string() + " while being checked, " + std::to_string(kAttempts) +
                         " times: another process removes files there");
    }
    result.notes.push_back("note: seed " + std::to_string(seed) +
                           ": the images vanished while being checked (another process removed "
                           "them); the iteration runs again");
  }
  const std::vector<DifffuzzCheck>& checks = result.check_list;
  const std::vector<DifffuzzCheckRun>& runs = result.runs;
  size_t n = 0;
  for (const auto& key : result.failing_order) {
    if (interrupt.stopping()) break;
    const size_t first = result.failing.at(key).front();
    Disagreement d = Minimise(runner, setup, options, script, checks[first], runs[first], root,
                              stem + "-" + std::to_string(++n));
    for (size_t i : result.failing.at(key)) {
      d.versions.push_back(setup.versions.at(checks[i].version).version);
    }
    result.disagreements.push_back(std::move(d));
  }
  if (!options.keep) fs::remove_all(dir);
  // What the printer needs of it is the rest.
  result.check_list.clear();
  result.runs.clear();

  std::string formats;
  for (const auto& image : script.images) formats += (formats.empty() ? "" : " ") + image.format;
  result.summary =
      std::to_string(script.steps.size()) + " steps" +
      (result.failed_steps == 0 ? std::string()
                                : " (" + std::to_string(result.failed_steps) + " failed)") +
      ", images " + formats;
  return result;
}

DifffuzzSetup MakeSetup(const po::variables_map& values, ChildRunner& runner, Options& options,
                        std::string* matrix_source) {
  DifffuzzSetup setup;
  MatrixOptions matrix_options;
  if (values.count("binaries") > 0) matrix_options.binaries = values["binaries"].as<std::string>();
  const Matrix matrix = DiscoverMatrix(matrix_options, runner);
  *matrix_source = matrix.source;
  if (values.count("versions") > 0) {
    for (const auto& item : values["versions"].as<std::vector<std::string>>()) {
      size_t start = 0;
      while (start <= item.size()) {
        const size_t comma = std::min(item.find(',', start), item.size());
        if (comma > start) options.versions.push_back(item.substr(start, comma - start));
        start = comma + 1;
      }
    }
  }
  const Matrix selected = SelectVersions(matrix, options.versions);
  for (const auto& entry : selected.entries) {
    setup.versions.push_back({entry.version_text, fs::absolute(entry.qemu_img)});
  }
  // The images are made by the newest qemu-img that has a qemu-io beside it.
  for (auto it = matrix.entries.rbegin(); it != matrix.entries.rend(); ++it) {
    if (it->qemu_io.empty()) continue;
    setup.maker_version = it->version_text;
    setup.maker_qemu_img = fs::absolute(it->qemu_img);
    setup.maker_qemu_io = fs::absolute(it->qemu_io);
    break;
  }
  if (setup.maker_qemu_io.empty()) {
    throw HarnessError("difffuzz: no qemu-io beside any qemu-img of " + matrix.source +
                       " (install qemu-utils)");
  }
  setup.instar = values.count("instar") > 0
                     ? fs::absolute(values["instar"].as<std::string>())
                     : SelfExecutable().parent_path().parent_path() / "vmm" / "instar";
  if (::access(setup.instar.c_str(), X_OK) != 0) {
    throw HarnessError("difffuzz: no instar at " + setup.instar.string() +
                       " (build it or pass --instar PATH)");
  }
  if (values.count("sandbox") > 0) {
    setup.sandbox = values["sandbox"].as<std::string>();
    if (setup.sandbox != "process" && setup.sandbox != "emulated" && setup.sandbox != "kvm") {
      throw HarnessError("difffuzz: --sandbox must be process, emulated or kvm, not \"" +
                         setup.sandbox + "\"");
    }
  }
  const fs::path divergences =
      values.count("divergences") > 0
          ? fs::path(values["divergences"].as<std::string>())
          : fs::path(values["cases"].as<std::string>()) / "divergences.json";
  setup.divergences = ParseDivergencesFile(divergences);
  const unsigned timeout = values["timeout"].as<unsigned>();
  if (timeout == 0) throw HarnessError("difffuzz: --timeout must be at least 1 second");
  setup.timeout = std::chrono::seconds(timeout);
  return setup;
}

int Difffuzz(const po::variables_map& values, Interrupt& interrupt) {
  Options options;
  options.first_seed = values["seed"].as<uint64_t>();
  options.iterations = values["iterations"].as<size_t>();
  if (options.iterations == 0) throw HarnessError("difffuzz: --iterations must be at least 1");
  options.jobs = values.count("jobs") > 0 ? values["jobs"].as<unsigned>() : 1;
  if (options.jobs == 0) throw HarnessError("difffuzz: --jobs must be at least 1");
  options.max_tries = values["max-tries"].as<size_t>();
  if (values.count("keep") > 0) options.keep = fs::absolute(values["keep"].as<std::string>());

  ChildRunner runner(&interrupt);
  std::string source;
  const DifffuzzSetup setup = MakeSetup(values, runner, options, &source);

  std::string note;
  std::optional<ScratchDir> scratch;
  fs::path root;
  if (options.keep) {
    fs::create_directories(*options.keep);
    root = fs::canonical(*options.keep);
  } else {
    scratch.emplace(ScratchBase(&note));
    root = scratch->path();
  }

  std::vector<std::string> versions;
  for (const auto& version : setup.versions) versions.push_back(version.version);
  std::cout << "difffuzz: matrix " << source << "; comparing " << JoinWords(versions) << "\n"
            << "difffuzz: images made with qemu-img " << setup.maker_version << " ("
            << setup.maker_qemu_img.string() << ") and " << setup.maker_qemu_io.string() << "\n"
            << "difffuzz: instar " << setup.instar.string()
            << (setup.sandbox.empty() ? "" : " --sandbox=" + setup.sandbox) << "; seeds "
            << options.first_seed << ".." << options.first_seed + options.iterations - 1 << "\n";
  if (!note.empty()) std::cout << "difffuzz: note: " << note << "\n";
  if (options.keep) std::cout << "difffuzz: keeping every image under " << root.string() << "\n";
  std::cout << std::flush;

  const auto start = std::chrono::steady_clock::now();
  const ProgressStyle style = DetectProgressStyle();
  Progress progress("difffuzz", options.iterations,
                    style == ProgressStyle::kTerminal ? style : ProgressStyle::kSilent);
  std::vector<std::optional<IterationResult>> results(options.iterations);
  std::atomic<size_t> next{0};
  std::mutex mutex;
  size_t printed = 0;
  DifffuzzTotals totals;
  totals.first_seed = options.first_seed;
  std::optional<std::string> failure;
  std::atomic<bool> failed{false};

  // Each worker takes the next iteration; results are printed in seed order.
  auto worker = [&] {
    while (!interrupt.stopping() && !failed) {
      const size_t i = next++;
      if (i >= options.iterations) return;
      std::optional<IterationResult> result;
      try {
        result = RunIteration(setup, options, options.first_seed + i, root, interrupt);
      } catch (const std::exception& error) {
        const std::lock_guard<std::mutex> lock(mutex);
        if (!failure) failure = error.what();
        failed = true;  // the others finish their iteration and stop
        return;
      }
      const std::lock_guard<std::mutex> lock(mutex);
      results[i] = std::move(result);
      if (style == ProgressStyle::kTerminal) progress.Advance();
      while (printed < results.size() && results[printed]) {
        const IterationResult& r = *results[printed];
        ++printed;
        totals.iterations = printed;
        totals.checks += r.checks;
        totals.both_failed += r.both_failed;
        totals.failed_steps += r.failed_steps;
        size_t unexplained = 0;
        for (const auto& line : r.notes) std::cout << line << "\n";
        for (const auto& d : r.disagreements) {
          if (d.explained_by.empty()) {
            ++unexplained;
            ++totals.unexplained;
          } else {
            ++totals.explained;
          }
          std::cout << FormatDisagreement(d);
        }
        std::cout << std::flush;
        if (style != ProgressStyle::kTerminal) {
          (void)std::fprintf(stderr,
                             "difffuzz: [%zu/%zu] seed %llu: %s; %zu checks, %zu disagreement%s"
                             " (%zu unexplained)\n",
                             printed, options.iterations, static_cast<unsigned long long>(r.seed),
                             r.summary.c_str(), r.checks, r.disagreements.size(),
                             r.disagreements.size() == 1 ? "" : "s", unexplained);
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (unsigned j = 1; j < options.jobs; ++j) threads.emplace_back(worker);
  worker();
  for (auto& thread : threads) thread.join();
  progress.Finish();
  if (failure) throw HarnessError("difffuzz: " + *failure);
  if (interrupt.stopping()) return 128 + interrupt.signal_number();

  totals.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << FormatVerdict(totals) << std::flush;
  return totals.unexplained == 0 ? 0 : kUnexplained;
}

}  // namespace

int RunDifffuzz(int argc, char** argv) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "iterations,n", po::value<size_t>()->default_value(20), "how many scripts to draw")(
      "seed", po::value<uint64_t>()->default_value(1),
      "the first iteration's seed; iteration i draws from seed + i")(
      "versions", po::value<std::vector<std::string>>()->multitoken(),
      "the qemu-img versions to compare with (default: every one of the matrix; "
      "`--versions 5.2.0 7.2.22` or `--versions 5.2.0,7.2.22`)")(
      "sandbox", po::value<std::string>(),
      "passed to instar: process, emulated or kvm (default: instar's own)")(
      "keep", po::value<std::string>(),
      "make and keep every iteration's images under this directory (seed-S/, and each "
      "disagreement's minimised script's in seed-S-N-min/)")("jobs,j", po::value<unsigned>(),
                                                             "iterations run at once (default: 1)")(
      "instar", po::value<std::string>(),
      "the instar to run (default: the one built beside the harness, ../vmm/instar)")(
      "binaries", po::value<std::string>(), "matrix directory (see `matrix --help`)")(
      "cases", po::value<std::string>()->default_value("cases"), "directory of divergences.json")(
      "divergences", po::value<std::string>(),
      "the divergence file (default: <cases>/divergences.json)")(
      "timeout", po::value<unsigned>()->default_value(60), "seconds allowed to each run")(
      "max-tries", po::value<size_t>()->default_value(200),
      "scripts the minimiser may run for one disagreement");
  const char* usage =
      "instar-harness difffuzz [--iterations N] [--seed S] [--versions V...] [--sandbox S] "
      "[--keep DIR] [--jobs N]\n"
      "exit status: 0 no unexplained disagreement, 1 some, 2 a usage error";
  Interrupt interrupt;
  SignalWatcher watcher(&interrupt);
  try {
    po::variables_map values;
    if (!ParseOptions("difffuzz", usage, argc, argv, options, values)) return 0;
    return Difffuzz(values, interrupt);
  } catch (const HarnessError& error) {
    if (interrupt.stopping()) return 128 + interrupt.signal_number();
    std::cout << std::flush;
    (void)std::fprintf(stderr, "instar-harness: %s\n", error.what());
    return kUsage;
  }
}

}  // namespace instar::harness
