// instar-harness report as a user runs it, over the reports of real conform
// runs of the real instar against copies of the committed measure profiles
// (one of them doctored to make a case fail): bad input is one line;
// --previous lists a case made to fail as newly failing, and as newly
// passing once it passes again; and the page, rendered by headless
// Chromium, shows a grid of as many cells of each state as the run had, in
// the colours of their state (run_page.h, kCellColours).

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <map>
#include <regex>

#include "harness/report/run_page.h"
#include "harness/run/child.h"
#include "harness/testing/required_tools.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

namespace fs = std::filesystem;
using testing::kSourceRoot;
using testing::ReadText;
using testing::TempDir;
using testing::WriteText;

const fs::path kHarness = INSTAR_HARNESS_BINARY;

ChildResult Harness(const std::vector<std::string>& arguments) {
  ChildRunner runner;
  return runner.Run({kHarness, arguments, MinimalEnvironment(), std::chrono::seconds(120)});
}

// A copy of the committed measure profiles, and a conform run of the real
// instar over its 1M size cases (2 cases x 3 profiles of measure-human, x 2
// of measure-json) with the divergence file `divergences`.
class MeasureRun {
 public:
  explicit MeasureRun(const fs::path& dir) : dir_(dir) {
    for (const char* type : {"measure-human", "measure-json"}) {
      fs::create_directories(dir / "profiles");
      fs::copy(kSourceRoot / "profiles" / type, dir / "profiles" / type,
               fs::copy_options::recursive);
    }
  }

  // qemu-img 7.2.18 printed "required size: 1048576" for `measure --size 1M
  // -O raw` (profile-02 of measure-human); the copy claims one byte more,
  // or again what qemu-img printed.
  void Doctor(bool doctored) {
    const fs::path path = dir_ / "profiles/measure-human/profile-02/_size/1M-raw.stdout.txt";
    std::string text = ReadText(path);
    const std::string from = doctored ? "required size: 1048576\n" : "required size: 1048577\n";
    ASSERT_EQ(text.rfind(from, 0), 0u) << text;
    text.replace(0, from.size() - 1,
                 doctored ? "required size: 1048577" : "required size: 1048576");
    WriteText(path, text);
  }

  // Runs conform, its JSON report to `json`; returns conform's exit status.
  int Conform(const fs::path& json,
              const fs::path& divergences = kSourceRoot / "cases" / "divergences.json") {
    const ChildResult result = Harness({"conform",
                                        "--command",
                                        "measure",
                                        "--case",
                                        "_size/1M-*",
                                        "--sandbox",
                                        "process",
                                        "--profiles",
                                        (dir_ / "profiles").string(),
                                        "--cases",
                                        (kSourceRoot / "cases").string(),
                                        "--divergences",
                                        divergences.string(),
                                        "--instar",
                                        INSTAR_BINARY_PATH,
                                        "--output-dir",
                                        (dir_ / "kept").string(),
                                        "--jobs",
                                        "2",
                                        "--json",
                                        json.string()});
    EXPECT_TRUE(result.exit_code == 0 || result.exit_code == 1) << result.out << result.err;
    return result.exit_code;
  }

 private:
  fs::path dir_;
};

TEST(ReportCliTest, BadInputIsOneLine) {
  TempDir dir;
  ChildResult result = Harness({"report", "--out", dir.path().string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err,
            "instar-harness: report: name the conform reports (conform --command C --json FILE)\n");
  result = Harness({"report", "x.json"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err,
            "instar-harness: report: nothing to write: give --out DIR, or --html, --junit, "
            "--json\n");
  result = Harness({"report", "--out", "d", "--html", "f", "x.json"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err,
            "instar-harness: report: give --out DIR or --html/--junit/--json, not both\n");
  WriteText(dir.path() / "bad.json", "{\"command\": \"info\"}");
  const std::string bad = (dir.path() / "bad.json").string();
  result = Harness({"report", "--out", (dir.path() / "out").string(), bad});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "instar-harness: " + bad + ": missing field \"sandbox\"\n");
  EXPECT_FALSE(fs::exists(dir.path() / "out"));
}

TEST(ReportCliTest, PreviousListsACaseMadeToFailAsNewlyFailing) {
  TempDir dir;
  MeasureRun run(dir.path());
  ASSERT_EQ(run.Conform(dir.path() / "1/measure.json"), 0);
  ChildResult result = Harness(
      {"report", "--out", (dir.path() / "1").string(), (dir.path() / "1/measure.json").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("report: PASS: 10 pass, 0 fail, 0 skip; wrote "), std::string::npos)
      << result.out;

  run.Doctor(true);
  ASSERT_EQ(run.Conform(dir.path() / "2/measure.json"), 1);
  result =
      Harness({"report", "--out", (dir.path() / "2").string(), "--previous",
               (dir.path() / "1/results.json").string(), (dir.path() / "2/measure.json").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out.rfind("newly failing:\n  measure-human profile-02 _size/1M-raw (pass -> "
                             "fail)\nreport: conform measure: 9 pass, 1 fail, 0 skip\n"
                             "report: FAIL: 9 pass, 1 fail, 0 skip; 1 newly failing, 0 newly "
                             "passing, 0 still failing; wrote ",
                             0),
            0u)
      << result.out;
  const boost::json::value json = boost::json::parse(ReadText(dir.path() / "2/results.json"));
  const auto& changes = json.at("changes");
  ASSERT_EQ(changes.at("newly-failing").as_array().size(), 1u);
  const auto& failing = changes.at("newly-failing").at(0);
  EXPECT_EQ(failing.at("output-type"), "measure-human");
  EXPECT_EQ(failing.at("profile"), "profile-02");
  EXPECT_EQ(failing.at("case"), "1M-raw");
  EXPECT_EQ(failing.at("was"), "pass");
  EXPECT_EQ(failing.at("repro"),
            "instar-harness repro measure-human/_size/1M-raw --version 7.2.18 --sandbox process");
  EXPECT_TRUE(changes.at("newly-passing").as_array().empty());
  EXPECT_TRUE(changes.at("still-failing").as_array().empty());
  const std::string page = ReadText(dir.path() / "2/index.html");
  const size_t newly = page.find("<h3 id=\"newly-failing\">Newly failing (1)</h3>");
  ASSERT_NE(newly, std::string::npos) << page;
  EXPECT_NE(page.find("<tr><th>measure-human/_size/1M-raw</th><td>profile-02</td>", newly),
            std::string::npos);
  EXPECT_NE(ReadText(dir.path() / "2/junit.xml").find("<failure message=\"stdout differs\""),
            std::string::npos);

  // Failing twice is still failing; passing again is newly passing.
  ASSERT_EQ(run.Conform(dir.path() / "3/measure.json"), 1);
  result =
      Harness({"report", "--json", (dir.path() / "3/results.json").string(), "--previous",
               (dir.path() / "2/results.json").string(), (dir.path() / "3/measure.json").string()});
  EXPECT_NE(result.out.find("still failing:\n  measure-human profile-02 _size/1M-raw (fail -> "
                            "fail)\n"),
            std::string::npos)
      << result.out;
  run.Doctor(false);
  ASSERT_EQ(run.Conform(dir.path() / "4/measure.json"), 0);
  result =
      Harness({"report", "--json", (dir.path() / "4/results.json").string(), "--previous",
               (dir.path() / "3/results.json").string(), (dir.path() / "4/measure.json").string()});
  EXPECT_NE(result.out.find("newly passing:\n  measure-human profile-02 _size/1M-raw (fail -> "
                            "pass)\n"),
            std::string::npos)
      << result.out;
}

// "#c8ecc8" as a computed style gives it: "rgb(200, 236, 200)".
std::string Rgb(const std::string& hex) {
  auto channel = [&](size_t at) {
    return std::to_string(std::stoi(hex.substr(at, 2), nullptr, 16));
  };
  return "rgb(" + channel(1) + ", " + channel(3) + ", " + channel(5) + ")";
}

// The <td> cells of the page's grids in a DOM Chromium dumped: each cell's
// state (its class) and the rest of its attributes.
std::vector<std::pair<std::string, std::string>> GridCells(const std::string& dom) {
  std::vector<std::pair<std::string, std::string>> cells;
  const std::regex table("<table class=\"grid\"[^>]*>([\\s\\S]*?)</table>");
  const std::regex cell("<td class=\"([a-z]+)\"([^>]*)>");
  for (std::sregex_iterator t(dom.begin(), dom.end(), table), end; t != end; ++t) {
    const std::string body = (*t)[1];
    for (std::sregex_iterator c(body.begin(), body.end(), cell); c != end; ++c) {
      cells.emplace_back((*c)[1], (*c)[2]);
    }
  }
  return cells;
}

TEST(ReportPageChromiumTest, RendersTheGridInTheColoursOfItsStates) {
  const fs::path chromium = FindOnPath("chromium");
  if (chromium.empty()) INSTAR_SKIP_OR_FAIL_TOOL("chromium", "no chromium in $PATH");

  // A real run: one case made to fail, one skipped by a divergence (in both
  // measure-json profiles), the rest passing.
  TempDir dir;
  MeasureRun run(dir.path());
  run.Doctor(true);
  std::string divergences = ReadText(kSourceRoot / "cases/divergences.json");
  const size_t list = divergences.find("\"divergences\": [");
  ASSERT_NE(list, std::string::npos);
  divergences.insert(list + 16,
                     "{\"name\": \"chromium-test\", \"skip\": [\"_size/1M-qcow2-default\"], "
                     "\"output-types\": [\"measure-json\"], \"reason\": \"a skip for the "
                     "page\"},\n");
  WriteText(dir.path() / "divergences.json", divergences);
  ASSERT_EQ(run.Conform(dir.path() / "measure.json", dir.path() / "divergences.json"), 1);
  const ChildResult report = Harness({"report", "--out", (dir.path() / "report").string(),
                                      (dir.path() / "measure.json").string()});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  const boost::json::value json = boost::json::parse(ReadText(dir.path() / "measure.json"));
  std::map<std::string, size_t> expected;
  for (const char* state : {"pass", "fail", "skip"}) {
    expected[state] = json.at("totals").at(state).to_number<size_t>();
  }
  ASSERT_EQ(expected["fail"], 1u);
  ASSERT_EQ(expected["skip"], 2u);

  const std::string page = ReadText(dir.path() / "report/index.html");
  // Self-contained: no script, nothing to load.
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("<link"), std::string::npos);
  EXPECT_EQ(page.find(" src="), std::string::npos);

  ChildRunner runner;
  // (Not with scripts off: --dump-dom reads the DOM through a script of
  // its own, and prints nothing then.)
  auto dump_dom = [&](const fs::path& file) {
    const std::vector<std::string> arguments = {
        "--headless",   "--disable-gpu",
        "--no-sandbox", "--user-data-dir=" + (dir.path() / "chromium-profile").string(),
        "--dump-dom",   "file://" + file.string()};
    std::vector<std::string> environment = MinimalEnvironment();
    environment.push_back("HOME=" + dir.path().string());
    const ChildResult result =
        runner.Run({chromium, arguments, environment, std::chrono::seconds(120)});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return result.out;
  };

  // The grid as rendered: as many cells of each state as the run had cases.
  std::map<std::string, size_t> counted;
  for (const auto& [state, rest] : GridCells(dump_dom(dir.path() / "report/index.html"))) {
    ++counted[state];
  }
  EXPECT_EQ(counted, expected);

  // Their colours: a copy of the page with a probe that writes each cell's
  // computed background into the DOM.
  std::string probed = page;
  probed.insert(probed.rfind("</body>"),
                "<script>for (const td of document.querySelectorAll('table.grid td')) "
                "td.dataset.bg = getComputedStyle(td).backgroundColor;</script>\n");
  WriteText(dir.path() / "report/probe.html", probed);
  const std::vector<std::pair<std::string, std::string>> cells =
      GridCells(dump_dom(dir.path() / "report/probe.html"));
  EXPECT_EQ(cells.size(), expected["pass"] + expected["fail"] + expected["skip"]);
  std::map<std::string, std::string> colours;
  for (const auto& colour : kCellColours) colours[colour.state] = Rgb(colour.background);
  const std::regex background("data-bg=\"([^\"]*)\"");
  for (const auto& [state, rest] : cells) {
    std::smatch match;
    ASSERT_TRUE(std::regex_search(rest, match, background)) << state << rest;
    EXPECT_EQ(match[1], colours[state]) << state;
  }
  // Three states, three colours.
  EXPECT_NE(colours["pass"], colours["fail"]);
  EXPECT_NE(colours["pass"], colours["skip"]);
  EXPECT_NE(colours["fail"], colours["skip"]);
}

}  // namespace
}  // namespace instar::harness
