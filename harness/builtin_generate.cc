// instar-harness generate: records the baselines of one command for the
// versions of the matrix. See generate/generator.h for how.

#include <cstdio>
#include <thread>

#include "harness/builtins.h"
#include "harness/cases/commands.h"
#include "harness/core/error.h"
#include "harness/core/words.h"
#include "harness/generate/generator.h"

namespace instar::harness {

namespace po = boost::program_options;

int RunGenerate(int argc, char** argv) {
  const std::vector<std::string> commands = CommandNames();
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "command", po::value<std::string>(),
      ("one of " + JoinWords(commands) + " (required)").c_str())(
      "version", po::value<std::vector<std::string>>(),
      "only this version (repeatable; default: every version of the matrix)")(
      "output-type", po::value<std::string>(),
      "only this output type (default: all of the command's)")(
      "jobs,j", po::value<unsigned>(), "parallel workers (default: one per core)")(
      "binaries", po::value<std::string>(), "matrix directory (see `matrix --help`)")(
      "out", po::value<std::string>()->default_value("baselines"), "baseline tree to write")(
      "cases", po::value<std::string>()->default_value("cases"),
      "directory of the case files and of images/")(
      "timeout", po::value<unsigned>()->default_value(60), "seconds allowed to each step")(
      "resume", "skip cases already recorded (meta.json present)")(
      "case", po::value<std::vector<std::string>>(),
      "only cases whose name or bucket/name matches this glob (repeatable)")(
      "shard", po::value<std::string>(),
      "K/N: only the K-th of N parts of the cases, each with every version (`merge` joins "
      "the parts' --out trees)");
  po::variables_map values;
  const std::string usage = "instar-harness generate --command " + JoinWords(commands, "|") +
                            " [--version V]... [--output-type T] [--jobs N] [--binaries DIR] "
                            "[--out DIR] [--timeout S] [--resume] [--case GLOB]... [--shard K/N]";
  if (!ParseOptions("generate", usage.c_str(), argc, argv, options, values)) {
    return 0;
  }
  if (values.count("command") == 0) throw HarnessError("generate: --command is required");

  GenerateRequest request;
  request.command = values["command"].as<std::string>();
  request.cases_dir = values["cases"].as<std::string>();
  request.out_dir = values["out"].as<std::string>();
  if (values.count("output-type") > 0) {
    request.output_types.push_back(values["output-type"].as<std::string>());
  }
  if (values.count("jobs") > 0) {
    request.jobs = values["jobs"].as<unsigned>();
    if (request.jobs == 0) throw HarnessError("generate: --jobs must be at least 1");
  }
  unsigned timeout = values["timeout"].as<unsigned>();
  if (timeout == 0) throw HarnessError("generate: --timeout must be at least 1 second");
  request.timeout = std::chrono::seconds(timeout);
  request.resume = values.count("resume") > 0;
  if (values.count("case") > 0) request.case_globs = values["case"].as<std::vector<std::string>>();
  if (values.count("shard") > 0) {
    try {
      request.shard = ParseShard(values["shard"].as<std::string>());
    } catch (const HarnessError& error) {
      throw HarnessError(std::string("generate: ") + error.what());
    }
  }

  // Check the case file before anything runs: a malformed one is one line.
  (void)PlanRequest(request);

  Interrupt interrupt;
  SignalWatcher watcher(&interrupt);
  GenerateReport report;
  try {
    ChildRunner runner(&interrupt);
    MatrixOptions matrix_options;
    if (values.count("binaries") > 0) {
      matrix_options.binaries = values["binaries"].as<std::string>();
    }
    std::vector<std::string> versions;
    if (values.count("version") > 0) versions = values["version"].as<std::vector<std::string>>();
    request.matrix = SelectVersions(DiscoverMatrix(matrix_options, runner), versions);
    report = Generate(request, interrupt);
  } catch (const HarnessError&) {
    // A child killed by the interrupt looks like a failure to whoever ran
    // it (`--version failed`, `xz -dc failed`); it is the interrupt.
    if (!interrupt.stopping()) throw;
    report.interrupted_by = interrupt.signal_number();
  }
  if (report.interrupted_by != 0 && report.cases == 0) {
    (void)std::fprintf(stderr, "generate: interrupted by signal %d before any case ran\n",
                       report.interrupted_by);
    return 128 + report.interrupted_by;
  }
  (void)std::fputs(FormatSummary(request, report).c_str(), stderr);
  if (report.interrupted_by != 0) {
    (void)std::fprintf(stderr,
                       "generate: interrupted by signal %d; recorded cases are complete, "
                       "--resume continues\n",
                       report.interrupted_by);
    return 128 + report.interrupted_by;
  }
  if (!report.timed_out.empty()) {
    (void)std::fprintf(stderr,
                       "generate: %zu step%s timed out (recorded with \"timed-out\": true)\n",
                       report.timed_out.size(), report.timed_out.size() == 1 ? "" : "s");
    return 1;
  }
  return 0;
}

}  // namespace instar::harness
