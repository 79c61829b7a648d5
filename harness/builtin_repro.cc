// instar-harness repro: one recorded case, run here and now with qemu-img of
// a version and with instar --compat of that version, both shown in full and
// compared as conform compares them. See docs/harness.md, "Reproducing one
// case".
//
// The case is read from the baseline tree by the store's reader (its steps,
// argv and named filters, as generate ran them), and run by the case runner
// twice in one fixture directory that is kept: the corpus, materialised as
// for any run, and a scratch directory for each side ($FILENAME), emptied
// after the case as the runner always does, so the printed commands, each a
// line to paste into a shell, start from the state the harness's runs
// started from. Both sides' stdout go through the divergence filters
// conform applies (conform/divergences.h) and are judged and diffed by
// conform's rules (conform/outcome.h).
//
// Exit status: 0 when they agree, 1 when they differ, 2 when the case
// cannot be run (a usage error: a bad CASE, an unknown version, no such
// baseline, a bad option).

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>

#include "harness/builtins.h"
#include "harness/cases/commands.h"
#include "harness/conform/divergences.h"
#include "harness/conform/instar_argv.h"
#include "harness/conform/outcome.h"
#include "harness/core/error.h"
#include "harness/core/words.h"
#include "harness/matrix/matrix.h"
#include "harness/run/case_runner.h"
#include "harness/run/corpus.h"
#include "harness/run/interrupt.h"
#include "harness/run/scratch.h"
#include "harness/store/baseline_store.h"

namespace instar::harness {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

constexpr int kDiffer = 1;
constexpr int kUsage = 2;

struct CaseName {
  std::string output_type;
  std::string bucket;
  std::string name;

  std::string Text() const { return output_type + "/" + bucket + "/" + name; }
};

CaseName ParseCaseName(const std::string& text) {
  CaseName parsed;
  const size_t first = text.find('/');
  const size_t second = first == std::string::npos ? first : text.find('/', first + 1);
  if (second != std::string::npos && text.find('/', second + 1) == std::string::npos) {
    parsed = {text.substr(0, first), text.substr(first + 1, second - first - 1),
              text.substr(second + 1)};
  }
  if (parsed.output_type.empty() || parsed.bucket.empty() || parsed.name.empty()) {
    throw HarnessError(
        "repro: CASE must be <output-type>/<bucket>/<case> "
        "(e.g. measure-json/_size/1G-qcow2-default), not \"" +
        text + "\"");
  }
  if (FindOutputType(parsed.output_type) == nullptr) {
    throw HarnessError("repro: unknown output type \"" + parsed.output_type + "\"");
  }
  return parsed;
}

// The case as recorded by `version`, or, when that version has no baseline
// of it, by the newest version that has one (every version runs the same
// steps). Sets *recorded_by.
StoredCase ReadCase(const fs::path& baselines, const CaseName& name, const std::string& version,
                    std::string* recorded_by) {
  std::vector<std::string> versions = BaselineVersions(baselines, name.output_type);
  std::erase_if(versions, [&](const std::string& v) { return v == version; });
  versions.push_back(version);  // looked at first, then newest to oldest
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    const fs::path stem = baselines / name.output_type / name.bucket / *it / name.name;
    if (!fs::exists(stem.string() + std::string(kMetaSuffix))) continue;
    *recorded_by = *it;
    return ReadStoredCase(stem, name.output_type, name.bucket);
  }
  throw HarnessError("repro: no baseline of " + name.Text() + " in " + baselines.string() +
                     " (for any version)");
}

fs::path SelfExecutable() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw HarnessError("repro: cannot read /proc/self/exe: " + ec.message());
  return self;
}

// A directory for the fixture, beside where the runs' scratch directories
// go (on tmpfs, for the disk sizes), that outlives the run.
fs::path MakeFixtureDir(std::string* note) {
  std::string pattern = (ScratchBase(note) / "instar-harness-repro.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw HarnessError("repro: cannot create " + pattern + ": " + std::strerror(errno));
  }
  return fs::canonical(pattern);
}

// The line to paste: the exact environment, the program and its words.
std::string PasteLine(const Program& program, const StepSpec& step,
                      const PlaceholderValues& placeholders) {
  std::vector<std::string> words = {"env", "-i"};
  for (auto& variable : MinimalEnvironment()) words.push_back(std::move(variable));
  words.push_back(program.executable.string());
  for (auto& word : StepArguments(program, step, placeholders)) words.push_back(std::move(word));
  return ShellCommand(words);
}

void PrintStream(const char* label, const std::string& text) {
  if (text.empty()) {
    std::cout << "    " << label << ": (empty)\n";
    return;
  }
  std::cout << "    " << label << ":\n";
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    const bool last = end == std::string::npos;
    if (last) end = text.size();
    std::cout << "      " << text.substr(start, end - start) << "\n";
    if (last) std::cout << "      \\ No newline at end\n";
    start = end + 1;
  }
}

void PrintSide(const std::string& title, const CaseSpec& spec, const Program& program,
               const PlaceholderValues& placeholders, const std::vector<StepRun>& runs) {
  std::cout << "\n" << title << ":\n";
  for (size_t i = 0; i < spec.steps.size(); ++i) {
    const StepSpec& step = spec.steps[i];
    std::cout << "  " << step.name << ": " << PasteLine(program, step, placeholders) << "\n";
    if (i >= runs.size()) {
      std::cout << "    not run (an earlier step failed)\n";
      continue;
    }
    const ChildResult& result = runs[i].result;
    std::cout << "    exit " << result.exit_code << (result.timed_out ? " (timed out)" : "")
              << "\n";
    PrintStream("stdout", result.out);
    PrintStream("stderr", result.err);
  }
}

int Repro(const po::variables_map& values, Interrupt& interrupt) {
  const CaseName name = ParseCaseName(values["case"].as<std::string>());
  const fs::path baselines = values["baselines"].as<std::string>();
  const fs::path cases_dir = values["cases"].as<std::string>();
  const fs::path divergences_path = values.count("divergences") > 0
                                        ? fs::path(values["divergences"].as<std::string>())
                                        : cases_dir / "divergences.json";
  std::string sandbox;
  if (values.count("sandbox") > 0) {
    sandbox = values["sandbox"].as<std::string>();
    if (sandbox != "process" && sandbox != "emulated" && sandbox != "kvm") {
      throw HarnessError("repro: --sandbox must be process, emulated or kvm, not \"" + sandbox +
                         "\"");
    }
  }
  fs::path instar = values.count("instar") > 0
                        ? fs::absolute(values["instar"].as<std::string>())
                        : SelfExecutable().parent_path().parent_path() / "vmm" / "instar";
  if (::access(instar.c_str(), X_OK) != 0) {
    throw HarnessError("repro: no instar at " + instar.string() +
                       " (build it or pass --instar PATH)");
  }
  const unsigned timeout_seconds = values["timeout"].as<unsigned>();
  if (timeout_seconds == 0) throw HarnessError("repro: --timeout must be at least 1 second");
  const std::chrono::seconds timeout(timeout_seconds);

  ChildRunner runner(&interrupt);
  MatrixOptions matrix_options;
  if (values.count("binaries") > 0) matrix_options.binaries = values["binaries"].as<std::string>();
  std::vector<std::string> wanted;
  if (values.count("version") > 0) wanted.push_back(values["version"].as<std::string>());
  const Matrix matrix = SelectVersions(DiscoverMatrix(matrix_options, runner), wanted);
  if (matrix.entries.empty()) throw HarnessError("repro: the matrix is empty");
  const MatrixEntry& qemu = matrix.entries.back();  // the one asked for, or the newest
  const std::string& version = qemu.version_text;

  std::string recorded_by;
  const StoredCase stored = ReadCase(baselines, name, version, &recorded_by);
  const CaseSpec& spec = stored.spec;
  const Divergences divergences = ParseDivergencesFile(divergences_path);
  const CaseScope scope{name.output_type, name.bucket, name.name, {version}};

  // The fixture, kept.
  std::string note;
  const fs::path fixture = MakeFixtureDir(&note);
  const fs::path corpus = fixture / "corpus";
  if (spec.UsesCorpus()) {
    fs::create_directory(corpus);
    MaterialiseCorpus(LoadManifest(cases_dir / "images" / "manifest.json"), cases_dir / "images",
                      corpus, std::max(1u, std::thread::hardware_concurrency()), &interrupt);
  }
  fs::create_directory(fixture / "qemu-img");
  fs::create_directory(fixture / "instar");

  std::cout << "repro " << name.Text() << ": qemu-img " << version << " and instar --compat "
            << version << "\n";
  std::cout << "case: "
            << (baselines / name.output_type / name.bucket / recorded_by / name.name).string()
            << std::string(kMetaSuffix)
            << (recorded_by == version ? "" : " (" + version + " has no baseline of it)") << "\n";
  std::cout << "fixture: " << fixture.string()
            << " (kept: corpus/ is $TESTDATA_ROOT, qemu-img/filename and instar/filename each "
               "side's $FILENAME)\n";
  if (!note.empty()) std::cout << "note: " << note << "\n";
  const CommandSpec* command = FindCommand(spec.command);
  if (command != nullptr && !command->implemented()) {
    std::cout << "note: instar does not implement " << spec.command
              << " yet (the command table lists it as baselines only)\n";
  }
  if (const Divergence* skip = FindSkip(divergences, scope)) {
    std::cout << "note: conform skips this case (divergence " << skip->name << ": " << skip->reason
              << ")\n";
  }
  std::cout << "outputs below as compared: paths rewritten to $FILENAME and $TESTDATA_ROOT"
            << (spec.filters.empty() ? "" : ", then the case's filters " + JoinWords(spec.filters))
            << "\n";
  std::cout << std::flush;

  const Program qemu_program{fs::absolute(qemu.qemu_img), {}};
  const Program instar_program = InstarProgram(instar, version, sandbox);
  CaseRunner qemu_runner(fixture / "qemu-img", corpus, timeout, &interrupt);
  CaseRunner instar_runner(fixture / "instar", corpus, timeout, &interrupt);
  const std::vector<StepRun> qemu_runs = qemu_runner.Run(spec, qemu_program);
  const std::vector<StepRun> instar_runs =
      interrupt.stopping() ? std::vector<StepRun>() : instar_runner.Run(spec, instar_program);

  PrintSide("qemu-img " + version, spec, qemu_program, qemu_runner.placeholders(), qemu_runs);
  if (interrupt.stopping()) return 128 + interrupt.signal_number();
  PrintSide("instar --compat " + version, spec, instar_program, instar_runner.placeholders(),
            instar_runs);
  if (interrupt.stopping()) return 128 + interrupt.signal_number();

  const std::string qemu_stdout = CaseStdout(spec, qemu_runs);
  if (recorded_by == version && qemu_stdout != stored.ReadStdout()) {
    std::cout << "\nnote: qemu-img " << version
              << "'s stdout here differs from its recorded baseline\n";
  }
  std::vector<std::string> applied;
  const std::string expected = Normalise(qemu_stdout, divergences, scope, &applied);
  const std::string actual = Normalise(CaseStdout(spec, instar_runs), divergences, scope, &applied);
  std::sort(applied.begin(), applied.end());
  applied.erase(std::unique(applied.begin(), applied.end()), applied.end());
  const ChildResult& last = instar_runs.back().result;
  const Divergence* stderr_divergence = FindStderrDivergence(divergences, scope);
  if (stderr_divergence != nullptr) applied.push_back(stderr_divergence->name);
  const std::string expected_stderr = CaseStderr(spec, qemu_runs);
  const std::string instar_stderr = CaseStderr(spec, instar_runs);
  const Verdict verdict = Judge(qemu_runs.back().result.exit_code, expected,
                                {last.exit_code, last.timed_out, actual, last.err, instar_stderr},
                                stderr_divergence != nullptr ? nullptr : &expected_stderr);
  std::cout << "\n";
  if (!applied.empty()) std::cout << "divergence filters applied: " << JoinWords(applied) << "\n";
  std::cout << verdict.diff;
  if (verdict.outcome == Outcome::kPass) {
    std::cout << "repro " << name.Text() << ": PASS: qemu-img and instar agree\n";
    return 0;
  }
  std::cout << "repro " << name.Text() << ": FAIL: " << verdict.reason << "\n";
  return kDiffer;
}

}  // namespace

int RunRepro(int argc, char** argv) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "version", po::value<std::string>(),
      "the qemu-img of the matrix to run, and instar's --compat (default: the newest)")(
      "sandbox", po::value<std::string>(),
      "passed to instar: process, emulated or kvm (default: instar's own)")(
      "instar", po::value<std::string>(),
      "the instar to run (default: the one built beside the harness, ../vmm/instar)")(
      "binaries", po::value<std::string>(), "matrix directory (see `matrix --help`)")(
      "baselines", po::value<std::string>()->default_value("baselines"),
      "the baseline tree the case is read from")("cases",
                                                 po::value<std::string>()->default_value("cases"),
                                                 "directory of images/ and divergences.json")(
      "divergences", po::value<std::string>(),
      "the divergence file (default: <cases>/divergences.json)")(
      "timeout", po::value<unsigned>()->default_value(60), "seconds allowed to each step");
  po::options_description hidden;
  hidden.add_options()("case", po::value<std::string>(), "");
  po::positional_options_description positional;
  positional.add("case", 1);
  const char* usage =
      "instar-harness repro <output-type>/<bucket>/<case> [--version V] [--sandbox S] "
      "[--instar PATH] [--binaries DIR] [--baselines DIR] [--cases DIR]\n"
      "exit status: 0 qemu-img and instar agree, 1 they differ, 2 a usage error";
  Interrupt interrupt;
  SignalWatcher watcher(&interrupt);
  try {
    po::variables_map values;
    if (!ParseOptions("repro", usage, argc, argv, options, hidden, positional, values)) return 0;
    if (values.count("case") == 0) {
      throw HarnessError("repro: name the case, <output-type>/<bucket>/<case> (see --help)");
    }
    return Repro(values, interrupt);
  } catch (const HarnessError& error) {
    if (interrupt.stopping()) return 128 + interrupt.signal_number();
    std::cout << std::flush;
    (void)std::fprintf(stderr, "instar-harness: %s\n", error.what());
    return kUsage;
  }
}

}  // namespace instar::harness
