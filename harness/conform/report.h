// The results of a conformance run and the forms they are reported in:
//
//   FormatFailures / FormatSummary   the terminal: each failing case with its
//                                    diff and the command that reproduces it,
//                                    then pass/fail/skip per output type and
//                                    profile (or version) and a verdict line;
//   JunitXml     one <testsuite> per output type x profile, one <testcase>
//                per case; a failure carries the reason, the diff and the
//                command; a skip carries its reason;
//   JsonReport   every case with its outcome (the harness's JSON writer);
//                ParseJsonReport reads one back, as `merge` does with the
//                reports of a sharded run's shards;
//
// Every writer is deterministic: no times, and cases in target order, then
// sorted by bucket/case.
#ifndef INSTAR_HARNESS_CONFORM_REPORT_H_
#define INSTAR_HARNESS_CONFORM_REPORT_H_

#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "harness/conform/outcome.h"
#include "harness/core/json_schema.h"

namespace instar::harness {

struct CaseResult {
  std::string output_type;
  std::string target;  // "profile-02", or a version
  std::string bucket;
  std::string name;
  Outcome outcome = Outcome::kPass;
  std::string reason;  // why it failed or was skipped
  std::string diff;    // of stdout, expected (qemu-img) first
  int expected_exit = 0;
  std::optional<int> instar_exit;    // absent when not run
  std::vector<std::string> filters;  // divergence entries that changed either side
  std::string instar_command;        // as run, with placeholders for paths
  std::string reproduce;             // the one command that reruns this case
  std::string instar_stderr;         // kept for failures
  std::string kept;                  // failures: "<dir>/<case>", where .out and .out.bad are

  std::string Id() const { return bucket + "/" + name; }
};

struct TargetResult {
  std::string output_type;
  std::string name;
  std::vector<std::string> versions;
  std::string compat;
  bool is_profile = true;
  size_t pass = 0;
  size_t fail = 0;
  size_t skip = 0;
};

struct ConformReport {
  std::string command;  // measure, info
  std::string sandbox;  // as passed to instar; empty: instar's default
  std::string instar;   // the executable
  std::vector<TargetResult> targets;
  std::vector<CaseResult> cases;   // grouped by target, in target order
  std::string shard;               // "K/N" for a shard's run (JSON "shard"); empty: all cases
  double wall_seconds = 0;         // terminal summary only
  size_t merged_shards = 0;        // joined from this many shards' reports: no wall time
  std::vector<std::string> notes;  // worth a line in the terminal summary

  size_t Count(Outcome outcome) const;
};

// Each failing case: a header line, the instar command, the diff (at most
// `max_diff_lines` lines, then where the rest is) and the reproduce command.
// Then one line per skipped case with its reason.
std::string FormatFailures(const ConformReport& report, size_t max_diff_lines);
// The per output type x target table and the verdict line.
std::string FormatSummary(const ConformReport& report);

std::string JunitXml(const ConformReport& report);
std::string JsonReport(const ConformReport& report);

// The parts the run report (report/run_report.h) puts together from the
// reports of several commands: JunitXml's <testsuite> elements, JsonReport's
// object, and the body of a failure (reason, command, exit codes, diff,
// stderr, reproduce command) as JunitXml and the page show it.
std::string JunitSuites(const ConformReport& report);
boost::json::object JsonReportObject(const ConformReport& report);
std::string FailureText(const CaseResult& c);

// What JsonReport wrote, read back strictly (an unknown or missing key is
// one HarnessError line naming `origin`): everything the writers need but
// the kept paths of failures, which the JSON does not hold. So
// JsonReport(ParseJsonReport(JsonReport(r))) == JsonReport(r), and the same
// for JunitXml and the page (report/run_page.h, CommandHtml).
ConformReport ParseJsonReport(std::string_view text, const std::string& origin);
// The same from a parsed value, errors named by `entry` (the run report's
// "commands[1]"), and the parse itself: a report holds instar's stderr and
// diffs of its stdout as they were, which need not be UTF-8.
ConformReport ParseJsonReportValue(const boost::json::value& value, const Entry& entry);
boost::json::value ParseReportText(std::string_view text, const std::string& origin);

// Text escaped for XML/HTML character data and attribute values; bytes XML
// 1.0 cannot carry (control characters but tab, LF, CR) become "\xNN".
std::string EscapeMarkup(std::string_view text);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CONFORM_REPORT_H_
