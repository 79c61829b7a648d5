// instar-harness conform as a user runs it: bad input is one line, a clean
// run exits 0 and writes its reports, a failure exits 1 and its reproduce
// line, run as printed, reruns just that case.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "harness/cases/commands.h"
#include "harness/core/words.h"
#include "harness/run/child.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

namespace fs = std::filesystem;
using testing::kSourceRoot;
using testing::ReadText;
using testing::TempDir;
using testing::WriteText;

const fs::path kHarness = INSTAR_HARNESS_BINARY;

ChildResult Harness(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), "conform");
  ChildRunner runner;
  return runner.Run({kHarness, arguments, MinimalEnvironment(), std::chrono::seconds(120)});
}

// The trees named absolutely, so the program runs from any directory.
std::vector<std::string> Trees(const fs::path& profiles, const fs::path& out) {
  return {"--profiles",   profiles.string(),
          "--cases",      (kSourceRoot / "cases").string(),
          "--instar",     INSTAR_BINARY_PATH,
          "--output-dir", out.string(),
          "--jobs",       "2"};
}

std::vector<std::string> Join(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(ConformCliTest, BadInputIsOneLine) {
  TempDir dir;
  WriteText(dir.path() / "bad.json",
            R"({"divergences": [{"name": "x", "filter": "disk-size", "output-types": )"
            R"(["info-json"], "reason": "r"}]})");
  ChildResult result =
      Harness(Join({"--command", "info", "--divergences", (dir.path() / "bad.json").string()},
                   Trees(kSourceRoot / "profiles", dir.path() / "out")));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "instar-harness: " + (dir.path() / "bad.json").string() +
                            ": divergences[0] \"x\": filter \"disk-size\" reads human output, "
                            "but \"info-json\" is json\n");
  result = Harness({"--command", "info", "--sandbox", "vm"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err,
            "instar-harness: conform: --sandbox must be process, emulated or kvm, not \"vm\"\n");
  // A command with baselines that instar does not implement (resize), and
  // one that does not exist.
  for (const auto& command : Commands()) {
    if (command.implemented()) continue;
    result =
        Harness(Join({"--command", command.name}, Trees(kSourceRoot / "profiles", dir.path())));
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_EQ(result.err, "instar-harness: conform: cannot run \"" + command.name +
                              "\" (instar implements " + JoinWords(ImplementedCommandNames()) +
                              ")\n");
  }
  result = Harness(Join({"--command", "frob"}, Trees(kSourceRoot / "profiles", dir.path())));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "instar-harness: conform: cannot run \"frob\" (instar implements " +
                            JoinWords(ImplementedCommandNames()) + ")\n");
  result = Harness({"--help"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("--junit"), std::string::npos);
}

TEST(ConformCliTest, CleanRunWritesItsReports) {
  TempDir dir;
  const fs::path reports = dir.path() / "reports";
  ChildResult result =
      Harness(Join({"--command", "measure", "--sandbox", "process", "--case", "_size/1M-*",
                    "--junit", (reports / "r.xml").string(), "--json",
                    (reports / "r.json").string(), "--html", (reports / "r.html").string()},
                   Trees(kSourceRoot / "profiles", dir.path() / "out")));
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  // 2 size cases x 5 profiles (3 of measure-human, 2 of measure-json).
  EXPECT_NE(result.out.find("conform measure: PASS: 10 pass, 0 fail, 0 skip"), std::string::npos)
      << result.out;
  const boost::json::value json = boost::json::parse(ReadText(reports / "r.json"));
  EXPECT_EQ(json.at("cases").as_array().size(), 10u);
  EXPECT_NE(ReadText(reports / "r.xml").find("<testsuite name=\"measure-json/profile-02\""),
            std::string::npos);
  EXPECT_NE(ReadText(reports / "r.html").find("<td class=\"pass\">pass</td>"), std::string::npos);
}

// qemu-img's own "Format driver 'bochs' does not support image creation"
// of measure -O bochs is judged like any answer: the missing-writer skip
// is for create steps only.
TEST(ConformCliTest, MeasuresRefusalOfAFormatWithoutCreationIsJudged) {
  TempDir dir;
  ChildResult result = Harness(Join({"--command", "measure", "--sandbox", "process", "--case",
                                     "_cli/bochs-1G", "--output-type", "measure-human"},
                                    Trees(kSourceRoot / "profiles", dir.path() / "out")));
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("conform measure: PASS: 3 pass, 0 fail, 0 skip"), std::string::npos)
      << result.out;
}

TEST(ConformCliTest, AFailureExitsOneAndItsReproduceLineRerunsIt) {
  TempDir dir;
  fs::create_directories(dir.path() / "profiles");
  fs::copy(kSourceRoot / "profiles/measure-human", dir.path() / "profiles/measure-human",
           fs::copy_options::recursive);
  // qemu-img 7.2.18 printed "required size: 1048576" for `measure --size 1M
  // -O raw`; the copy claims one byte more.
  const fs::path stdout_path =
      dir.path() / "profiles/measure-human/profile-02/_size/1M-raw.stdout.txt";
  std::string text = ReadText(stdout_path);
  ASSERT_EQ(text.rfind("required size: 1048576\n", 0), 0u) << text;
  text.replace(0, 22, "required size: 1048577");
  WriteText(stdout_path, text);

  ChildResult result = Harness(
      Join({"--command", "measure", "--output-type", "measure-human", "--case", "_size/1M-*"},
           Trees(dir.path() / "profiles", dir.path() / "out")));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.out.find("FAIL measure-human profile-02 _size/1M-raw: stdout differs\n"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("  -required size: 1048577\n  +required size: 1048576\n"),
            std::string::npos);
  // 2 size cases x measure-human's 3 profiles, one of them broken.
  EXPECT_NE(result.out.find("conform measure: FAIL: 5 pass, 1 fail, 0 skip"), std::string::npos)
      << result.out;
  const size_t at = result.out.find("  reproduce: ");
  ASSERT_NE(at, std::string::npos);
  const std::string line = result.out.substr(at + 13, result.out.find('\n', at) - at - 13);

  ChildRunner runner;
  const ChildResult again =
      runner.Run({"/bin/sh", {"-c", line}, MinimalEnvironment(), std::chrono::seconds(120)});
  EXPECT_EQ(again.exit_code, 1) << line << "\n" << again.err;
  EXPECT_NE(again.out.find("conform measure: FAIL: 0 pass, 1 fail, 0 skip"), std::string::npos)
      << again.out;
}

}  // namespace
}  // namespace instar::harness
