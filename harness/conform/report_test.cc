#include "harness/conform/report.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "harness/report/run_page.h"

namespace instar::harness {
namespace {

// A small report: two profiles of info-human, a pass, a fail and a skip.
ConformReport SampleReport() {
  ConformReport report;
  report.command = "info";
  report.sandbox = "process";
  report.instar = "/build/vmm/instar";
  report.targets = {{"info-human", "profile-01", {"5.2.0"}, "5.2.0", true, 1, 1, 0},
                    {"info-human", "profile-02", {"7.2.18", "7.2.22"}, "7.2.18", true, 0, 0, 1}};
  CaseResult pass;
  pass.output_type = "info-human";
  pass.target = "profile-01";
  pass.bucket = "qcow2";
  pass.name = "qcow2-v2";
  pass.instar_exit = 0;
  pass.filters = {"host-disk-size"};
  pass.instar_command = "instar --compat 5.2.0 info $TESTDATA_ROOT/qcow2-v2.qcow2";
  CaseResult fail = pass;
  fail.name = "qcow2-v3-64k";
  fail.outcome = Outcome::kFail;
  fail.reason = "stdout differs";
  fail.diff = "--- qemu-img\n+++ instar\n@@ -1 +1 @@\n-a <b> & \"c\"\n+a\x01\n";
  fail.instar_command = "instar --compat 5.2.0 info $TESTDATA_ROOT/qcow2-v3-64k.qcow2";
  fail.reproduce = "instar-harness conform --command info --case qcow2/qcow2-v3-64k";
  fail.kept = "/out/info-human/profile-01/qcow2/qcow2-v3-64k";
  CaseResult skip;
  skip.output_type = "info-human";
  skip.target = "profile-02";
  skip.bucket = "vmdk";
  skip.name = "vmdk-flat";
  skip.outcome = Outcome::kSkip;
  skip.reason = "not yet (divergence x)";
  report.cases = {pass, fail, skip};
  return report;
}

TEST(ReportTest, EscapeMarkup) {
  EXPECT_EQ(EscapeMarkup("a<b>&\"c\"'d'\t\n\x01\x7f"),
            "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;\t\n\\x01\\x7f");
}

TEST(ReportTest, JunitHasOneSuitePerTargetAndOneCasePerCase) {
  const std::string xml = JunitXml(SampleReport());
  EXPECT_EQ(
      xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"instar-harness "
                "conform info\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\">\n",
                0),
      0u)
      << xml;
  EXPECT_NE(xml.find("  <testsuite name=\"info-human/profile-01\" tests=\"2\" failures=\"1\" "
                     "errors=\"0\" skipped=\"0\">\n"),
            std::string::npos);
  EXPECT_NE(xml.find("  <testsuite name=\"info-human/profile-02\" tests=\"1\" failures=\"0\" "
                     "errors=\"0\" skipped=\"1\">\n"),
            std::string::npos);
  EXPECT_NE(xml.find("      <property name=\"versions\" value=\"7.2.18 7.2.22\"/>\n"),
            std::string::npos);
  EXPECT_NE(xml.find("    <testcase classname=\"conform.info-human.profile-01\" "
                     "name=\"qcow2/qcow2-v2\"/>\n"),
            std::string::npos);
  EXPECT_NE(xml.find("<failure message=\"stdout differs\" type=\"fail\">stdout differs\nran: "
                     "instar --compat 5.2.0 info $TESTDATA_ROOT/qcow2-v3-64k.qcow2\n"
                     "exit: instar 0, qemu-img 0\n\n--- qemu-img\n+++ instar\n@@ -1 +1 @@\n"
                     "-a &lt;b&gt; &amp; &quot;c&quot;\n+a\\x01\n\nreproduce: instar-harness "
                     "conform --command info --case qcow2/qcow2-v3-64k\n</failure>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<skipped message=\"not yet (divergence x)\"/>"), std::string::npos);
  EXPECT_EQ(xml.substr(xml.size() - 14), "</testsuites>\n");
}

TEST(ReportTest, JsonListsEveryCaseWithItsOutcome) {
  const boost::json::value json = boost::json::parse(JsonReport(SampleReport()));
  EXPECT_EQ(json.at("command").as_string(), "info");
  EXPECT_EQ(json.at("totals").at("fail").as_int64(), 1);
  const auto& cases = json.at("cases").as_array();
  ASSERT_EQ(cases.size(), 3u);
  EXPECT_EQ(cases[0].at("outcome").as_string(), "pass");
  EXPECT_EQ(cases[0].at("profile").as_string(), "profile-01");
  EXPECT_EQ(cases[0].at("filters").as_array().at(0).as_string(), "host-disk-size");
  EXPECT_EQ(cases[1].at("outcome").as_string(), "fail");
  EXPECT_EQ(cases[1].at("reproduce").as_string(),
            "instar-harness conform --command info --case qcow2/qcow2-v3-64k");
  EXPECT_NE(cases[1].at("diff").as_string().find("+a\x01"), boost::json::string::npos);
  EXPECT_EQ(cases[2].at("outcome").as_string(), "skip");
  EXPECT_EQ(cases[2].at("reason").as_string(), "not yet (divergence x)");
  EXPECT_FALSE(cases[2].as_object().contains("instar-exit"));
  EXPECT_EQ(json.at("targets").as_array().at(1).at("versions").as_array().size(), 2u);
}

// conform --html is the run's page (report/run_page.h, tested there) of
// the one command.
TEST(ReportTest, HtmlIsAGridOfCasesByProfileWithoutScript) {
  const std::string html = CommandHtml(SampleReport());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n", 0), 0u);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("<h2 id=\"grid-info-human\">info-human</h2>"), std::string::npos);
  EXPECT_NE(html.find("<th>profile-01<br><small>5.2.0</small><br><small>1 pass, 1 fail, 0 "
                      "skip</small></th>"),
            std::string::npos);
  // Each case is a row; a case a profile does not have is a dash.
  EXPECT_NE(html.find("<tr><th>qcow2/qcow2-v2</th><td class=\"pass\">pass</td><td "
                      "class=\"none\">&ndash;</td></tr>"),
            std::string::npos);
  EXPECT_NE(
      html.find("<td class=\"fail\"><a href=\"#fail-info-human.profile-01.qcow2.qcow2-v3-64k\""),
      std::string::npos);
  EXPECT_NE(html.find("<pre>stdout differs\n"), std::string::npos);
  EXPECT_NE(html.find("-a &lt;b&gt; &amp; &quot;c&quot;"), std::string::npos);
  EXPECT_NE(html.find("<tr><th>vmdk/vmdk-flat</th><td class=\"none\">&ndash;</td><td "
                      "class=\"skip\" title=\"not yet (divergence x)\">skip</td></tr>"),
            std::string::npos);
}

TEST(ReportTest, TerminalSummaryAndFailures) {
  ConformReport report = SampleReport();
  report.wall_seconds = 1.3;
  EXPECT_EQ(FormatSummary(report),
            "  output type      profile     compat    pass  fail  skip  versions\n"
            "  info-human       profile-01  5.2.0        1     1     0  5.2.0\n"
            "  info-human       profile-02  7.2.18       0     0     1  7.2.18 7.2.22\n"
            "conform info: FAIL: 1 pass, 1 fail, 1 skip (1.3 s)\n");
  EXPECT_EQ(FormatFailures(report, 2),
            "FAIL info-human profile-01 qcow2/qcow2-v3-64k: stdout differs\n"
            "  ran: instar --compat 5.2.0 info $TESTDATA_ROOT/qcow2-v3-64k.qcow2\n"
            "  --- qemu-img\n"
            "  +++ instar\n"
            "  ... 3 more diff lines (compare /out/info-human/profile-01/qcow2/qcow2-v3-64k.out "
            "and /out/info-human/profile-01/qcow2/qcow2-v3-64k.out.bad)\n"
            "  reproduce: instar-harness conform --command info --case qcow2/qcow2-v3-64k\n"
            "skip info-human profile-02 vmdk/vmdk-flat: not yet (divergence x)\n");
}

// What `merge` reads: the JSON report back, with everything the writers
// need, so each writer gives the same bytes from the copy.
TEST(ReportTest, JsonReadsBackToTheSameReports) {
  ConformReport report = SampleReport();
  report.cases[1].instar_stderr = "qemu-img: bad \xff byte\n";  // not UTF-8
  report.cases[1].instar_exit = 1;
  report.cases[1].expected_exit = 0;
  for (const std::string& shard : {std::string(), std::string("2/3")}) {
    report.shard = shard;
    const std::string json = JsonReport(report);
    EXPECT_EQ(json.find("\n  \"shard\": \"2/3\",\n") != std::string::npos, !shard.empty()) << json;
    const ConformReport back = ParseJsonReport(json, "r.json");
    EXPECT_EQ(back.shard, shard);
    EXPECT_EQ(JsonReport(back), json);
    EXPECT_EQ(JunitXml(back), JunitXml(report));
    EXPECT_EQ(CommandHtml(back), CommandHtml(report));
    ASSERT_EQ(back.cases.size(), 3u);
    EXPECT_EQ(back.cases[1].instar_stderr, report.cases[1].instar_stderr);
    EXPECT_EQ(back.cases[1].kept, "");  // not in the JSON
  }
  // A grid of versions (conform --baselines) names its columns so.
  report.shard.clear();
  for (auto& target : report.targets) target.is_profile = false;
  const std::string json = JsonReport(report);
  ASSERT_NE(json.find("\"version\": \"profile-01\""), std::string::npos);
  EXPECT_EQ(JsonReport(ParseJsonReport(json, "r.json")), json);
  EXPECT_FALSE(ParseJsonReport(json, "r.json").targets[0].is_profile);
}

TEST(ReportTest, JsonReadingIsStrict) {
  const std::string json = JsonReport(SampleReport());
  auto error_of = [](const std::string& text) {
    try {
      (void)ParseJsonReport(text, "r.json");
    } catch (const std::exception& error) {
      return std::string(error.what());
    }
    return std::string("(no error)");
  };
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string text = json;
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  EXPECT_EQ(error_of(replaced("\"sandbox\"", "\"sandbxo\"")), "r.json: unknown key \"sandbxo\"");
  EXPECT_EQ(error_of(replaced("\"outcome\": \"skip\"", "\"outcome\": \"maybe\"")),
            "r.json: cases[2]: unknown \"outcome\" \"maybe\" (pass, fail or skip)");
  EXPECT_EQ(
      error_of(replaced("\"pass\": 1,\n      \"fail\": 1", "\"pass\": 2,\n      \"fail\": 1")),
      "r.json: targets[0]: the counts do not match the cases listed");
  EXPECT_EQ(error_of(replaced("\"skip\": 1\n  },", "\"skip\": 0\n  },")),
            "r.json: totals: the totals do not match the cases listed");
  EXPECT_EQ(error_of(json.substr(0, 40)).rfind("r.json: not valid JSON (", 0), 0u);
}

TEST(ReportTest, MergedSummarySaysSoInsteadOfATime) {
  ConformReport report = SampleReport();
  report.merged_shards = 4;
  const std::string summary = FormatSummary(report);
  EXPECT_NE(summary.find("\nconform info: FAIL: 1 pass, 1 fail, 1 skip (merged from 4 shards)\n"),
            std::string::npos)
      << summary;
}

}  // namespace
}  // namespace instar::harness
