// instar-harness difffuzz as a user runs it, against a fake instar that
// differs from qemu-img in one known way, so that what is tested is the
// loop, the minimiser and the report (the real instar is the bounded run,
// ctest difffuzz_bounded): the system qemu-img and qemu-io as a matrix of
// one.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "harness/cases/commands.h"
#include "harness/difffuzz/runner.h"
#include "harness/difffuzz/script.h"
#include "harness/run/child.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

namespace fs = std::filesystem;
using testing::kSourceRoot;
using testing::TempDir;
using testing::WriteText;

const fs::path kHarness = INSTAR_HARNESS_BINARY;

// Counts the steps of `script` that are a qemu-img `snapshot`.
size_t Snapshots(const Script& script) {
  return std::count_if(script.steps.begin(), script.steps.end(), [](const ScriptStep& step) {
    return step.tool == ScriptTool::kQemuImg && step.args[0] == "snapshot";
  });
}

// Whether every step is the create (with no refcount width, which could
// refuse a snapshot), a snapshot or a qemu-io write.
bool OnlyWritesAndSnapshots(const Script& script) {
  for (const auto& step : script.steps) {
    if (step.tool == ScriptTool::kQemuIo) continue;
    if (step.args[0] == "snapshot") continue;
    if (step.args[0] != "create") return false;
    for (const auto& word : step.args) {
      if (word.starts_with("refcount_bits=")) return false;
    }
  }
  return true;
}

class DifffuzzTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ChildRunner runner;
    const ChildResult banner =
        runner.Run({testing::kSystemQemuImg, {"--version"}, MinimalEnvironment()});
    const std::string version = banner.out.substr(17, banner.out.find(' ', 17) - 17);
    const fs::path entry = dir_.path() / "matrix" / version;
    fs::create_directories(entry);
    fs::create_symlink(testing::kSystemQemuImg, entry / "qemu-img");
    fs::create_symlink(testing::kSystemQemuImg.parent_path() / "qemu-io", entry / "qemu-io");
    // The fake: qemu-img itself, but for one line more in every human info
    // of an image with snapshots.
    fake_ = dir_.path() / "fake-instar";
    WriteText(fake_,
              "#!/bin/sh\n"
              "while [ $# -gt 0 ]; do\n"
              "  case $1 in --compat) shift 2 ;; --sandbox=*) shift ;; *) break ;; esac\n"
              "done\n"
              "out=$(mktemp)\n" +
                  testing::kSystemQemuImg.string() +
                  " \"$@\" >\"$out\"\n"
                  "rc=$?\n"
                  "cat \"$out\"\n"
                  "if grep -q '^Snapshot list:' \"$out\"; then echo 'fake: one line more'; fi\n"
                  "rm -f \"$out\"\n"
                  "exit $rc\n");
    ::chmod(fake_.c_str(), 0755);
  }

  ChildResult Difffuzz(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), "difffuzz");
    for (const std::string& word :
         {std::string("--binaries"), (dir_.path() / "matrix").string(), std::string("--cases"),
          (kSourceRoot / "cases").string(), std::string("--instar"), fake_.string()}) {
      arguments.push_back(word);
    }
    ChildRunner runner;
    return runner.Run({kHarness, arguments, MinimalEnvironment(), std::chrono::seconds(300)});
  }

  TempDir dir_;
  fs::path fake_;
};

TEST_F(DifffuzzTest, MinimisesAKnownDisagreementToItsTwoSteps) {
  // A seed whose script is one qcow2 image with a snapshot among other steps.
  uint64_t seed = 0;
  Script script;
  for (seed = 1; seed < 10000; ++seed) {
    script = GenerateScript(seed);
    if (script.images.size() == 1 && script.images[0].format == "qcow2" && Snapshots(script) == 1 &&
        script.steps.size() >= 4 && OnlyWritesAndSnapshots(script)) {
      break;
    }
  }
  ASSERT_LT(seed, 10000u);
  const fs::path kept = dir_.path() / "kept";
  const ChildResult result =
      Difffuzz({"--seed", std::to_string(seed), "--iterations", "1", "--keep", kept.string()});
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  const std::string& out = result.out;
  EXPECT_NE(out.find("difffuzz: matrix " + (dir_.path() / "matrix").string()), std::string::npos)
      << out;
  const std::string head = "DISAGREE seed " + std::to_string(seed) +
                           ": info-human of \"$DIR\"/a.qcow2 (qcow2), qemu-img ";
  ASSERT_NE(out.find(head), std::string::npos) << out;
  // Only that one: info-json, map and measure agree.
  EXPECT_EQ(out.find("DISAGREE", out.find(head) + 1), std::string::npos) << out;
  EXPECT_NE(out.find("script, minimised (2 of " + std::to_string(script.steps.size()) + " steps"),
            std::string::npos)
      << out;
  // The create line and the snapshot line, pasteable.
  const size_t at = out.find("    DIR=$(mktemp -d)\n");
  ASSERT_NE(at, std::string::npos);
  const size_t first = at + 21;
  const size_t second = out.find('\n', first) + 1;
  const size_t end = out.find('\n', second);
  const std::string create_line = out.substr(first, second - first - 1);
  EXPECT_NE(create_line.find("/qemu-img " + ScriptShellLine(script.steps[0].args)),
            std::string::npos)
      << create_line;
  EXPECT_NE(out.substr(second, end - second).find("/qemu-img snapshot -c "), std::string::npos)
      << out;
  EXPECT_NE(out.find("+fake: one line more"), std::string::npos) << out;
  // One check per output type of each implemented command that reads
  // images, and convert's of the one image.
  size_t checks = 0;
  for (const auto& command : Commands()) {
    if (ReadsImages(command)) checks += command.output_types.size();
    if (command.name == "convert" && command.implemented()) checks += 1;
  }
  EXPECT_NE(out.find("difffuzz: FAIL: 1 iteration (seed " + std::to_string(seed) + "), " +
                     std::to_string(checks) +
                     " checks (0 failing in both), 1 disagreement (0 explained)"),
            std::string::npos)
      << out;
  // --keep kept the whole script's images and the minimised one's.
  EXPECT_TRUE(fs::exists(kept / ("seed-" + std::to_string(seed)) / "a.qcow2"));
  EXPECT_TRUE(fs::exists(kept / ("seed-" + std::to_string(seed) + "-1-min") / "a.qcow2"));

  // The printed script, pasted into a shell, makes an image on which the
  // fake and qemu-img disagree the same way.
  const std::string script_text = out.substr(at + 4, end - at - 4) + "\n";
  const fs::path paste = dir_.path() / "paste.sh";
  WriteText(paste, "set -e\n" + script_text + "/usr/bin/qemu-img info \"$DIR\"/a.qcow2\n" +
                       fake_.string() + " --compat 1.0.0 info \"$DIR\"/a.qcow2\nrm -rf \"$DIR\"\n");
  ChildRunner runner;
  const ChildResult pasted = runner.Run({"/bin/sh", {paste.string()}, MinimalEnvironment()});
  EXPECT_EQ(pasted.exit_code, 0) << pasted.err;
  EXPECT_NE(pasted.out.find("Snapshot list:"), std::string::npos) << pasted.out;
  EXPECT_NE(pasted.out.find("fake: one line more"), std::string::npos) << pasted.out;
}

TEST_F(DifffuzzTest, AgreementIsExitZeroAndOneLinePerIteration) {
  // A fake that is qemu-img in every way agrees on every check.
  WriteText(fake_,
            "#!/bin/sh\n"
            "while [ $# -gt 0 ]; do\n"
            "  case $1 in --compat) shift 2 ;; --sandbox=*) shift ;; *) break ;; esac\n"
            "done\n"
            "exec " +
                testing::kSystemQemuImg.string() + " \"$@\"\n");
  const ChildResult result = Difffuzz({"--seed", "3", "--iterations", "2"});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("difffuzz: PASS: 2 iterations (seeds 3..4), "), std::string::npos)
      << result.out;
  EXPECT_NE(result.err.find("difffuzz: [1/2] seed 3: "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("difffuzz: [2/2] seed 4: "), std::string::npos) << result.err;
}

TEST_F(DifffuzzTest, UsageErrorsAreOneLineAndExitTwo) {
  for (const auto& [arguments, message] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--iterations", "0"}, "difffuzz: --iterations must be at least 1"},
           {{"--sandbox", "vm"}, "difffuzz: --sandbox must be process, emulated or kvm"},
           {{"--versions", "1.2.3"}, "1.2.3"},
           {{"--colour"}, "difffuzz: unrecognised option '--colour'"}}) {
    const ChildResult result = Difffuzz(arguments);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_NE(result.err.find(message), std::string::npos) << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  }
}

}  // namespace
}  // namespace instar::harness
