// instar-harness conform: runs instar on every recorded case of a command's
// output types and profiles and diffs it against what qemu-img printed. See
// conform/conformer.h for how and docs/harness.md, "Conformance".

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "harness/builtins.h"
#include "harness/cases/commands.h"
#include "harness/conform/conformer.h"
#include "harness/core/error.h"
#include "harness/core/files.h"
#include "harness/core/words.h"
#include "harness/report/run_page.h"
#include "harness/run/interrupt.h"

namespace instar::harness {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxDiffLinesShown = 40;

fs::path SelfExecutable() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw HarnessError("conform: cannot read /proc/self/exe: " + ec.message());
  return self;
}

std::vector<std::string> Strings(const po::variables_map& values, const char* name) {
  if (values.count(name) == 0) return {};
  return values[name].as<std::vector<std::string>>();
}

}  // namespace

int RunConform(int argc, char** argv) {
  const std::vector<std::string> commands = ImplementedCommandNames();
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "command", po::value<std::string>(),
      ("one of " + JoinWords(commands) + " (required)").c_str())(
      "output-type", po::value<std::string>(),
      "only this output type (default: all of the command's)")(
      "profile", po::value<std::vector<std::string>>(), "only this profile (repeatable)")(
      "version", po::value<std::vector<std::string>>(),
      "only the profile holding this version; with --baselines, this version (repeatable)")(
      "case", po::value<std::vector<std::string>>(),
      "only cases whose name or bucket/name matches this glob (repeatable)")(
      "sandbox", po::value<std::string>(),
      "passed to instar: process, emulated or kvm (default: instar's own)")(
      "instar", po::value<std::string>(),
      "the instar to run (default: the one built beside the harness, ../vmm/instar)")(
      "jobs,j", po::value<unsigned>(), "parallel workers (default: one per core)")(
      "binaries", po::value<std::string>(),
      "matrix directory for the steps instar cannot run, such as compare's flatten (see "
      "`matrix --help`)")("baselines", po::value<std::string>(),
                          "compare against this per-version baseline tree instead of the profiles")(
      "profiles", po::value<std::string>()->default_value("profiles"), "the profiles tree")(
      "cases", po::value<std::string>()->default_value("cases"),
      "directory of images/ and divergences.json")(
      "divergences", po::value<std::string>(),
      "the divergence file (default: <cases>/divergences.json)")(
      "output-dir", po::value<std::string>(),
      "where failing cases keep their outputs (default: conform-output beside the harness)")(
      "timeout", po::value<unsigned>()->default_value(60), "seconds allowed to each instar run")(
      "junit", po::value<std::string>(), "write a JUnit XML report here")(
      "json", po::value<std::string>(), "write a JSON report here")(
      "html", po::value<std::string>(), "write an HTML grid of cases x profiles here")(
      "shard", po::value<std::string>(),
      "K/N: only the K-th of N parts of the cases, each against every target (`merge` joins "
      "the parts' --json reports)");
  po::variables_map values;
  const std::string usage =
      "instar-harness conform --command " + JoinWords(commands, "|") +
      " [--output-type T] [--profile P]... [--version V]... [--case GLOB]... [--sandbox "
      "process|emulated|kvm] [--instar PATH] [--jobs N] [--baselines DIR] [--profiles DIR] "
      "[--junit FILE] [--json FILE] [--html FILE] [--shard K/N]";
  if (!ParseOptions("conform", usage.c_str(), argc, argv, options, values)) {
    return 0;
  }
  if (values.count("command") == 0) throw HarnessError("conform: --command is required");

  const fs::path self = SelfExecutable();
  ConformRequest request;
  request.command = values["command"].as<std::string>();
  std::vector<std::string> reproduce = {self.string(), "conform", "--command", request.command};
  if (values.count("output-type") > 0) {
    request.output_types.push_back(values["output-type"].as<std::string>());
  }
  request.selection.profiles = values["profiles"].as<std::string>();
  request.selection.profile_names = Strings(values, "profile");
  request.selection.versions = Strings(values, "version");
  request.case_globs = Strings(values, "case");
  if (values.count("shard") > 0) {
    // Not in the reproduce command: --case names the one case to rerun.
    try {
      request.shard = ParseShard(values["shard"].as<std::string>());
    } catch (const HarnessError& error) {
      throw HarnessError(std::string("conform: ") + error.what());
    }
  }
  if (values.count("sandbox") > 0) {
    request.sandbox = values["sandbox"].as<std::string>();
    if (request.sandbox != "process" && request.sandbox != "emulated" && request.sandbox != "kvm") {
      throw HarnessError("conform: --sandbox must be process, emulated or kvm, not \"" +
                         request.sandbox + "\"");
    }
    reproduce.insert(reproduce.end(), {"--sandbox", request.sandbox});
  }
  if (values.count("instar") > 0) {
    request.instar = fs::absolute(values["instar"].as<std::string>());
    reproduce.insert(reproduce.end(), {"--instar", request.instar.string()});
  } else {
    request.instar = self.parent_path().parent_path() / "vmm" / "instar";
    if (!fs::exists(request.instar)) {
      throw HarnessError("conform: no instar beside the harness (" + request.instar.string() +
                         "); build it or pass --instar PATH");
    }
  }
  if (::access(request.instar.c_str(), X_OK) != 0) {
    throw HarnessError("conform: " + request.instar.string() + " is not an executable file");
  }
  if (values.count("binaries") > 0) request.binaries = values["binaries"].as<std::string>();
  if (values.count("jobs") > 0) {
    request.jobs = values["jobs"].as<unsigned>();
    if (request.jobs == 0) throw HarnessError("conform: --jobs must be at least 1");
  }
  if (values.count("baselines") > 0) {
    request.selection.baselines = values["baselines"].as<std::string>();
    reproduce.insert(reproduce.end(), {"--baselines", request.selection.baselines.string()});
  }
  if (!values["profiles"].defaulted()) {
    reproduce.insert(reproduce.end(), {"--profiles", request.selection.profiles.string()});
  }
  request.cases_dir = values["cases"].as<std::string>();
  if (!values["cases"].defaulted()) {
    reproduce.insert(reproduce.end(), {"--cases", request.cases_dir.string()});
  }
  if (values.count("divergences") > 0) {
    request.divergences = values["divergences"].as<std::string>();
    reproduce.insert(reproduce.end(), {"--divergences", request.divergences.string()});
  } else {
    request.divergences = request.cases_dir / "divergences.json";
  }
  if (values.count("output-dir") > 0) {
    request.output_dir = values["output-dir"].as<std::string>();
    reproduce.insert(reproduce.end(), {"--output-dir", request.output_dir.string()});
  } else {
    request.output_dir = self.parent_path() / "conform-output";
  }
  const unsigned timeout = values["timeout"].as<unsigned>();
  if (timeout == 0) throw HarnessError("conform: --timeout must be at least 1 second");
  request.timeout = std::chrono::seconds(timeout);
  request.reproduce_prefix = std::move(reproduce);

  // Check every input before anything runs: a bad file is one line.
  (void)PlanConform(request);

  Interrupt interrupt;
  SignalWatcher watcher(&interrupt);
  ConformReport report;
  try {
    report = Conform(request, interrupt);
  } catch (const HarnessError&) {
    if (!interrupt.stopping()) throw;
  }
  if (interrupt.stopping()) {
    (void)std::fprintf(stderr, "conform: interrupted by signal %d\n", interrupt.signal_number());
    return 128 + interrupt.signal_number();
  }

  std::cout << FormatFailures(report, kMaxDiffLinesShown) << FormatSummary(report) << std::flush;
  auto write_report = [&](const char* option, std::string (*render)(const ConformReport&)) {
    if (values.count(option) == 0) return;
    const fs::path path = values[option].as<std::string>();
    if (path.has_parent_path()) fs::create_directories(path.parent_path());
    WriteFileAtomic(path, render(report));
  };
  write_report("junit", JunitXml);
  write_report("json", JsonReport);
  write_report("html", CommandHtml);
  return report.Count(Outcome::kFail) == 0 ? 0 : 1;
}

}  // namespace instar::harness
