#include "harness/report/run_page.h"

#include <algorithm>
#include <map>
#include <set>

#include "harness/core/words.h"

namespace instar::harness {

namespace {

// One failing case: where its diff is on the page.
struct Failure {
  const ConformReport* report;
  const CaseResult* result;
  std::string anchor;
};

// The anchors of the failures: "fail-<type>.<target>.<bucket>.<case>" made
// of the characters an id and a URL fragment take as they are, numbered on
// the rare collision that leaves.
class Anchors {
 public:
  const std::string& Of(const CaseResult& c) {
    auto it = by_case_.find(&c);
    if (it != by_case_.end()) return it->second;
    std::string anchor = "fail-";
    for (char ch : c.output_type + "." + c.target + "." + c.bucket + "." + c.name) {
      const bool safe = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                        (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_';
      anchor += safe ? ch : '_';
    }
    std::string unique = anchor;
    for (size_t n = 2; used_.contains(unique); ++n) unique = anchor + "-" + std::to_string(n);
    used_.insert(unique);
    return by_case_.emplace(&c, unique).first->second;
  }

 private:
  std::map<const CaseResult*, std::string> by_case_;
  std::set<std::string> used_;
};

std::string Counts(size_t pass, size_t fail, size_t skip) {
  return std::to_string(pass) + " pass, " + std::to_string(fail) + " fail, " +
         std::to_string(skip) + " skip";
}

std::string Style() {
  std::string css =
      "body { font-family: sans-serif; margin: 1em 2em; color: #222; }\n"
      "table { border-collapse: collapse; margin-bottom: 1.5em; }\n"
      "th, td { border: 1px solid #bbb; padding: 2px 8px; vertical-align: top; }\n"
      "thead th { background: #eee; }\n"
      "tbody th { text-align: left; font-weight: normal; font-family: monospace; }\n"
      "td.count { text-align: right; }\n"
      "tr.failing th:first-child { border-left: 4px solid #c03030; }\n"
      "p.verdict { font-size: 120%; font-weight: bold; padding: 4px 8px; }\n"
      "p.verdict.pass { background: #c8ecc8; }\n"
      "p.verdict.fail { background: #f4b4b4; }\n"
      "td.none { color: #888; text-align: center; }\n"
      "td a { font-weight: bold; }\n"
      "code.repro { display: block; font-size: 75%; white-space: pre-wrap; max-width: 40em; }\n"
      "pre { font-size: 85%; white-space: pre-wrap; max-width: 80em; background: #f8f8f8; "
      "padding: 4px; }\n"
      "section.failure { border-top: 1px solid #bbb; margin-top: 1em; }\n"
      "section.failure:target { background: #fff4e0; }\n";
  for (const auto& colour : kCellColours) {
    css += std::string("td.") + colour.state + " { background: " + colour.background + "; }\n";
  }
  return css;
}

std::string OutcomeText(const std::optional<Outcome>& outcome) {
  return outcome ? OutcomeName(*outcome) : "not run";
}

// A table of changes: the case, its target, was and now, and for a failing
// one the link to its diff and its repro line.
std::string ChangeTable(const std::string& title, const char* id,
                        const std::vector<CaseChange>& changes, const RunReport& run,
                        Anchors& anchors) {
  std::string html = "<h3 id=\"" + std::string(id) + "\">" + title + " (" +
                     std::to_string(changes.size()) + ")</h3>\n";
  if (changes.empty()) return html + "<p>none</p>\n";
  html +=
      "<table class=\"changes\">\n<thead>\n<tr><th>case</th><th>target</th><th>was</th>"
      "<th>now</th><th>repro</th></tr>\n</thead>\n<tbody>\n";
  for (const auto& change : changes) {
    html += "<tr><th>" + EscapeMarkup(change.output_type + "/" + change.Id()) + "</th><td>" +
            EscapeMarkup(change.target) + "</td><td class=\"" +
            (change.was ? OutcomeName(*change.was) : "none") + "\">" + OutcomeText(change.was) +
            "</td>";
    const std::string now_class = change.now ? OutcomeName(*change.now) : "none";
    if (change.result != nullptr && change.now == Outcome::kFail) {
      const ConformReport* report = nullptr;
      for (const auto& r : run.commands) {
        if (r.command == change.command) report = &r;
      }
      html += "<td class=\"fail\"><a href=\"#" + anchors.Of(*change.result) + "\">fail</a></td>";
      html += "<td><code class=\"repro\">" +
              (report != nullptr ? EscapeMarkup(ReproLine(*report, *change.result)) : "") +
              "</code></td>";
    } else {
      html += "<td class=\"" + now_class + "\">" + OutcomeText(change.now) + "</td><td></td>";
    }
    html += "</tr>\n";
  }
  return html + "</tbody>\n</table>\n";
}

std::string Changes(const RunReport& run, Anchors& anchors) {
  const RunChanges& changes = *run.changes;
  std::string html = "<h2 id=\"changes\">Since the previous run</h2>\n<p>" +
                     std::to_string(changes.newly_failing.size()) + " newly failing, " +
                     std::to_string(changes.newly_passing.size()) + " newly passing, " +
                     std::to_string(changes.still_failing.size()) + " still failing, " +
                     std::to_string(changes.no_longer_run.size()) + " no longer run.</p>\n";
  html += ChangeTable("Newly failing", "newly-failing", changes.newly_failing, run, anchors);
  html += ChangeTable("Newly passing", "newly-passing", changes.newly_passing, run, anchors);
  html += ChangeTable("Still failing", "still-failing", changes.still_failing, run, anchors);
  html += ChangeTable("No longer run (failed before; skipped now, or not in this run)",
                      "no-longer-run", changes.no_longer_run, run, anchors);
  return html;
}

// The output types of a report, in target order.
std::vector<std::string> OutputTypes(const ConformReport& report) {
  std::vector<std::string> types;
  for (const auto& t : report.targets) {
    if (!Contains(types, t.output_type)) types.push_back(t.output_type);
  }
  return types;
}

struct TypeCounts {
  size_t pass = 0, fail = 0, skip = 0;
  std::vector<std::string> targets;
};

TypeCounts CountsOf(const ConformReport& report, const std::string& type) {
  TypeCounts counts;
  for (const auto& t : report.targets) {
    if (t.output_type != type) continue;
    counts.pass += t.pass;
    counts.fail += t.fail;
    counts.skip += t.skip;
    counts.targets.push_back(t.name);
  }
  return counts;
}

std::string Summary(const RunReport& run) {
  std::string html =
      "<h2 id=\"summary\">Summary</h2>\n<table class=\"summary\">\n<thead>\n<tr><th>command</th>"
      "<th>output type</th><th>pass</th><th>fail</th><th>skip</th><th>sandbox</th>"
      "<th>targets</th></tr>\n</thead>\n<tbody>\n";
  for (const auto& report : run.commands) {
    for (const auto& type : OutputTypes(report)) {
      const TypeCounts counts = CountsOf(report, type);
      html += std::string("<tr") + (counts.fail > 0 ? " class=\"failing\"" : "") + "><th>" +
              EscapeMarkup(report.command) + "</th><td><a href=\"#grid-" + EscapeMarkup(type) +
              "\">" + EscapeMarkup(type) + "</a></td><td class=\"count\">" +
              std::to_string(counts.pass) + "</td><td class=\"count" +
              (counts.fail > 0 ? " fail" : "") + "\">" + std::to_string(counts.fail) +
              "</td><td class=\"count" + (counts.skip > 0 ? " skip" : "") + "\">" +
              std::to_string(counts.skip) + "</td><td>" +
              EscapeMarkup(report.sandbox.empty() ? "default" : report.sandbox) + "</td><td>" +
              EscapeMarkup(JoinWords(counts.targets, " ")) + "</td></tr>\n";
    }
  }
  return html + "</tbody>\n</table>\n";
}

std::string Grid(const ConformReport& report, const std::string& type, Anchors& anchors) {
  std::vector<const TargetResult*> columns;
  for (const auto& t : report.targets) {
    if (t.output_type == type) columns.push_back(&t);
  }
  std::map<std::string, std::map<std::string, const CaseResult*>> grid;  // id -> target -> case
  for (const auto& c : report.cases) {
    if (c.output_type == type) grid[c.Id()][c.target] = &c;
  }
  // Failures first: the rows with a failing cell, then the others, each
  // sorted by bucket/case.
  std::vector<const std::pair<const std::string, std::map<std::string, const CaseResult*>>*> rows;
  for (const auto& row : grid) rows.push_back(&row);
  std::stable_partition(rows.begin(), rows.end(), [](const auto* row) {
    return std::any_of(row->second.begin(), row->second.end(),
                       [](const auto& cell) { return cell.second->outcome == Outcome::kFail; });
  });

  const TypeCounts counts = CountsOf(report, type);
  std::string html = "<h2 id=\"grid-" + EscapeMarkup(type) + "\">" + EscapeMarkup(type) +
                     "</h2>\n<p>conform " + EscapeMarkup(report.command) + ", sandbox " +
                     EscapeMarkup(report.sandbox.empty() ? "default" : report.sandbox) +
                     ", instar <code>" + EscapeMarkup(report.instar) +
                     "</code>: " + Counts(counts.pass, counts.fail, counts.skip) + ".</p>\n";
  html += "<table class=\"grid\" data-output-type=\"" + EscapeMarkup(type) +
          "\">\n<thead>\n<tr><th>case</th>";
  for (const TargetResult* t : columns) {
    html += "<th>" + EscapeMarkup(t->name) + "<br><small>" +
            EscapeMarkup(JoinWords(t->versions, " ")) + "</small><br><small>" +
            Counts(t->pass, t->fail, t->skip) + "</small></th>";
  }
  html += "</tr>\n</thead>\n<tbody>\n";
  for (const auto* row : rows) {
    html += "<tr><th>" + EscapeMarkup(row->first) + "</th>";
    for (const TargetResult* t : columns) {
      auto it = row->second.find(t->name);
      if (it == row->second.end()) {
        html += "<td class=\"none\">&ndash;</td>";
        continue;
      }
      const CaseResult& c = *it->second;
      switch (c.outcome) {
        case Outcome::kPass:
          html += "<td class=\"pass\">pass</td>";
          break;
        case Outcome::kSkip:
          html += "<td class=\"skip\" title=\"" + EscapeMarkup(c.reason) + "\">skip</td>";
          break;
        case Outcome::kFail:
          html += "<td class=\"fail\"><a href=\"#" + anchors.Of(c) + "\" title=\"" +
                  EscapeMarkup(c.reason) + "\">fail</a><code class=\"repro\">" +
                  EscapeMarkup(ReproLine(report, c)) + "</code></td>";
          break;
      }
    }
    html += "</tr>\n";
  }
  return html + "</tbody>\n</table>\n";
}

std::string FailureSections(const std::vector<Failure>& failures) {
  std::string html =
      "<h2 id=\"failures\">Failures (" + std::to_string(failures.size()) + ")</h2>\n";
  if (failures.empty()) return html + "<p>none</p>\n";
  for (const auto& failure : failures) {
    const CaseResult& c = *failure.result;
    html += "<section class=\"failure\" id=\"" + failure.anchor + "\">\n<h3>" +
            EscapeMarkup(c.output_type + " " + c.target + " " + c.Id()) + "</h3>\n";
    html += "<p>repro (qemu-img and instar side by side): <code>" +
            EscapeMarkup(ReproLine(*failure.report, c)) + "</code></p>\n";
    html += "<pre>" + EscapeMarkup(FailureText(c)) + "</pre>\n</section>\n";
  }
  return html;
}

}  // namespace

std::string RunHtml(const RunReport& run) {
  Anchors anchors;
  const size_t pass = run.Count(Outcome::kPass);
  const size_t fail = run.Count(Outcome::kFail);
  const size_t skip = run.Count(Outcome::kSkip);
  std::vector<std::string> names;
  for (const auto& report : run.commands) names.push_back(report.command);

  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>instar conformance: " +
      std::string(fail == 0 ? "PASS" : "FAIL") + "</title>\n<style>\n" + Style() +
      "</style>\n</head>\n<body>\n<h1>instar conformance</h1>\n";
  html += std::string("<p class=\"verdict ") + (fail == 0 ? "pass\">PASS" : "fail\">FAIL") + ": " +
          Counts(pass, fail, skip) + " (" + EscapeMarkup(JoinWords(names)) + ")</p>\n";
  if (run.changes) html += Changes(run, anchors);
  html += Summary(run);

  // The grids, the output types with failures first.
  std::vector<std::pair<const ConformReport*, std::string>> grids;
  for (const auto& report : run.commands) {
    for (const auto& type : OutputTypes(report)) grids.emplace_back(&report, type);
  }
  std::stable_partition(grids.begin(), grids.end(), [](const auto& grid) {
    return CountsOf(*grid.first, grid.second).fail > 0;
  });
  std::vector<Failure> failures;
  for (const auto& [report, type] : grids) {
    html += Grid(*report, type, anchors);
    for (const auto& c : report->cases) {
      if (c.output_type == type && c.outcome == Outcome::kFail) {
        failures.push_back({report, &c, anchors.Of(c)});
      }
    }
  }
  html += FailureSections(failures);
  html += "</body>\n</html>\n";
  return html;
}

std::string CommandHtml(const ConformReport& report) {
  RunReport run;
  run.commands.push_back(report);
  return RunHtml(run);
}

}  // namespace instar::harness
