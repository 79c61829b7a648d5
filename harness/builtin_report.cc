// instar-harness report: one page, one JUnit XML and one JSON for a whole
// conformance run, from the JSON reports of its commands (`conform
// --command C --json FILE`, or `merge --json` of a sharded one):
//   report --out DIR [--previous RESULTS.json] C.json...
//       DIR/index.html, DIR/junit.xml, DIR/results.json
//   report [--html F] [--junit F] [--json F] [--previous RESULTS.json] C.json...
// With --previous (the results.json of an earlier run) the page, the JSON
// and the terminal list the newly failing, newly passing and still failing
// cases first. See docs/harness.md, "One report for the run".
//
// Exit status: 0 when the reports are written, whatever the run's outcome
// (conform's own status says that); 1 on bad input.

#include <iostream>

#include "harness/builtins.h"
#include "harness/core/error.h"
#include "harness/core/files.h"
#include "harness/report/run_page.h"
#include "harness/report/run_report.h"

namespace instar::harness {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

void PrintChanges(const char* title, const std::vector<CaseChange>& changes) {
  if (changes.empty()) return;
  std::cout << title << ":\n";
  for (const auto& change : changes) {
    std::cout << "  " << change.output_type << " " << change.target << " " << change.Id() << " ("
              << (change.was ? OutcomeName(*change.was) : "not run") << " -> "
              << (change.now ? OutcomeName(*change.now) : "not run") << ")\n";
  }
}

void Write(const fs::path& path, const std::string& text) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  WriteFileAtomic(path, text);
}

}  // namespace

int RunReportCommand(int argc, char** argv) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "out", po::value<std::string>(), "write DIR/index.html, DIR/junit.xml and DIR/results.json")(
      "html", po::value<std::string>(), "write the page here")("junit", po::value<std::string>(),
                                                               "write the JUnit XML here")(
      "json", po::value<std::string>(), "write the run's JSON here")(
      "previous", po::value<std::string>(),
      "the JSON (results.json) of an earlier run: list what changed since");
  po::options_description hidden;
  hidden.add_options()("input", po::value<std::vector<std::string>>(), "");
  po::positional_options_description positional;
  positional.add("input", -1);
  po::variables_map values;
  const char* usage =
      "instar-harness report --out DIR [--previous RESULTS.json] CONFORM.json...\n"
      "       instar-harness report [--html FILE] [--junit FILE] [--json FILE] "
      "[--previous RESULTS.json] CONFORM.json...";
  if (!ParseOptions("report", usage, argc, argv, options, hidden, positional, values)) return 0;

  const bool files =
      values.count("html") > 0 || values.count("junit") > 0 || values.count("json") > 0;
  if (values.count("out") > 0 && files) {
    throw HarnessError("report: give --out DIR or --html/--junit/--json, not both");
  }
  if (values.count("out") == 0 && !files) {
    throw HarnessError("report: nothing to write: give --out DIR, or --html, --junit, --json");
  }
  std::vector<fs::path> inputs;
  if (values.count("input") > 0) {
    for (const auto& input : values["input"].as<std::vector<std::string>>()) {
      inputs.emplace_back(input);
    }
  }
  if (inputs.empty()) {
    throw HarnessError("report: name the conform reports (conform --command C --json FILE)");
  }

  RunReport run = LoadRunReport(inputs);
  if (values.count("previous") > 0) {
    const fs::path previous = values["previous"].as<std::string>();
    if (!fs::is_regular_file(previous)) {
      throw HarnessError("report: --previous " + previous.string() + ": no such file");
    }
    CompareWithPrevious(run, ParseRunJson(ReadFile(previous), previous.string()));
  }

  fs::path html, junit, json;
  if (values.count("out") > 0) {
    const fs::path out = values["out"].as<std::string>();
    html = out / "index.html";
    junit = out / "junit.xml";
    json = out / "results.json";
  } else {
    if (values.count("html") > 0) html = values["html"].as<std::string>();
    if (values.count("junit") > 0) junit = values["junit"].as<std::string>();
    if (values.count("json") > 0) json = values["json"].as<std::string>();
  }
  if (!html.empty()) Write(html, RunHtml(run));
  if (!junit.empty()) Write(junit, RunJunit(run));
  if (!json.empty()) Write(json, RunJson(run));

  if (run.changes) {
    PrintChanges("newly failing", run.changes->newly_failing);
    PrintChanges("newly passing", run.changes->newly_passing);
    PrintChanges("still failing", run.changes->still_failing);
    PrintChanges("no longer run", run.changes->no_longer_run);
  }
  for (const auto& report : run.commands) {
    std::cout << "report: conform " << report.command << ": " << report.Count(Outcome::kPass)
              << " pass, " << report.Count(Outcome::kFail) << " fail, "
              << report.Count(Outcome::kSkip) << " skip\n";
  }
  const size_t fail = run.Count(Outcome::kFail);
  std::cout << "report: " << (fail == 0 ? "PASS" : "FAIL") << ": " << run.Count(Outcome::kPass)
            << " pass, " << fail << " fail, " << run.Count(Outcome::kSkip) << " skip";
  if (run.changes) {
    std::cout << "; " << run.changes->newly_failing.size() << " newly failing, "
              << run.changes->newly_passing.size() << " newly passing, "
              << run.changes->still_failing.size() << " still failing";
  }
  std::cout << "; wrote";
  for (const fs::path* path : {&html, &junit, &json}) {
    if (!path->empty()) std::cout << " " << path->string();
  }
  std::cout << "\n";
  return 0;
}

}  // namespace instar::harness
