#include "harness/conform/report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include "harness/core/error.h"
#include "harness/core/json_schema.h"
#include "harness/core/json_writer.h"
#include "harness/core/words.h"

namespace instar::harness {

namespace {

// "profile" or "version": what a target column is.
const char* TargetKind(const ConformReport& report) {
  bool profiles = report.targets.empty() || report.targets.front().is_profile;
  return profiles ? "profile" : "version";
}

std::string SuiteName(const std::string& output_type, const std::string& target) {
  return output_type + "/" + target;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string Attribute(const char* name, std::string_view value) {
  return std::string(" ") + name + "=\"" + EscapeMarkup(value) + "\"";
}

std::string Attribute(const char* name, size_t value) {
  return std::string(" ") + name + "=\"" + std::to_string(value) + "\"";
}

// An exit status as the report holds it: 0-255.
int ExitStatus(const Entry& entry, const boost::json::object& object, std::string_view key) {
  const uint64_t value = entry.Unsigned(object, key);
  if (value > 255) entry.Fail("\"" + std::string(key) + "\" out of range");
  return static_cast<int>(value);
}

Outcome ParseOutcome(const Entry& entry, const std::string& name) {
  for (Outcome outcome : {Outcome::kPass, Outcome::kFail, Outcome::kSkip}) {
    if (name == OutcomeName(outcome)) return outcome;
  }
  entry.Fail("unknown \"outcome\" \"" + name + "\" (pass, fail or skip)");
}

}  // namespace

std::string FailureText(const CaseResult& c) {
  std::string text = c.reason + "\n";
  if (!c.instar_command.empty()) text += "ran: " + c.instar_command + "\n";
  if (c.instar_exit) {
    text += "exit: instar " + std::to_string(*c.instar_exit) + ", qemu-img " +
            std::to_string(c.expected_exit) + "\n";
  }
  if (!c.diff.empty()) text += "\n" + c.diff;
  if (!c.instar_stderr.empty()) text += "\ninstar's stderr:\n" + c.instar_stderr;
  if (!c.reproduce.empty()) text += "\nreproduce: " + c.reproduce + "\n";
  return text;
}

boost::json::value ParseReportText(std::string_view text, const std::string& origin) {
  boost::json::parse_options options;
  options.allow_invalid_utf8 = true;
  boost::system::error_code ec;
  boost::json::value value =
      boost::json::parse(boost::json::string_view(text.data(), text.size()), ec, {}, options);
  if (ec) throw HarnessError(origin + ": not valid JSON (" + ec.message() + ")");
  return value;
}

size_t ConformReport::Count(Outcome outcome) const {
  return static_cast<size_t>(std::count_if(
      cases.begin(), cases.end(), [&](const CaseResult& c) { return c.outcome == outcome; }));
}

std::string EscapeMarkup(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if ((byte < 0x20 && c != '\t' && c != '\n' && c != '\r') || byte == 0x7f) {
          char hex[8];
          (void)std::snprintf(hex, sizeof(hex), "\\x%02x", byte);
          out += hex;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string FormatFailures(const ConformReport& report, size_t max_diff_lines) {
  std::string text;
  for (const auto& c : report.cases) {
    if (c.outcome != Outcome::kFail) continue;
    text += "FAIL " + c.output_type + " " + c.target + " " + c.Id() + ": " + c.reason + "\n";
    if (!c.instar_command.empty()) text += "  ran: " + c.instar_command + "\n";
    const std::vector<std::string> lines = SplitLines(c.diff);
    for (size_t i = 0; i < lines.size() && i < max_diff_lines; ++i) text += "  " + lines[i] + "\n";
    if (lines.size() > max_diff_lines) {
      text += "  ... " + std::to_string(lines.size() - max_diff_lines) + " more diff lines";
      text += c.kept.empty() ? "\n" : " (compare " + c.kept + ".out and " + c.kept + ".out.bad)\n";
    } else if (!c.kept.empty()) {
      text += "  kept: " + c.kept + ".out, " + c.kept + ".out.bad\n";
    }
    if (!c.reproduce.empty()) text += "  reproduce: " + c.reproduce + "\n";
  }
  for (const auto& c : report.cases) {
    if (c.outcome != Outcome::kSkip) continue;
    text += "skip " + c.output_type + " " + c.target + " " + c.Id() + ": " + c.reason + "\n";
  }
  return text;
}

std::string FormatSummary(const ConformReport& report) {
  std::string text;
  char line[512];
  (void)std::snprintf(line, sizeof(line), "  %-16s %-11s %-8s %5s %5s %5s  %s\n", "output type",
                      TargetKind(report), "compat", "pass", "fail", "skip", "versions");
  text += line;
  for (const auto& t : report.targets) {
    (void)std::snprintf(line, sizeof(line), "  %-16s %-11s %-8s %5zu %5zu %5zu  %s\n",
                        t.output_type.c_str(), t.name.c_str(), t.compat.c_str(), t.pass, t.fail,
                        t.skip, JoinWords(t.versions, " ").c_str());
    text += line;
  }
  for (const auto& note : report.notes) text += "  note: " + note + "\n";
  const size_t pass = report.Count(Outcome::kPass);
  const size_t fail = report.Count(Outcome::kFail);
  const size_t skip = report.Count(Outcome::kSkip);
  char took[64];
  if (report.merged_shards > 0) {
    (void)std::snprintf(took, sizeof(took), "merged from %zu shards", report.merged_shards);
  } else {
    (void)std::snprintf(took, sizeof(took), "%.1f s", report.wall_seconds);
  }
  (void)std::snprintf(line, sizeof(line), "conform %s: %s: %zu pass, %zu fail, %zu skip (%s)\n",
                      report.command.c_str(), fail == 0 ? "PASS" : "FAIL", pass, fail, skip, took);
  text += line;
  return text;
}

std::string JunitXml(const ConformReport& report) {
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += "<testsuites" + Attribute("name", "instar-harness conform " + report.command) +
         Attribute("tests", report.cases.size()) +
         Attribute("failures", report.Count(Outcome::kFail)) + Attribute("errors", size_t{0}) +
         Attribute("skipped", report.Count(Outcome::kSkip)) + ">\n";
  xml += JunitSuites(report);
  xml += "</testsuites>\n";
  return xml;
}

std::string JunitSuites(const ConformReport& report) {
  std::string xml;
  for (const auto& t : report.targets) {
    xml += "  <testsuite" + Attribute("name", SuiteName(t.output_type, t.name)) +
           Attribute("tests", t.pass + t.fail + t.skip) + Attribute("failures", t.fail) +
           Attribute("errors", size_t{0}) + Attribute("skipped", t.skip) + ">\n";
    xml += "    <properties>\n";
    xml += "      <property" + Attribute("name", "compat") + Attribute("value", t.compat) + "/>\n";
    xml += "      <property" + Attribute("name", "versions") +
           Attribute("value", JoinWords(t.versions, " ")) + "/>\n";
    if (!report.sandbox.empty()) {
      xml += "      <property" + Attribute("name", "sandbox") + Attribute("value", report.sandbox) +
             "/>\n";
    }
    xml += "    </properties>\n";
    const std::string classname = "conform." + t.output_type + "." + t.name;
    for (const auto& c : report.cases) {
      if (c.output_type != t.output_type || c.target != t.name) continue;
      xml += "    <testcase" + Attribute("classname", classname) + Attribute("name", c.Id());
      if (c.outcome == Outcome::kPass) {
        xml += "/>\n";
      } else if (c.outcome == Outcome::kSkip) {
        xml += ">\n      <skipped" + Attribute("message", c.reason) + "/>\n    </testcase>\n";
      } else {
        xml += ">\n      <failure" + Attribute("message", c.reason) + Attribute("type", "fail") +
               ">" + EscapeMarkup(FailureText(c)) + "</failure>\n    </testcase>\n";
      }
    }
    xml += "  </testsuite>\n";
  }
  return xml;
}

std::string JsonReport(const ConformReport& report) { return WriteJson(JsonReportObject(report)); }

boost::json::object JsonReportObject(const ConformReport& report) {
  boost::json::object root;
  root["command"] = report.command;
  if (!report.shard.empty()) root["shard"] = report.shard;
  root["sandbox"] = report.sandbox.empty() ? "default" : report.sandbox;
  root["instar"] = report.instar;
  boost::json::object totals;
  totals["pass"] = report.Count(Outcome::kPass);
  totals["fail"] = report.Count(Outcome::kFail);
  totals["skip"] = report.Count(Outcome::kSkip);
  root["totals"] = std::move(totals);
  boost::json::array targets;
  for (const auto& t : report.targets) {
    boost::json::object target;
    target["output-type"] = t.output_type;
    target[TargetKind(report)] = t.name;
    target["compat"] = t.compat;
    boost::json::array versions;
    for (const auto& v : t.versions) versions.emplace_back(v);
    target["versions"] = std::move(versions);
    target["pass"] = t.pass;
    target["fail"] = t.fail;
    target["skip"] = t.skip;
    targets.push_back(std::move(target));
  }
  root["targets"] = std::move(targets);
  boost::json::array cases;
  for (const auto& c : report.cases) {
    boost::json::object item;
    item["output-type"] = c.output_type;
    item[TargetKind(report)] = c.target;
    item["bucket"] = c.bucket;
    item["case"] = c.name;
    item["outcome"] = OutcomeName(c.outcome);
    if (!c.reason.empty()) item["reason"] = c.reason;
    item["expected-exit"] = c.expected_exit;
    if (c.instar_exit) item["instar-exit"] = *c.instar_exit;
    if (!c.filters.empty()) {
      boost::json::array filters;
      for (const auto& f : c.filters) filters.emplace_back(f);
      item["filters"] = std::move(filters);
    }
    if (!c.instar_command.empty()) item["command"] = c.instar_command;
    if (!c.diff.empty()) item["diff"] = c.diff;
    if (c.outcome == Outcome::kFail && !c.instar_stderr.empty()) {
      item["instar-stderr"] = c.instar_stderr;
    }
    if (c.outcome == Outcome::kFail && !c.reproduce.empty()) item["reproduce"] = c.reproduce;
    cases.push_back(std::move(item));
  }
  root["cases"] = std::move(cases);
  return root;
}

ConformReport ParseJsonReport(std::string_view text, const std::string& origin) {
  return ParseJsonReportValue(ParseReportText(text, origin), Entry(origin, ""));
}

ConformReport ParseJsonReportValue(const boost::json::value& document, const Entry& top) {
  const auto& root = top.AsObject(document);
  top.CheckKeys(root, {"command", "sandbox", "instar", "totals", "targets", "cases"}, {"shard"});
  ConformReport report;
  report.command = top.String(root, "command");
  if (root.contains("shard")) report.shard = top.String(root, "shard");
  report.sandbox = top.String(root, "sandbox");
  if (report.sandbox == "default") report.sandbox.clear();
  report.instar = top.String(root, "instar");

  // What a target column is: the writer names it after the first target.
  const auto& targets = top.Array(root, "targets");
  std::string_view kind = "profile";
  if (!targets.empty() && targets[0].is_object() && targets[0].get_object().contains("version")) {
    kind = "version";
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    const Entry entry = top.Nested("targets[" + std::to_string(i) + "]");
    const auto& object = entry.AsObject(targets[i]);
    entry.CheckKeys(object, {"output-type", kind, "compat", "versions", "pass", "fail", "skip"});
    TargetResult target;
    target.output_type = entry.String(object, "output-type");
    target.name = entry.String(object, kind);
    target.compat = entry.String(object, "compat");
    target.versions = entry.StringArray(object, "versions");
    target.is_profile = kind == "profile";
    target.pass = entry.Unsigned(object, "pass");
    target.fail = entry.Unsigned(object, "fail");
    target.skip = entry.Unsigned(object, "skip");
    for (const auto& other : report.targets) {
      if (other.output_type == target.output_type && other.name == target.name) {
        entry.Fail("a second target " + target.output_type + " " + target.name);
      }
    }
    report.targets.push_back(std::move(target));
  }

  const auto& cases = top.Array(root, "cases");
  std::vector<TargetResult> counted = report.targets;
  for (auto& target : counted) target.pass = target.fail = target.skip = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Entry entry = top.Nested("cases[" + std::to_string(i) + "]");
    const auto& object = entry.AsObject(cases[i]);
    entry.CheckKeys(
        object, {"output-type", kind, "bucket", "case", "outcome", "expected-exit"},
        {"reason", "instar-exit", "filters", "command", "diff", "instar-stderr", "reproduce"});
    CaseResult c;
    c.output_type = entry.String(object, "output-type");
    c.target = entry.String(object, kind);
    c.bucket = entry.String(object, "bucket");
    c.name = entry.String(object, "case");
    c.outcome = ParseOutcome(entry, entry.String(object, "outcome"));
    if (object.contains("reason")) c.reason = entry.String(object, "reason");
    c.expected_exit = ExitStatus(entry, object, "expected-exit");
    if (object.contains("instar-exit")) c.instar_exit = ExitStatus(entry, object, "instar-exit");
    if (object.contains("filters")) c.filters = entry.StringArray(object, "filters");
    if (object.contains("command")) c.instar_command = entry.String(object, "command");
    if (object.contains("diff")) c.diff = entry.String(object, "diff");
    if (object.contains("instar-stderr")) c.instar_stderr = entry.String(object, "instar-stderr");
    if (object.contains("reproduce")) c.reproduce = entry.String(object, "reproduce");
    auto target = std::find_if(counted.begin(), counted.end(), [&](const TargetResult& t) {
      return t.output_type == c.output_type && t.name == c.target;
    });
    if (target == counted.end()) entry.Fail("no target " + c.output_type + " " + c.target);
    ++(c.outcome == Outcome::kPass   ? target->pass
       : c.outcome == Outcome::kFail ? target->fail
                                     : target->skip);
    report.cases.push_back(std::move(c));
  }

  // The counts must be those of the cases: a report cut short or edited
  // by hand is not merged into a wrong total.
  for (size_t i = 0; i < counted.size(); ++i) {
    const TargetResult& said = report.targets[i];
    const TargetResult& found = counted[i];
    if (said.pass != found.pass || said.fail != found.fail || said.skip != found.skip) {
      top.Nested("targets[" + std::to_string(i) + "]")
          .Fail("the counts do not match the cases listed");
    }
  }
  const Entry totals_entry = top.Nested("totals");
  const auto& totals = top.Object(root, "totals");
  totals_entry.CheckKeys(totals, {"pass", "fail", "skip"});
  if (totals_entry.Unsigned(totals, "pass") != report.Count(Outcome::kPass) ||
      totals_entry.Unsigned(totals, "fail") != report.Count(Outcome::kFail) ||
      totals_entry.Unsigned(totals, "skip") != report.Count(Outcome::kSkip)) {
    totals_entry.Fail("the totals do not match the cases listed");
  }
  return report;
}

}  // namespace instar::harness
