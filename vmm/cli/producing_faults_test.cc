// Issue 17's faults for the producing commands: 20 kill -9 of an `instar`
// producing command line at random times (before it starts writing, while
// it writes, after it renamed), each followed by a rerun of the same line.
// After every kill the target is absent or the whole image an
// uninterrupted run writes, never a part of one, and what the kill left
// beside it is only the temporary file under its recognisable name; after
// every rerun the target is that whole image. Each of the 20 runs is
// printed.
//
// The command line is the test's parameter (kFaultCommands): create, dd and
// convert (with -S 0, so that every byte is written); another producing
// command joins with one more entry, in the same shape. Its output must be the same bytes on every
// run (qcow2: no random fields), since "whole" is byte equality with the uninterrupted run.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "vmm/testing/qemu_img_programs.h"
#include "vmm/testing/subprocess.h"

namespace instar::vmm {
namespace {

namespace fs = std::filesystem;

using testing::Spawn;

const std::string kSelf = INSTAR_BINARY_PATH;

// A producing command line: its words after `instar --sandbox=process`,
// with $INPUT for the test's input image and $TARGET for the output.
struct FaultCommand {
  const char* name;  // the test's suffix
  std::vector<std::string> words;
  const char* target;  // the output's file name
};

void PrintTo(const FaultCommand& command, std::ostream* out) { *out << command.name; }

const FaultCommand kFaultCommands[] = {
    {"create",
     {"create", "-q", "-f", "qcow2", "-o", "cluster_size=4k,preallocation=metadata", "$TARGET",
      "256M"},
     "k.qcow2"},
    {"dd", {"dd", "-O", "qcow2", "bs=1M", "if=$INPUT", "of=$TARGET"}, "k.qcow2"},
    {"convert", {"convert", "-O", "qcow2", "-S", "0", "$INPUT", "$TARGET"}, "k.qcow2"},
};

// The input image: 16 MiB of raw guest data, every other MiB a pattern
// (allocated clusters in a qcow2 output), the rest zeros.
void WriteInput(const fs::path& path) {
  std::ofstream out(path, std::ios::binary);
  std::string mib(1 << 20, '\0');
  for (int m = 0; m < 16; ++m) {
    for (size_t i = 0; i < mib.size(); ++i) {
      mib[i] = m % 2 == 0 ? static_cast<char>((i * 7 + m) & 0xff) : '\0';
    }
    out.write(mib.data(), static_cast<std::streamsize>(mib.size()));
  }
}

std::vector<char> ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

class ProducingFaultsTest : public ::testing::TestWithParam<FaultCommand> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("instar-faults-" + std::string(GetParam().name) + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

TEST_P(ProducingFaultsTest, TwentyKillsThenRerunsLeaveNoPartialImage) {
  const FaultCommand& command = GetParam();
  const fs::path input = dir_ / "in.raw";
  WriteInput(input);
  const fs::path target = dir_ / command.target;
  std::vector<std::string> argv = {kSelf, "--sandbox=process"};
  for (const std::string& word : command.words) {
    argv.push_back(testing::ReplaceAll(testing::ReplaceAll(word, "$INPUT", input.string()),
                                       "$TARGET", target.string()));
  }
  const std::string temporary_prefix = "." + std::string(command.target) + ".instar-";

  const auto started = std::chrono::steady_clock::now();
  testing::ProgramResult r = testing::RunProgram(argv);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  const std::vector<char> whole = ReadBytes(target);
  ASSERT_GT(whole.size(), 1u << 20);
  std::printf("instar %s, uninterrupted: %lld us, %zu bytes\n", command.name,
              static_cast<long long>(took.count()), whole.size());

  std::mt19937 random(static_cast<unsigned>(::getpid()));
  std::uniform_int_distribution<long long> delays(0, took.count() * 5 / 4);
  int complete = 0;
  int absent = 0;
  for (int kill = 1; kill <= 20; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill));
    fs::remove(target);
    const pid_t pid = Spawn(argv);
    ASSERT_GT(pid, 0);
    // Anywhere from at once to a little past an uninterrupted run.
    const long long delay = delays(random);
    std::this_thread::sleep_for(std::chrono::microseconds(delay));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::string after_kill;
    if (fs::exists(target)) {
      EXPECT_TRUE(ReadBytes(target) == whole) << "a partial image at the target";
      after_kill = "the whole image at the target";
      ++complete;
    } else {
      after_kill = "no file at the target";
      ++absent;
    }
    int temporaries = 0;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind(temporary_prefix, 0) == 0) ++temporaries;
      EXPECT_TRUE(name == command.target || name == "in.raw" ||
                  name.rfind(temporary_prefix, 0) == 0)
          << name;
    }
    r = testing::RunProgram(argv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const bool rerun_whole = ReadBytes(target) == whole;
    EXPECT_TRUE(rerun_whole) << "the rerun did not write the whole image";
    std::printf("kill %2d after %7lld us (%s): %s, %d temporary file%s beside it; rerun: %s\n",
                kill, delay, WIFSIGNALED(status) ? "killed" : "had ended", after_kill.c_str(),
                temporaries, temporaries == 1 ? "" : "s",
                rerun_whole ? "the whole image" : "NOT the whole image");
  }
  std::printf("20 kills of instar %s: %d left no file, %d the whole image; every rerun wrote it\n",
              command.name, absent, complete);
}

INSTANTIATE_TEST_SUITE_P(Commands, ProducingFaultsTest, ::testing::ValuesIn(kFaultCommands),
                         [](const ::testing::TestParamInfo<FaultCommand>& param) {
                           return std::string(param.param.name);
                         });

}  // namespace
}  // namespace instar::vmm
