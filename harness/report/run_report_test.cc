#include "harness/report/run_report.h"

#include <gtest/gtest.h>

#include "harness/report/run_page.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

using testing::ErrorOf;
using testing::TempDir;
using testing::WriteText;

CaseResult Case(const std::string& type, const std::string& target, const std::string& bucket,
                const std::string& name, Outcome outcome) {
  CaseResult c;
  c.output_type = type;
  c.target = target;
  c.bucket = bucket;
  c.name = name;
  c.outcome = outcome;
  c.instar_exit = 0;
  if (outcome == Outcome::kFail) {
    c.reason = "stdout differs";
    c.diff = "--- qemu-img\n+++ instar\n@@ -1 +1 @@\n-a\n+b\n";
  } else if (outcome == Outcome::kSkip) {
    c.reason = "not yet (divergence x)";
  }
  return c;
}

// One command's report over one profile of info-human, the cases given,
// with counts made from them.
ConformReport Report(const std::string& command, const std::string& type,
                     std::vector<CaseResult> cases) {
  ConformReport report;
  report.command = command;
  report.sandbox = "process";
  report.instar = "/build/vmm/instar";
  TargetResult target{type, "profile-01", {"5.2.0", "6.2.0"}, "5.2.0", true, 0, 0, 0};
  for (auto& c : cases) {
    c.output_type = type;
    c.target = "profile-01";
    ++(c.outcome == Outcome::kPass   ? target.pass
       : c.outcome == Outcome::kFail ? target.fail
                                     : target.skip);
  }
  report.targets = {target};
  report.cases = std::move(cases);
  return report;
}

std::vector<std::string> Names(const std::vector<CaseChange>& changes) {
  std::vector<std::string> names;
  for (const auto& change : changes) names.push_back(change.Id());
  return names;
}

TEST(RunReportTest, ChangesSinceThePreviousRun) {
  const ConformReport before = Report(
      "info", "info-human",
      {Case("", "", "qcow2", "a", Outcome::kPass), Case("", "", "qcow2", "b", Outcome::kFail),
       Case("", "", "qcow2", "c", Outcome::kFail), Case("", "", "qcow2", "d", Outcome::kFail),
       Case("", "", "qcow2", "e", Outcome::kSkip), Case("", "", "qcow2", "g", Outcome::kFail)});
  RunReport run;
  run.commands = {Report(
      "info", "info-human",
      {Case("", "", "qcow2", "a", Outcome::kFail), Case("", "", "qcow2", "b", Outcome::kPass),
       Case("", "", "qcow2", "c", Outcome::kFail), Case("", "", "qcow2", "e", Outcome::kFail),
       Case("", "", "qcow2", "f", Outcome::kFail), Case("", "", "qcow2", "g", Outcome::kSkip)})};
  CompareWithPrevious(run, {before});
  ASSERT_TRUE(run.changes);
  EXPECT_EQ(Names(run.changes->newly_failing),
            (std::vector<std::string>{"qcow2/a", "qcow2/e", "qcow2/f"}));
  EXPECT_EQ(Names(run.changes->newly_passing), std::vector<std::string>{"qcow2/b"});
  EXPECT_EQ(Names(run.changes->still_failing), std::vector<std::string>{"qcow2/c"});
  EXPECT_EQ(Names(run.changes->no_longer_run), (std::vector<std::string>{"qcow2/d", "qcow2/g"}));
  EXPECT_EQ(run.changes->newly_failing[1].was, Outcome::kSkip);
  EXPECT_FALSE(run.changes->newly_failing[2].was);
  EXPECT_FALSE(run.changes->no_longer_run[0].now);

  // The JSON lists them first, newly failing first, with the repro line.
  const std::string json = RunJson(run);
  const size_t changes = json.find("\"changes\"");
  const size_t newly_failing = json.find("\"newly-failing\"");
  const size_t newly_passing = json.find("\"newly-passing\"");
  const size_t still_failing = json.find("\"still-failing\"");
  const size_t commands = json.find("\"commands\"");
  EXPECT_LT(changes, newly_failing);
  EXPECT_LT(newly_failing, newly_passing);
  EXPECT_LT(newly_passing, still_failing);
  EXPECT_LT(still_failing, commands);
  EXPECT_NE(json.find("\"repro\": \"instar-harness repro info-human/qcow2/a --version 5.2.0 "
                      "--sandbox process\""),
            std::string::npos)
      << json;

  // So does the page, before the summary and the grids.
  const std::string html = RunHtml(run);
  EXPECT_LT(html.find("id=\"newly-failing\""), html.find("id=\"newly-passing\""));
  EXPECT_LT(html.find("id=\"newly-passing\""), html.find("id=\"still-failing\""));
  EXPECT_LT(html.find("id=\"still-failing\""), html.find("id=\"summary\""));
}

TEST(RunReportTest, JsonReadsBack) {
  RunReport run;
  run.commands = {Report("info", "info-human",
                         {Case("", "", "qcow2", "a", Outcome::kPass),
                          Case("", "", "qcow2", "b", Outcome::kFail)}),
                  Report("measure", "measure-json", {Case("", "", "_size", "1M", Outcome::kSkip)})};
  const std::vector<ConformReport> read = ParseRunJson(RunJson(run), "results.json");
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(JsonReport(read[0]), JsonReport(run.commands[0]));
  EXPECT_EQ(JsonReport(read[1]), JsonReport(run.commands[1]));
  // One command's report is a run of one command.
  const std::vector<ConformReport> one = ParseRunJson(JsonReport(run.commands[1]), "measure.json");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(JsonReport(one[0]), JsonReport(run.commands[1]));

  std::string edited = RunJson(run);
  edited.replace(edited.find("\"fail\": 1"), 9, "\"fail\": 2");
  EXPECT_EQ(ErrorOf([&] { ParseRunJson(edited, "r.json"); }),
            "r.json: totals: the totals do not match the cases listed");
  edited = RunJson(run);
  edited.replace(edited.find("\"case\": \"b\""), 11, "\"case\": \"\"");
  EXPECT_EQ(ErrorOf([&] { ParseRunJson(edited, "r.json"); }),
            "r.json: commands[0] cases[1]: \"case\" must not be empty");
}

TEST(RunReportTest, LoadRefusesShardsAndTwoReportsOfOneCommand) {
  TempDir dir;
  ConformReport report = Report("info", "info-human", {Case("", "", "qcow2", "a", Outcome::kPass)});
  WriteText(dir.path() / "a.json", JsonReport(report));
  WriteText(dir.path() / "b.json", JsonReport(report));
  report.shard = "1/2";
  WriteText(dir.path() / "s.json", JsonReport(report));
  const std::string a = (dir.path() / "a.json").string();
  const std::string b = (dir.path() / "b.json").string();
  const std::string s = (dir.path() / "s.json").string();
  EXPECT_EQ(
      ErrorOf([&] {
        LoadRunReport({a, b});
      }),
      "report: " + a + " and " + b + " are both reports of conform info (one report per command)");
  EXPECT_EQ(ErrorOf([&] { LoadRunReport({s}); }),
            "report: " + s +
                " is the report of shard 1/2 (join the shards' reports with `instar-harness "
                "merge --json` first)");
  EXPECT_EQ(ErrorOf([&] { LoadRunReport({a + ".none"}); }), "report: " + a + ".none: no such file");
  EXPECT_EQ(LoadRunReport({a}).commands.size(), 1u);
}

TEST(RunReportTest, ReproLineIsRepros) {
  ConformReport report =
      Report("info", "info-human", {Case("", "", "qcow2", "a b", Outcome::kFail)});
  EXPECT_EQ(ReproLine(report, report.cases[0]),
            "instar-harness repro 'info-human/qcow2/a b' --version 5.2.0 --sandbox process");
  report.sandbox.clear();
  EXPECT_EQ(ReproLine(report, report.cases[0]),
            "instar-harness repro 'info-human/qcow2/a b' --version 5.2.0");
}

TEST(RunReportTest, PageGridPutsFailuresFirstAndLinksThemToTheirDiffs) {
  RunReport run;
  run.commands = {Report("measure", "measure-json", {Case("", "", "_size", "1M", Outcome::kPass)}),
                  Report("info", "info-human",
                         {Case("", "", "qcow2", "a", Outcome::kPass),
                          Case("", "", "qcow2", "b", Outcome::kSkip),
                          Case("", "", "qcow2", "c", Outcome::kFail)})};
  const std::string html = RunHtml(run);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);
  // The summary: a row per command and output type.
  EXPECT_NE(html.find("<tr class=\"failing\"><th>info</th><td><a href=\"#grid-info-human\">"
                      "info-human</a></td><td class=\"count\">1</td><td class=\"count fail\">1"
                      "</td><td class=\"count skip\">1</td>"),
            std::string::npos)
      << html;
  // The failing row first; its cell links to the section holding the diff.
  EXPECT_LT(html.find("<tr><th>qcow2/c</th>"), html.find("<tr><th>qcow2/a</th>"));
  EXPECT_NE(html.find("<td class=\"fail\"><a href=\"#fail-info-human.profile-01.qcow2.c\" "
                      "title=\"stdout differs\">fail</a><code class=\"repro\">instar-harness repro "
                      "info-human/qcow2/c --version 5.2.0 --sandbox process</code></td>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<section class=\"failure\" id=\"fail-info-human.profile-01.qcow2.c\">"),
            std::string::npos);
  EXPECT_NE(html.find("-a\n+b\n"), std::string::npos);
  // The grid with a failure before the one without.
  EXPECT_LT(html.find("<h2 id=\"grid-info-human\">"), html.find("<h2 id=\"grid-measure-json\">"));
}

}  // namespace
}  // namespace instar::harness
