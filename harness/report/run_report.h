// The report of a whole conformance run: the JSON reports that `conform
// --command C --json FILE` wrote, one per command, read back
// (conform/report.h, ParseJsonReport) and put together, and, given the
// combined JSON of a previous run, what changed since (`instar-harness
// report`, see docs/harness.md "One report for the run").
//
//   RunJson    the whole run: totals, the changes (with a previous run),
//              then each command's report object as conform writes it;
//              ParseRunJson reads one back (or a single command's report),
//              as --previous does;
//   RunJunit   one <testsuites> of every command's <testsuite> elements;
//   RunHtml    (report/run_page.h) the page.
//
// A case of the run is named by its output type (which names the command),
// its target (profile or version) and bucket/case; the changes compare the
// failures of two runs by that name:
//   newly failing   fails now, and passed, was skipped or was not run before;
//   newly passing   passes now, and failed before;
//   still failing   fails now and failed before;
//   no longer run   failed before, and is now skipped or not in the run.
// Each list is sorted by output type, target, bucket/case. Every writer is
// deterministic (no times, no paths but those the reports hold).
#ifndef INSTAR_HARNESS_REPORT_RUN_REPORT_H_
#define INSTAR_HARNESS_REPORT_RUN_REPORT_H_

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "harness/conform/report.h"

namespace instar::harness {

// One case of the run, and its outcome in this run and the previous one.
struct CaseChange {
  std::string command;
  std::string output_type;
  std::string target;
  bool is_profile = true;
  std::string bucket;
  std::string name;
  std::optional<Outcome> now;          // absent: not in this run
  std::optional<Outcome> was;          // absent: not in the previous run
  const CaseResult* result = nullptr;  // this run's, when in it

  std::string Id() const { return bucket + "/" + name; }
};

struct RunChanges {
  std::vector<CaseChange> newly_failing;
  std::vector<CaseChange> newly_passing;
  std::vector<CaseChange> still_failing;
  std::vector<CaseChange> no_longer_run;
};

struct RunReport {
  std::vector<ConformReport> commands;  // in the order given, one per command
  std::optional<RunChanges> changes;    // with a previous run

  size_t Count(Outcome outcome) const;
};

// Reads the per-command reports (not a shard's: merge those first; not two
// of one command). Throws HarnessError naming the file.
RunReport LoadRunReport(const std::vector<std::filesystem::path>& reports);

// What RunJson wrote (its commands; the changes it held are not read), or
// one command's report as conform writes it. Throws HarnessError naming
// `origin`.
std::vector<ConformReport> ParseRunJson(std::string_view text, const std::string& origin);

// Sets run.changes against the commands of a previous run. The changes
// point into run.commands, which must not change afterwards.
void CompareWithPrevious(RunReport& run, const std::vector<ConformReport>& previous);

// The line that reruns a case of `report` alone, qemu-img beside instar:
// instar-harness repro <output-type>/<bucket>/<case> --version V [--sandbox S],
// V the target's --compat version, shell-quoted.
std::string ReproLine(const ConformReport& report, const CaseResult& c);

std::string RunJson(const RunReport& run);
std::string RunJunit(const RunReport& run);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_REPORT_RUN_REPORT_H_
