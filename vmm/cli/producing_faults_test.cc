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
// convert (with -S 0, so that every byte is written), and create and
// convert of a vmdk monolithicFlat, an image of two files (the descriptor
// and its extent, each under its own temporary name, renamed extent first):
// after a kill each target is absent or whole, and the descriptor is there
// only with its extent. Another producing command joins with one more
// entry, in the same shape. Its output must be the same bytes on every run
// (qcow2: no random fields), since "whole" is byte equality with the
// uninterrupted run; of a vmdk descriptor, whose CID is random, the text
// with the CID masked and the file's length.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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
  const char* target;             // the output's file name
  const char* sibling = nullptr;  // the other file the command writes beside it, if any
};

void PrintTo(const FaultCommand& command, std::ostream* out) { *out << command.name; }

const FaultCommand kFaultCommands[] = {
    {"create",
     {"create", "-q", "-f", "qcow2", "-o", "cluster_size=4k,preallocation=metadata", "$TARGET",
      "256M"},
     "k.qcow2"},
    {"dd", {"dd", "-O", "qcow2", "bs=1M", "if=$INPUT", "of=$TARGET"}, "k.qcow2"},
    {"convert", {"convert", "-O", "qcow2", "-S", "0", "$INPUT", "$TARGET"}, "k.qcow2"},
    {"create_flat_vmdk",
     {"create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", "$TARGET", "64M"},
     "k.vmdk",
     "k-flat.vmdk"},
    {"convert_flat_vmdk",
     {"convert", "-O", "vmdk", "-o", "subformat=monolithicFlat", "-S", "0", "$INPUT", "$TARGET"},
     "k.vmdk",
     "k-flat.vmdk"},
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
  const std::string file = testing::ReadFile(path);
  std::vector<char> bytes(file.begin(), file.end());
  // A vmdk descriptor file: its text with the random CID masked, and its
  // length less the CID's (what follows the text's NUL depends on it).
  static const std::string kDescriptor = "# Disk DescriptorFile\n";
  if (bytes.size() < kDescriptor.size() ||
      std::string(bytes.begin(), bytes.begin() + kDescriptor.size()) != kDescriptor) {
    return bytes;
  }
  std::string text(bytes.begin(), std::find(bytes.begin(), bytes.end(), '\0'));
  // The file's length, less the CID's where the file is cut to its text
  // (create's): qemu prints the CID without padding, so one CID in sixteen
  // makes that file a byte shorter. A descriptor rewritten after the data
  // (convert's) keeps its sector-rounded length.
  size_t length = bytes.size();
  const bool cut_to_text = length == text.size();
  if (const size_t at = text.find("\nCID="); at != std::string::npos) {
    const size_t digits = text.find('\n', at + 1) - (at + 5);
    text.replace(at + 5, digits, "$CID");
    if (cut_to_text) length -= digits;
  }
  text += "\nlength " + std::to_string(length);
  return std::vector<char>(text.begin(), text.end());
}

// What the command wrote: each of its targets' bytes (ReadBytes), empty
// for one that is absent.
struct Outputs {
  std::vector<char> target;
  std::vector<char> sibling;
  bool target_exists = false;
  bool sibling_exists = false;
  size_t size() const { return target.size() + sibling.size(); }
  bool operator==(const Outputs& other) const {
    return target == other.target && sibling == other.sibling &&
           target_exists == other.target_exists && sibling_exists == other.sibling_exists;
  }
};

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
  const fs::path sibling = command.sibling != nullptr ? dir_ / command.sibling : fs::path();
  std::vector<std::string> argv = {kSelf, "--sandbox=process"};
  for (const std::string& word : command.words) {
    argv.push_back(testing::ReplaceAll(testing::ReplaceAll(word, "$INPUT", input.string()),
                                       "$TARGET", target.string()));
  }
  const std::string temporary_prefix = "." + std::string(command.target) + ".instar-";
  const std::string sibling_prefix =
      command.sibling != nullptr ? "." + std::string(command.sibling) + ".instar-" : "";
  auto is_temporary = [&](const std::string& name) {
    return name.rfind(temporary_prefix, 0) == 0 ||
           (!sibling_prefix.empty() && name.rfind(sibling_prefix, 0) == 0);
  };
  auto outputs = [&] {
    Outputs out;
    out.target_exists = fs::exists(target);
    if (out.target_exists) out.target = ReadBytes(target);
    if (command.sibling != nullptr) {
      out.sibling_exists = fs::exists(sibling);
      if (out.sibling_exists) out.sibling = ReadBytes(sibling);
    }
    return out;
  };
  auto remove_targets = [&] {
    fs::remove(target);
    if (command.sibling != nullptr) fs::remove(sibling);
  };

  const auto started = std::chrono::steady_clock::now();
  testing::ProgramResult r = testing::RunProgram(argv);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  const Outputs whole = outputs();
  ASSERT_TRUE(whole.target_exists);
  ASSERT_EQ(whole.sibling_exists, command.sibling != nullptr);
  ASSERT_GT(whole.size(), 1u << 20);
  std::printf("instar %s, uninterrupted: %lld us, %zu bytes\n", command.name,
              static_cast<long long>(took.count()), whole.size());

  std::mt19937 random(static_cast<unsigned>(::getpid()));
  std::uniform_int_distribution<long long> delays(0, took.count() * 5 / 4);
  int complete = 0;
  int absent = 0;
  for (int kill = 1; kill <= 20; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill));
    remove_targets();
    const pid_t pid = Spawn(argv);
    ASSERT_GT(pid, 0);
    // Anywhere from at once to a little past an uninterrupted run.
    const long long delay = delays(random);
    std::this_thread::sleep_for(std::chrono::microseconds(delay));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::string after_kill;
    const Outputs left = outputs();
    if (left.target_exists) {
      EXPECT_TRUE(left == whole) << "a partial image at the target";
      after_kill = "the whole image at the target";
      ++complete;
    } else {
      // The extent is renamed first: alone it is whole, never a part.
      if (left.sibling_exists) {
        EXPECT_TRUE(left.sibling == whole.sibling);
      }
      after_kill = left.sibling_exists ? "no file at the target, the whole extent beside it"
                                       : "no file at the target";
      ++absent;
    }
    int temporaries = 0;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      if (is_temporary(name)) ++temporaries;
      EXPECT_TRUE(name == command.target || name == "in.raw" || is_temporary(name) ||
                  (command.sibling != nullptr && name == command.sibling))
          << name;
    }
    r = testing::RunProgram(argv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const bool rerun_whole = outputs() == whole;
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
