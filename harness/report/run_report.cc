#include "harness/report/run_report.h"

#include <algorithm>
#include <map>
#include <tuple>

#include <boost/json/array.hpp>

#include "harness/conform/instar_argv.h"
#include "harness/core/error.h"
#include "harness/core/files.h"
#include "harness/core/json_writer.h"

namespace instar::harness {

namespace fs = std::filesystem;

namespace {

// A case of the run by name: output type, target, bucket, case.
using CaseName = std::tuple<std::string, std::string, std::string, std::string>;

CaseName NameOf(const CaseResult& c) { return {c.output_type, c.target, c.bucket, c.name}; }

const char* TargetKey(bool is_profile) { return is_profile ? "profile" : "version"; }

bool IsProfileRun(const ConformReport& report) {
  return report.targets.empty() || report.targets.front().is_profile;
}

std::string Attribute(const char* name, std::string_view value) {
  return std::string(" ") + name + "=\"" + EscapeMarkup(value) + "\"";
}

std::string Attribute(const char* name, size_t value) {
  return std::string(" ") + name + "=\"" + std::to_string(value) + "\"";
}

const TargetResult* FindTarget(const ConformReport& report, const CaseResult& c) {
  for (const auto& t : report.targets) {
    if (t.output_type == c.output_type && t.name == c.target) return &t;
  }
  return nullptr;
}

boost::json::array ChangeList(const std::vector<CaseChange>& changes,
                              const std::vector<ConformReport>& commands) {
  boost::json::array list;
  for (const auto& change : changes) {
    boost::json::object item;
    item["command"] = change.command;
    item["output-type"] = change.output_type;
    item[TargetKey(change.is_profile)] = change.target;
    item["bucket"] = change.bucket;
    item["case"] = change.name;
    item["was"] = change.was ? OutcomeName(*change.was) : "not run";
    item["now"] = change.now ? OutcomeName(*change.now) : "not run";
    if (change.result != nullptr && change.now == Outcome::kFail) {
      if (!change.result->reason.empty()) item["reason"] = change.result->reason;
      for (const auto& report : commands) {
        if (report.command == change.command) item["repro"] = ReproLine(report, *change.result);
      }
    }
    list.push_back(std::move(item));
  }
  return list;
}

}  // namespace

size_t RunReport::Count(Outcome outcome) const {
  size_t count = 0;
  for (const auto& report : commands) count += report.Count(outcome);
  return count;
}

RunReport LoadRunReport(const std::vector<fs::path>& reports) {
  RunReport run;
  std::map<std::string, fs::path> seen;  // command -> its file
  for (const auto& path : reports) {
    if (!fs::is_regular_file(path))
      throw HarnessError("report: " + path.string() + ": no such file");
    ConformReport report = ParseJsonReport(ReadFile(path), path.string());
    if (!report.shard.empty()) {
      throw HarnessError("report: " + path.string() + " is the report of shard " + report.shard +
                         " (join the shards' reports with `instar-harness merge --json` first)");
    }
    auto [at, fresh] = seen.emplace(report.command, path);
    if (!fresh) {
      throw HarnessError("report: " + at->second.string() + " and " + path.string() +
                         " are both reports of conform " + report.command +
                         " (one report per command)");
    }
    run.commands.push_back(std::move(report));
  }
  return run;
}

std::vector<ConformReport> ParseRunJson(std::string_view text, const std::string& origin) {
  const boost::json::value document = ParseReportText(text, origin);
  const Entry top(origin, "");
  const auto& root = top.AsObject(document);
  // One command's report, as conform writes it.
  if (root.contains("command")) return {ParseJsonReportValue(document, top)};

  top.CheckKeys(root, {"totals", "commands"}, {"changes"});
  if (root.contains("changes")) (void)top.Object(root, "changes");
  std::vector<ConformReport> commands;
  const auto& list = top.Array(root, "commands");
  for (size_t i = 0; i < list.size(); ++i) {
    const Entry entry = top.Nested("commands[" + std::to_string(i) + "]");
    ConformReport report = ParseJsonReportValue(list[i], entry);
    for (const auto& other : commands) {
      if (other.command == report.command) entry.Fail("a second report of " + report.command);
    }
    commands.push_back(std::move(report));
  }
  size_t counts[3] = {0, 0, 0};
  for (const auto& report : commands) {
    for (Outcome outcome : {Outcome::kPass, Outcome::kFail, Outcome::kSkip}) {
      counts[static_cast<int>(outcome)] += report.Count(outcome);
    }
  }
  const Entry totals_entry = top.Nested("totals");
  const auto& totals = top.Object(root, "totals");
  totals_entry.CheckKeys(totals, {"pass", "fail", "skip"});
  for (Outcome outcome : {Outcome::kPass, Outcome::kFail, Outcome::kSkip}) {
    if (totals_entry.Unsigned(totals, OutcomeName(outcome)) != counts[static_cast<int>(outcome)]) {
      totals_entry.Fail("the totals do not match the cases listed");
    }
  }
  return commands;
}

void CompareWithPrevious(RunReport& run, const std::vector<ConformReport>& previous) {
  std::map<CaseName, Outcome> before;
  std::map<CaseName, std::pair<const ConformReport*, const CaseResult*>> before_cases;
  for (const auto& report : previous) {
    for (const auto& c : report.cases) {
      before[NameOf(c)] = c.outcome;
      before_cases[NameOf(c)] = {&report, &c};
    }
  }
  RunChanges changes;
  std::map<CaseName, char> now_names;
  for (const auto& report : run.commands) {
    for (const auto& c : report.cases) {
      now_names[NameOf(c)] = 1;
      auto it = before.find(NameOf(c));
      const std::optional<Outcome> was =
          it == before.end() ? std::nullopt : std::optional<Outcome>(it->second);
      CaseChange change{
          report.command, c.output_type, c.target, IsProfileRun(report), c.bucket, c.name,
          c.outcome,      was,           &c};
      if (c.outcome == Outcome::kFail) {
        (was == Outcome::kFail ? changes.still_failing : changes.newly_failing).push_back(change);
      } else if (c.outcome == Outcome::kPass && was == Outcome::kFail) {
        changes.newly_passing.push_back(change);
      } else if (was == Outcome::kFail) {
        changes.no_longer_run.push_back(change);
      }
    }
  }
  for (const auto& [name, pair] : before_cases) {
    const auto& [report, c] = pair;
    if (c->outcome != Outcome::kFail || now_names.contains(name)) continue;
    changes.no_longer_run.push_back({report->command, c->output_type, c->target,
                                     IsProfileRun(*report), c->bucket, c->name, std::nullopt,
                                     Outcome::kFail, nullptr});
  }
  for (auto* list : {&changes.newly_failing, &changes.newly_passing, &changes.still_failing,
                     &changes.no_longer_run}) {
    std::stable_sort(list->begin(), list->end(), [](const CaseChange& a, const CaseChange& b) {
      return std::tie(a.output_type, a.target, a.bucket, a.name) <
             std::tie(b.output_type, b.target, b.bucket, b.name);
    });
  }
  run.changes = std::move(changes);
}

std::string ReproLine(const ConformReport& report, const CaseResult& c) {
  const TargetResult* target = FindTarget(report, c);
  std::vector<std::string> words = {"instar-harness", "repro",
                                    c.output_type + "/" + c.bucket + "/" + c.name};
  words.insert(words.end(), {"--version", target != nullptr ? target->compat : c.target});
  if (!report.sandbox.empty()) words.insert(words.end(), {"--sandbox", report.sandbox});
  return ShellCommand(words);
}

std::string RunJson(const RunReport& run) {
  boost::json::object root;
  boost::json::object totals;
  totals["pass"] = run.Count(Outcome::kPass);
  totals["fail"] = run.Count(Outcome::kFail);
  totals["skip"] = run.Count(Outcome::kSkip);
  root["totals"] = std::move(totals);
  if (run.changes) {
    boost::json::object changes;
    changes["newly-failing"] = ChangeList(run.changes->newly_failing, run.commands);
    changes["newly-passing"] = ChangeList(run.changes->newly_passing, run.commands);
    changes["still-failing"] = ChangeList(run.changes->still_failing, run.commands);
    changes["no-longer-run"] = ChangeList(run.changes->no_longer_run, run.commands);
    root["changes"] = std::move(changes);
  }
  boost::json::array commands;
  for (const auto& report : run.commands) commands.push_back(JsonReportObject(report));
  root["commands"] = std::move(commands);
  return WriteJson(root);
}

std::string RunJunit(const RunReport& run) {
  size_t tests = 0;
  for (const auto& report : run.commands) tests += report.cases.size();
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += "<testsuites" + Attribute("name", "instar conformance") + Attribute("tests", tests) +
         Attribute("failures", run.Count(Outcome::kFail)) + Attribute("errors", size_t{0}) +
         Attribute("skipped", run.Count(Outcome::kSkip)) + ">\n";
  for (const auto& report : run.commands) xml += JunitSuites(report);
  xml += "</testsuites>\n";
  return xml;
}

}  // namespace instar::harness
