// instar-harness repro as a user runs it: both sides shown, the commands
// pasteable, the fixture kept, exit 0 / 1 / 2 for agree / differ / usage.

#include <gtest/gtest.h>

#include <sstream>

#include "harness/run/child.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

namespace fs = std::filesystem;
using testing::kSourceRoot;
using testing::TempDir;
using testing::WriteText;

const fs::path kHarness = INSTAR_HARNESS_BINARY;

class ReproTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The system qemu-img as a matrix of one.
    ChildRunner runner;
    const ChildResult banner =
        runner.Run({testing::kSystemQemuImg, {"--version"}, MinimalEnvironment()});
    version_ = banner.out.substr(17, banner.out.find(' ', 17) - 17);
    fs::create_directories(dir_.path() / "matrix" / version_);
    fs::create_symlink(testing::kSystemQemuImg, dir_.path() / "matrix" / version_ / "qemu-img");
  }

  void TearDown() override {
    for (const auto& fixture : fixtures_) fs::remove_all(fixture);
  }

  ChildResult Repro(std::vector<std::string> arguments,
                    const fs::path& instar = INSTAR_BINARY_PATH) {
    arguments.insert(arguments.begin(), "repro");
    for (const std::string& word :
         {std::string("--binaries"), (dir_.path() / "matrix").string(), std::string("--baselines"),
          (kSourceRoot / "baselines").string(), std::string("--cases"),
          (kSourceRoot / "cases").string(), std::string("--instar"), instar.string()}) {
      arguments.push_back(word);
    }
    ChildRunner runner;
    ChildResult result =
        runner.Run({kHarness, arguments, MinimalEnvironment(), std::chrono::seconds(120)});
    // Every fixture it printed goes at the end of the test.
    const size_t at = result.out.find("\nfixture: ");
    if (at != std::string::npos) {
      const size_t start = at + 10;
      fixtures_.push_back(result.out.substr(start, result.out.find(' ', start) - start));
    }
    return result;
  }

  // The lines of `text` that start with `prefix`, without it.
  static std::vector<std::string> LinesAfter(const std::string& text, const std::string& prefix) {
    std::vector<std::string> found;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with(prefix)) found.push_back(line.substr(prefix.size()));
    }
    return found;
  }

  TempDir dir_;
  std::string version_;
  std::vector<fs::path> fixtures_;
};

TEST_F(ReproTest, AnAgreeingCaseShowsBothSidesKeepsItsFixtureAndExitsZero) {
  const ChildResult result = Repro({"info-human/qcow2/qcow2-backing", "--sandbox", "process"});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(result.out.rfind("repro info-human/qcow2/qcow2-backing: qemu-img " + version_ +
                                 " and instar --compat " + version_ + "\ncase: " +
                                 (kSourceRoot / "baselines/info-human/qcow2" / version_ /
                                  "qcow2-backing.meta.json")
                                     .string() +
                                 "\n",
                             0),
            0u)
      << result.out;
  ASSERT_EQ(fixtures_.size(), 1u);
  const fs::path corpus = fixtures_[0] / "corpus";
  EXPECT_TRUE(fs::exists(corpus / "qcow2-backing.qcow2"));
  const std::string env = "env -i LC_ALL=C TZ=UTC PATH=/usr/bin:/bin ";
  EXPECT_EQ(LinesAfter(result.out, "  info: "),
            (std::vector<std::string>{
                env + (dir_.path() / "matrix" / version_ / "qemu-img").string() + " info " +
                    (corpus / "qcow2-backing.qcow2").string(),
                env + INSTAR_BINARY_PATH + " --sandbox=process --compat " + version_ + " info " +
                    (corpus / "qcow2-backing.qcow2").string()}))
      << result.out;
  EXPECT_NE(result.out.find("      image: $TESTDATA_ROOT/qcow2-backing.qcow2\n"),
            std::string::npos);
  EXPECT_NE(result.out.find("\ndivergence filters applied: host-disk-size\n"), std::string::npos);
  EXPECT_EQ(LinesAfter(result.out, "repro ").back(),
            "info-human/qcow2/qcow2-backing: PASS: qemu-img and instar agree");
}

// An instar that prints something else: the diff, after the divergence
// filters, qemu-img's side first, and exit 1. The commands are quoted for
// a shell: pasted, qemu-img's prints what repro showed.
TEST_F(ReproTest, ADifferingCaseShowsTheDiffAndExitsOne) {
  const fs::path fake = dir_.path() / "fake-instar";
  WriteText(fake, "#!/bin/sh\necho 'not qemu-img'\n");
  fs::permissions(fake, fs::perms::owner_all);
  const ChildResult result = Repro({"measure-human/_cli/raw-space1G"}, fake);
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  const std::vector<std::string> commands = LinesAfter(result.out, "  measure: ");
  ASSERT_EQ(commands.size(), 2u) << result.out;
  EXPECT_TRUE(commands[0].ends_with(" measure --size ' 1G' -O raw")) << commands[0];
  EXPECT_EQ(commands[1], "env -i LC_ALL=C TZ=UTC PATH=/usr/bin:/bin " + fake.string() +
                             " --compat " + version_ + " measure --size ' 1G' -O raw");
  EXPECT_NE(result.out.find("--- qemu-img\n+++ instar\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("\n+not qemu-img\n"), std::string::npos) << result.out;
  EXPECT_EQ(
      LinesAfter(result.out, "repro ").back().rfind("measure-human/_cli/raw-space1G: FAIL: ", 0),
      0u);

  ChildRunner runner;
  const ChildResult pasted = runner.Run({"/bin/sh", {"-c", commands[0]}, MinimalEnvironment()});
  const ChildResult direct = runner.Run(
      {testing::kSystemQemuImg, {"measure", "--size", " 1G", "-O", "raw"}, MinimalEnvironment()});
  EXPECT_EQ(pasted.out, direct.out);
  EXPECT_EQ(pasted.err, direct.err);
  EXPECT_EQ(pasted.exit_code, direct.exit_code);
}

TEST_F(ReproTest, UsageErrorsExitTwo) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "repro: name the case, <output-type>/<bucket>/<case> (see --help)"},
      {{"measure-json/_size"},
       "repro: CASE must be <output-type>/<bucket>/<case> (e.g. "
       "measure-json/_size/1G-qcow2-default), not \"measure-json/_size\""},
      {{"frob-json/_size/x"}, "repro: unknown output type \"frob-json\""},
      {{"measure-json/_size/no-such-case"},
       "repro: no baseline of measure-json/_size/no-such-case in " +
           (kSourceRoot / "baselines").string() + " (for any version)"},
      {{"measure-json/_size/1G-raw", "--sandbox", "vm"},
       "repro: --sandbox must be process, emulated or kvm, not \"vm\""},
  };
  for (const auto& [arguments, message] : cases) {
    const ChildResult result = Repro(arguments);
    EXPECT_EQ(result.exit_code, 2) << message;
    EXPECT_EQ(result.err, "instar-harness: " + message + "\n");
  }
  ChildResult result = Repro({"measure-json/_size/1G-raw", "--version", "1.2.3"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("1.2.3"), std::string::npos) << result.err;
  result = Repro({"measure-json/_size/1G-raw", "--bogus"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(fixtures_.size(), 0u);  // none made for a usage error
}

}  // namespace
}  // namespace instar::harness
