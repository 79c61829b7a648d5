// Bounds on the malicious tier (issue 13 item 5): every command instar
// implements (info, map, measure -O qcow2, and compare of the image against
// itself), on every cases/images/mal-* image, with every backend that runs
// here, ends within 2 s, below a stated memory bound (the largest RSS of
// instar and its descendants: the rusage wait4() returns for the run, which
// counts the sandbox helper too), with an exit status below 70 (an error
// qemu-img would print, never a sandbox death), and with one line on stderr
// at most, or as many as qemu-img printed for that image
// (baselines/<command>-human/<format>/11.1.3/). The corpus is materialised
// once into a scratch directory (xz -dc for the images it keeps
// compressed), as the harness does.
//
// What it costs here (2 cores, RelWithDebInfo): process about 4 s, kvm
// about 11-17 s, emulated 20-90 s (with the machine busy), for 1142 runs
// each; the largest RSS was 6 MiB (process), 8 MiB (kvm) and 18 MiB
// (emulated), the slowest run 12 ms, 300 ms and 1.4 s. Under ASan only the
// process backend runs.
//
// The exceptions are the images on which qemu-img itself runs without end
// (the exclusions of cases/map.json and cases/measure.json, docs/corpus.md
// "Time"): map, measure and compare walk a 1 EiB disk run by run there, as
// qemu-img does, and the sandbox's watchdog ends them.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vmm/sandbox/sandbox.h"
#include "vmm/testing/required_sandboxes.h"

namespace instar::vmm {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = INSTAR_SOURCE_ROOT;
const std::string kSelf = INSTAR_BINARY_PATH;

constexpr auto kTimeBound = std::chrono::milliseconds(2000);
constexpr long kRssBoundKiB = 512 * 1024;

// (command, image) pairs qemu-img runs on without end; instar too.
const std::set<std::pair<std::string, std::string>> kUnbounded = {
    {"map", "mal-qcow2-size-1eib-2m-clusters"},
    {"map", "mal-vmdk-capacity-1eib"},
    {"measure", "mal-qcow2-size-1eib-2m-clusters"},
    {"measure", "mal-vmdk-capacity-1eib"},
    {"compare", "mal-qcow2-size-1eib-2m-clusters"},
    {"compare", "mal-vmdk-capacity-1eib"},
    {"check", "mal-vmdk-capacity-1eib"},
};

size_t Lines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// The corpus in a scratch directory, each image under its own name.
class Corpus {
 public:
  Corpus() {
    dir_ = fs::temp_directory_path() / ("instar-bounds-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    for (const auto& entry : fs::directory_iterator(kSource / "cases/images")) {
      const std::string name = entry.path().filename().string();
      if (name.size() > 3 && name.compare(name.size() - 3, 3, ".xz") == 0) {
        const std::string plain = name.substr(0, name.size() - 3);
        const std::string command =
            "xz -dc '" + entry.path().string() + "' > '" + (dir_ / plain).string() + "'";
        if (std::system(command.c_str()) != 0) failed_ = "xz -dc " + name + " failed";
      } else {
        fs::create_symlink(entry.path(), dir_ / name);
      }
    }
  }
  ~Corpus() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  const fs::path& dir() const { return dir_; }
  const std::string& failed() const { return failed_; }

  // The malicious tier: its images' ids and file names.
  std::vector<std::string> Malicious() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("mal-", 0) == 0) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  fs::path dir_;
  std::string failed_;
};

struct BoundedRun {
  int exit_code = -1;
  bool killed = false;  // still running after the limit
  std::string err;
  std::chrono::milliseconds took{0};
  long max_rss_kib = 0;  // of the run and everything it waited for
};

// Runs argv with stdout discarded and stderr captured; killed after
// `limit`. wait4() gives the run's own resource usage.
BoundedRun RunBounded(const std::vector<std::string>& argv, std::chrono::seconds limit) {
  BoundedRun run;
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return run;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(err_pipe[1]);
  if (spawned != 0) {
    ::close(err_pipe[0]);
    return run;
  }
  const auto deadline = start + limit;
  char buffer[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      run.killed = true;
      break;
    }
    struct pollfd fd = {err_pipe[0], POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = ::read(err_pipe[0], buffer, sizeof(buffer));
    if (n <= 0) break;
    run.err.append(buffer, static_cast<size_t>(n));
  }
  ::close(err_pipe[0]);
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  run.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.max_rss_kib = usage.ru_maxrss;
  return run;
}

// Lines qemu-img 11.1.3 printed on stderr for `command` of `id`, from the
// baselines; 0 when there is no such baseline.
size_t QemuStderrLines(const std::string& output_type, const std::string& format,
                       const std::string& case_name) {
  std::ifstream in(kSource / "baselines" / output_type / format / "11.1.3" /
                   (case_name + ".stderr.txt"));
  std::stringstream text;
  text << in.rdbuf();
  return Lines(text.str());
}

std::string FormatOf(const std::string& file) {
  const std::string extension = fs::path(file).extension().string();
  if (extension == ".qcow2") return "qcow2";
  if (extension == ".vmdk") return "vmdk";
  if (extension == ".vhd") return "vpc";
  if (extension == ".vhdx") return "vhdx";
  return "raw";
}

class MaliciousBoundsTest : public ::testing::TestWithParam<const char*> {};

TEST_P(MaliciousBoundsTest, EveryCommandEndsCleanlyWithinItsBounds) {
  const std::string backend = GetParam();
  const SandboxKind kind = backend == "kvm"        ? SandboxKind::kKvm
                           : backend == "emulated" ? SandboxKind::kEmulated
                                                   : SandboxKind::kProcess;
#if defined(__SANITIZE_ADDRESS__)
  // ASan's shadow memory and checks make every host-side step several times
  // slower and larger: the bounds are for the real build. The process
  // backend still runs, for the sanitizers' sake.
  if (backend != "process") GTEST_SKIP() << "bounds are measured without ASan";
#endif
  std::string why;
  if (!ProbeSandbox(kind, &why)) INSTAR_SKIP_OR_FAIL_BACKEND(backend, why);

  const Corpus corpus;
  ASSERT_EQ(corpus.failed(), "");
  const std::vector<std::string> images = corpus.Malicious();
  ASSERT_GT(images.size(), 200u);
  ASSERT_EQ(::chdir(corpus.dir().c_str()), 0);

  size_t runs = 0;
  auto slowest = std::chrono::milliseconds(0);
  long largest_rss = 0;
  for (const std::string& file : images) {
    const std::string id = fs::path(file).stem().string();
    const std::string format = FormatOf(file);
    const std::vector<std::pair<std::string, std::vector<std::string>>> commands = {
        {"info", {"info", file}},
        {"map", {"map", file}},
        {"measure", {"measure", "-O", "qcow2", file}},
        {"compare", {"compare", file, file}},
        {"check", {"check", file}},
    };
    for (const auto& [command, args] : commands) {
      if (kUnbounded.contains({command, id})) continue;
      SCOPED_TRACE(backend + " " + command + " " + file);
      std::vector<std::string> argv = {kSelf, "--sandbox=" + backend};
      argv.insert(argv.end(), args.begin(), args.end());
      const BoundedRun r = RunBounded(argv, std::chrono::seconds(10));
      slowest = std::max(slowest, r.took);
      largest_rss = std::max(largest_rss, r.max_rss_kib);
      ++runs;
      EXPECT_FALSE(r.killed);
      EXPECT_LT(r.took, kTimeBound);
      EXPECT_LT(r.max_rss_kib, kRssBoundKiB);
      EXPECT_GE(r.exit_code, 0);
      EXPECT_LT(r.exit_code, 70) << r.err;
      const std::string case_name = command == "measure" ? id + "__qcow2" : id;
      // compare of an image with itself fails as info's open does.
      const size_t allowed = std::max<size_t>(
          1, command == "compare" ? QemuStderrLines("info-human", format, id)
                                  : QemuStderrLines(command + "-human", format, case_name));
      EXPECT_LE(Lines(r.err), allowed) << r.err;
    }
  }
  std::printf("%s: %zu runs, slowest %lld ms, largest RSS %ld KiB\n", backend.c_str(), runs,
              static_cast<long long>(slowest.count()), largest_rss);
}

INSTANTIATE_TEST_SUITE_P(Backends, MaliciousBoundsTest,
                         ::testing::Values("process", "kvm", "emulated"),
                         [](const ::testing::TestParamInfo<const char*>& param) {
                           return std::string(param.param);
                         });

}  // namespace
}  // namespace instar::vmm
