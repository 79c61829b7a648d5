// Helpers of the qcow2 resize and amend tests (test code only): run a
// qemu-img of the matrix on one copy of an image, a hook of the qcow2
// driver over a MemoryDevice holding the other, and compare.
#ifndef INSTAR_ENGINE_QCOW2_QCOW2_MODIFY_TEST_UTIL_H_
#define INSTAR_ENGINE_QCOW2_QCOW2_MODIFY_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include "instar/engine/check.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/image.h"
#include "instar/engine/qcow2.h"
#include "testing/corpus.h"
#include "testing/memory_device.h"
#include "testing/qemu_img.h"

namespace instar::qcow2_modify_testing {

using testing::MapOpener;
using testing::MemoryDevice;

// The system qemu-img is 7.2.22; the others come from the matrix.
inline std::string QemuImgFor(const std::string& version) {
  if (version == "7.2.22") return "qemu-img";
  return std::string(INSTAR_SOURCE_ROOT) + "/qemu-img-binaries/x86_64/" + version + "/qemu-img";
}

// qemu-io of the same release where the matrix has one beside qemu-img,
// else the system's.
inline std::string QemuIoFor(const std::string& version) {
  if (version != "7.2.22") {
    const std::string path =
        std::string(INSTAR_SOURCE_ROOT) + "/qemu-img-binaries/x86_64/" + version + "/qemu-io";
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return "qemu-io";
}

inline bool HaveQemuImg(const std::string& version) {
  return version == "7.2.22" || access(QemuImgFor(version).c_str(), X_OK) == 0;
}

struct Run {
  int exit_code = -1;
  std::string stderr_text;
};

// Runs argv in `dir` (no shell), stdin on /dev/null, stdout and stderr
// captured together.
inline Run RunIn(const std::string& dir, const std::vector<std::string>& argv) {
  const std::string err_path = dir + "/stderr.txt";
  const pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(126);
    const int null_fd = open("/dev/null", O_RDONLY);
    const int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (null_fd < 0 || err_fd < 0) _exit(126);
    dup2(null_fd, 0);
    dup2(err_fd, 2);
    dup2(err_fd, 1);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  Run run;
  int status = 0;
  waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(err_path);
  run.stderr_text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return run;
}

inline std::vector<uint8_t> ReadFile(const std::string& path) {
  return testing::ReadWholeFile(path);
}

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/instar-qcow2-modify-XXXXXX";
    const char* made = mkdtemp(pattern);
    path_ = made != nullptr ? made : "";
  }
  ~TempDir() {
    if (path_.empty()) return;
    const std::string command = "rm -rf '" + path_ + "'";
    (void)std::system(command.c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The -o values of a case-file line: ["a=b", "c=d"] joined with ','.
inline std::string JoinOptions(const std::string& list) {
  static const std::regex option_re(R"re("([^"]*)")re");
  std::string out;
  for (auto it = std::sregex_iterator(list.begin(), list.end(), option_re);
       it != std::sregex_iterator(); ++it) {
    if (!out.empty()) out += ',';
    out += (*it)[1];
  }
  return out;
}

inline QemuVersion VersionOf(const std::string& text) {
  auto parsed = ParseQemuVersion(text.data(), text.size());
  return parsed.ok() ? *parsed : QemuVersion{};
}

// Opens `device` with the qcow2 reader and runs `hook` on the image; the
// hook's Status.
inline Status RunHook(MemoryDevice& device, const QemuVersion& compat,
                      const std::function<Status(Image&, Arena&)>& hook) {
  std::vector<uint8_t> memory(96u << 20);
  Arena arena(memory.data(), memory.size());
  MapOpener opener;
  OpenOptions options;
  options.compat = compat;
  Result<Image*> image = OpenImage(ImageFormat::kQcow2, device, opener, arena, options);
  if (!image.ok()) return image.status();
  return hook(**image, arena);
}

// The engine's reader opens the image and its check finds nothing wrong.
inline void ExpectCleanCheck(MemoryDevice& device, const QemuVersion& compat,
                             const std::string& what) {
  std::vector<uint8_t> memory(64u << 20);
  Arena arena(memory.data(), memory.size());
  MapOpener opener;
  OpenOptions options;
  options.compat = compat;
  options.check = true;
  Result<Image*> image = OpenImage(ImageFormat::kQcow2, device, opener, arena, options);
  ASSERT_TRUE(image.ok()) << what << ": " << image.status().message();
  class NullLog final : public CheckLog {
   public:
    void Line(const char*, size_t) override {}
  } log;
  CheckResult result;
  Result<CheckSupport> support = CheckImage(**image, compat, arena, log, &result);
  ASSERT_TRUE(support.ok()) << what << ": " << support.status().message();
  EXPECT_EQ(result.corruptions, 0u) << what;
  EXPECT_EQ(result.leaks, 0u) << what;
  EXPECT_EQ(result.check_errors, 0u) << what;
}

// Byte for byte, the first differing offset reported.
inline void ExpectSameBytes(const std::vector<uint8_t>& expected,
                            const std::vector<uint8_t>& actual) {
  // INSTAR_KEEP_OURS=PATH keeps the hook's bytes there, to compare by hand.
  if (const char* keep = std::getenv("INSTAR_KEEP_OURS")) {
    std::ofstream(keep, std::ios::binary)
        .write(reinterpret_cast<const char*>(actual.data()),
               static_cast<std::streamsize>(actual.size()));
  }
  size_t first_difference = 0;
  while (first_difference < expected.size() && first_difference < actual.size() &&
         expected[first_difference] == actual[first_difference]) {
    ++first_difference;
  }
  EXPECT_EQ(actual.size(), expected.size()) << "file length";
  EXPECT_EQ(first_difference, std::min(expected.size(), actual.size()))
      << "first differing byte at offset " << first_difference;
}

// qemu-img's first stderr line without its "qemu-img: " prefix.
inline std::string FirstErrorLine(const std::string& stderr_text) {
  std::string line = stderr_text.substr(0, stderr_text.find('\n'));
  const std::string prefix = "qemu-img: ";
  if (line.compare(0, prefix.size(), prefix) == 0) line = line.substr(prefix.size());
  return line;
}

inline std::string VersionTestName(const ::testing::TestParamInfo<std::string>& param) {
  std::string name = "v" + param.param;
  for (char& ch : name) {
    if (ch == '.') ch = '_';
  }
  return name;
}

}  // namespace instar::qcow2_modify_testing

#endif  // INSTAR_ENGINE_QCOW2_QCOW2_MODIFY_TEST_UTIL_H_
