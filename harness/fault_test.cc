// Nothing lost under faults: instar-harness killed outright (SIGKILL, no
// chance to clean up) at random points of a generation, then resumed, ends
// with exactly the tree an uninterrupted run writes; the scratch directories
// the killed runs left are removed by the next run; two runs sharing one
// scratch base do not disturb each other.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "harness/core/files.h"
#include "harness/run/child.h"
#include "harness/run/scratch.h"
#include "harness/testing/test_support.h"

extern char** environ;

namespace instar::harness {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

const fs::path kHarness = INSTAR_HARNESS_BINARY;

// A matrix of one version: the system's qemu-img (what a clean clone has).
fs::path SystemMatrix(const fs::path& dir) {
  ChildRunner runner;
  const ChildResult banner =
      runner.Run({testing::kSystemQemuImg, {"--version"}, MinimalEnvironment()});
  const std::string version = banner.out.substr(17, banner.out.find(' ', 17) - 17);
  const fs::path matrix = dir / "matrix";
  fs::create_directories(matrix / version);
  fs::create_symlink(testing::kSystemQemuImg, matrix / version / "qemu-img");
  return matrix;
}

// Starts instar-harness in the source tree (its default cases/ is
// relative) with $INSTAR_HARNESS_SCRATCH set; returns its pid.
pid_t Spawn(const std::vector<std::string>& arguments, const fs::path& scratch) {
  std::vector<std::string> words = {kHarness.string()};
  words.insert(words.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  std::vector<std::string> environment = MinimalEnvironment();
  environment.push_back("INSTAR_HARNESS_SCRATCH=" + scratch.string());
  std::vector<char*> envp;
  for (auto& entry : environment) envp.push_back(entry.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, testing::kSourceRoot.c_str());
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int error = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return error == 0 ? pid : -1;
}

// The exit status (128 + signal when killed).
int Wait(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool Exited(pid_t pid, int* code) {
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) return false;
  *code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

size_t CountSuffix(const fs::path& root, std::string_view suffix) {
  size_t count = 0;
  if (!fs::exists(root)) return 0;
  for (const auto& item : fs::recursive_directory_iterator(root)) {
    if (item.path().string().ends_with(suffix)) ++count;
  }
  return count;
}

// Every file of the tree by its path under `root`, with its content.
std::map<std::string, std::string> Tree(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& item : fs::recursive_directory_iterator(root)) {
    if (item.is_regular_file()) {
      files[fs::relative(item.path(), root).string()] = ReadFile(item.path());
    }
  }
  return files;
}

// A case whose meta.json is there is complete: its stdout and stderr are
// there too (meta.json is written last).
void ExpectOnlyCompleteCases(const fs::path& root) {
  if (!fs::exists(root)) return;
  for (const auto& item : fs::recursive_directory_iterator(root)) {
    const std::string name = item.path().string();
    if (!name.ends_with(".meta.json")) continue;
    const std::string stem = name.substr(0, name.size() - std::string(".meta.json").size());
    EXPECT_TRUE(fs::exists(stem + ".stdout.txt")) << stem;
    EXPECT_TRUE(fs::exists(stem + ".stderr.txt")) << stem;
  }
}

size_t ScratchDirs(const fs::path& base) {
  size_t count = 0;
  for (const auto& item : fs::directory_iterator(base)) {
    if (item.path().filename().string().starts_with("instar-harness.")) ++count;
  }
  return count;
}

// info over the whole corpus: a few seconds of qemu-img, hundreds of cases,
// and a corpus materialised into the scratch directory first.
std::vector<std::string> Generate(const fs::path& matrix, const fs::path& out) {
  return {"generate", "--command",  "info",       "--jobs",       "2",
          "--out",    out.string(), "--binaries", matrix.string()};
}

TEST(FaultTest, TwentyKillsThenResumeLoseNothing) {
  TempDir dir;
  const fs::path matrix = SystemMatrix(dir.path());
  const fs::path scratch = dir.path() / "scratch";
  fs::create_directories(scratch);

  const fs::path reference = dir.path() / "reference";
  ASSERT_EQ(Wait(Spawn(Generate(matrix, reference), scratch)), 0);
  const size_t cases = CountSuffix(reference, ".meta.json");
  ASSERT_GT(cases, 100u);

  // Half the kills come at a random time (often while the corpus is being
  // materialised), half once a random number of new cases is on disk, so
  // that some land while the writer is renaming files into place.
  const fs::path out = dir.path() / "out";
  std::mt19937 random(20261205);
  size_t killed = 0;
  for (int run = 0; run < 20; ++run) {
    std::vector<std::string> arguments = Generate(matrix, out);
    if (run > 0) arguments.push_back("--resume");
    const size_t before = CountSuffix(out, ".meta.json");
    const pid_t pid = Spawn(arguments, scratch);
    ASSERT_GT(pid, 0);
    const auto start = std::chrono::steady_clock::now();
    const auto delay = std::chrono::milliseconds(random() % 1200);
    const size_t wanted = before + 1 + random() % 25;
    int code = 0;
    bool exited = false;
    while (!(exited = Exited(pid, &code))) {
      const bool due = run % 2 == 0 ? std::chrono::steady_clock::now() - start >= delay
                                    : CountSuffix(out, ".meta.json") >= wanted;
      if (due) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!exited) {
      ::kill(pid, SIGKILL);
      code = Wait(pid);
      ++killed;
    }
    std::printf("run %2d: %s after %4lld ms, %zu of %zu cases on disk\n", run + 1,
                exited ? "finished" : "killed",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - start)
                                           .count()),
                CountSuffix(out, ".meta.json"), cases);
    EXPECT_TRUE(code == 0 || code == 128 + SIGKILL) << "run " << run << ": exit " << code;
    ExpectOnlyCompleteCases(out);
  }
  EXPECT_GE(killed, 15u) << "most runs must be killed for the test to mean something";

  // The killed runs' scratch directories are there until a run starts
  // once they are old enough to be known abandoned (scratch.cc).
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  std::vector<std::string> arguments = Generate(matrix, out);
  arguments.push_back("--resume");
  ASSERT_EQ(Wait(Spawn(arguments, scratch)), 0);
  EXPECT_EQ(CountSuffix(out, kTemporarySuffix), 0u);
  EXPECT_EQ(ScratchDirs(scratch), 0u);
  const auto expected = Tree(reference);
  const auto actual = Tree(out);
  EXPECT_EQ(actual.size(), expected.size());
  EXPECT_TRUE(actual == expected) << "the resumed tree differs from an uninterrupted run's";
}

// A living run's directory is never taken for an abandoned one, however
// old it is.
TEST(FaultTest, HeldScratchIsNotRemoved) {
  TempDir dir;
  ScratchDir held(dir.path());
  const fs::path abandoned = dir.path() / "instar-harness.AbCdEf";
  fs::create_directories(abandoned / "corpus");
  const fs::path kept = dir.path() / "instar-harness-repro.AbCdEf";
  fs::create_directories(kept);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_EQ(RemoveAbandonedScratch(dir.path()), 1u);
  EXPECT_TRUE(fs::exists(held.path()));
  EXPECT_FALSE(fs::exists(abandoned));
  EXPECT_TRUE(fs::exists(kept));
}

// Two conform runs at once with one scratch base: each passes as it does
// alone.
TEST(FaultTest, TwoConformRunsShareAScratchBase) {
  TempDir dir;
  const fs::path scratch = dir.path() / "scratch";
  fs::create_directories(scratch);
  auto conform = [&](const std::string& name) {
    return std::vector<std::string>{"conform",
                                    "--command",
                                    "info",
                                    "--sandbox",
                                    "process",
                                    "--case",
                                    "qcow2/*",
                                    "--jobs",
                                    "1",
                                    "--instar",
                                    INSTAR_BINARY_PATH,
                                    "--output-dir",
                                    (dir.path() / name).string()};
  };
  const pid_t first = Spawn(conform("first"), scratch);
  const pid_t second = Spawn(conform("second"), scratch);
  ASSERT_GT(first, 0);
  ASSERT_GT(second, 0);
  EXPECT_EQ(Wait(first), 0);
  EXPECT_EQ(Wait(second), 0);
  EXPECT_EQ(ScratchDirs(scratch), 0u);
}

}  // namespace
}  // namespace instar::harness
