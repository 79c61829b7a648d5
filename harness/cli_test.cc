// The instar-harness program as a user runs it: one error line for bad
// input, exit statuses, Ctrl-C.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "harness/run/child.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteText;

const fs::path kHarness = INSTAR_HARNESS_BINARY;

ChildResult Harness(const std::vector<std::string>& arguments) {
  ChildRunner runner;
  return runner.Run({kHarness, arguments, MinimalEnvironment(), std::chrono::seconds(60)});
}

size_t Lines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(CliTest, MalformedCaseFileIsOneLineAndNonZero) {
  TempDir dir;
  fs::create_directories(dir.path() / "images");
  fs::copy_file(testing::kSourceRoot / "cases/images/manifest.json",
                dir.path() / "images/manifest.json");
  WriteText(dir.path() / "measure.json",
            R"({"command": "measure", "size-cases": [{"case": "1M-raw", "size": "1M", )"
            R"("target": "raw", "options": [], "colour": "blue"}], "image-cases": )"
            R"({"targets": ["raw"]}})");
  ChildResult result = Harness({"generate", "--command", "measure", "--cases", dir.path().string(),
                                "--out", (dir.path() / "out").string()});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(result.err, "instar-harness: " + (dir.path() / "measure.json").string() +
                            ": size-cases[0] \"1M-raw\": unknown key \"colour\"\n");
  EXPECT_FALSE(fs::exists(dir.path() / "out"));
}

TEST(CliTest, UsageErrorsAreOneLine) {
  ChildResult result = Harness({"generate", "--command", "measure", "--bogus"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(Lines(result.err), 1u) << result.err;
  result = Harness({"frobnicate"});
  EXPECT_EQ(result.exit_code, 2);
  result = Harness({"generate", "--help"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("--resume"), std::string::npos);
}

TEST(CliTest, MatrixListsTheGivenDirectory) {
  ChildRunner runner;
  ChildResult banner = runner.Run({testing::kSystemQemuImg, {"--version"}, MinimalEnvironment()});
  const std::string first_line = banner.out.substr(0, banner.out.find('\n'));
  const std::string version = first_line.substr(17, first_line.find(' ', 17) - 17);
  TempDir dir;
  fs::create_directories(dir.path() / version);
  fs::create_symlink(testing::kSystemQemuImg, dir.path() / version / "qemu-img");
  ChildResult result = Harness({"matrix", "--binaries", dir.path().string()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  std::istringstream lines(result.out);
  bool listed = false;
  for (std::string line; std::getline(lines, line);) {
    listed =
        listed || (line.starts_with(version + " ") && line.find(first_line) != std::string::npos);
  }
  EXPECT_TRUE(listed) << result.out;
}

// Ctrl-C in the middle of a run: children killed, exit 130, and every case
// on disk is complete (no file without its meta.json, no temporary).
TEST(CliTest, InterruptLeavesOnlyCompleteCases) {
  TempDir dir;
  const std::string out = (dir.path() / "out").string();
  std::vector<std::string> words = {kHarness.string(), "generate", "--command",
                                    "create",          "--out",    out,
                                    "--jobs",          "2",        "--binaries"};
  fs::create_directories(dir.path() / "matrix");
  ChildRunner runner;
  ChildResult banner = runner.Run({testing::kSystemQemuImg, {"--version"}, MinimalEnvironment()});
  const std::string version = banner.out.substr(17, banner.out.find(' ', 17) - 17);
  fs::create_directories(dir.path() / "matrix" / version);
  fs::create_symlink(testing::kSystemQemuImg, dir.path() / "matrix" / version / "qemu-img");
  words.push_back((dir.path() / "matrix").string());
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  // The program's defaults (cases/) are relative to the tree.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, testing::kSourceRoot.c_str());
  pid_t pid = -1;
  ASSERT_EQ(::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  // Wait until some cases are written, then interrupt.
  for (int i = 0; i < 3000; ++i) {
    bool some = fs::exists(out) && [&] {
      for (const auto& item : fs::recursive_directory_iterator(out)) {
        if (item.path().string().ends_with(".meta.json")) return true;
      }
      return false;
    }();
    if (some) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  std::map<std::string, int> files_per_case;
  for (const auto& item : fs::recursive_directory_iterator(out)) {
    if (!item.is_regular_file()) continue;
    std::string name = item.path().string();
    ASSERT_FALSE(name.ends_with(".tmp")) << name;
    for (std::string_view suffix : {".stdout.txt", ".stderr.txt", ".meta.json"}) {
      if (name.ends_with(suffix)) ++files_per_case[name.substr(0, name.size() - suffix.size())];
    }
  }
  EXPECT_FALSE(files_per_case.empty());
  for (const auto& [id, count] : files_per_case) EXPECT_EQ(count, 3) << id;
}

}  // namespace
}  // namespace instar::harness
