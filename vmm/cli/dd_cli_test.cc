// `instar dd` against live qemu-img: every qemu-img this machine has (the
// system's, and each version of the matrix when it is present) runs the
// same operands as `instar --compat <its version> dd`, each in a directory
// of its own holding the same input; stdout, stderr, the exit status and
// the output file must agree, after the directory and the program's name
// are replaced by placeholders. Nothing here is a pasted qemu-img output:
// the expected side is what qemu-img prints now.
//
// Also the output's life: a kill -9 of `instar dd` in the middle of writing
// leaves no file at the target, and an existing target is replaced only by
// a complete image.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
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
using testing::WaitForTemporaryFile;

const std::string kSelf = INSTAR_BINARY_PATH;

using testing::QemuImg;
using testing::QemuImgs;
using testing::ReadFile;

// The input every run reads: 1 MiB of data with a run of zeros.
void WriteInput(const fs::path& path) {
  std::string bytes(1 << 20, '\0');
  uint32_t state = 7;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i >= 300000 && i < 500000) continue;
    state = state * 1103515245 + 12345;
    bytes[i] = static_cast<char>(state >> 16);
  }
  std::ofstream(path, std::ios::binary) << bytes;
}

using Made = testing::MadeInDirectory;

Made RunIn(const std::vector<std::string>& prefix, const std::vector<std::string>& args,
           const fs::path& dir) {
  return testing::RunInDirectory(prefix, args, dir, WriteInput);
}

class DdCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("instar-dd-cli-" + std::to_string(::getpid()));
    qemu_imgs_ = QemuImgs();
    ASSERT_FALSE(qemu_imgs_.empty()) << "no qemu-img on this machine (/usr/bin/qemu-img, "
                                        "qemu-img-binaries/)";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `args` (the input is $DIR/in.raw, the output $DIR/out.img) with
  // every qemu-img and with instar.
  void ExpectSameAsQemuImg(const std::vector<std::string>& args) {
    for (const QemuImg& qemu : qemu_imgs_) {
      SCOPED_TRACE(qemu.version + ": dd " + ::testing::PrintToString(args));
      const Made expected = RunIn({qemu.path, "dd"}, args, dir_ / "qemu");
      const Made actual = RunIn({kSelf, "--sandbox=process", "--compat", qemu.version, "dd"}, args,
                                dir_ / "instar");
      EXPECT_EQ(actual.exit_code, expected.exit_code);
      EXPECT_EQ(actual.out, expected.out);
      EXPECT_EQ(actual.err, expected.err);
      if (expected.exit_code == 0) {
        EXPECT_EQ(actual.exists, expected.exists);
        EXPECT_EQ(actual.bytes.size(), expected.bytes.size());
        EXPECT_TRUE(actual.bytes == expected.bytes);
        EXPECT_EQ(actual.names, expected.names);
      } else {
        // qemu-img may leave a file behind; instar leaves only the input.
        EXPECT_EQ(actual.names, std::vector<std::string>{"in.raw"});
      }
    }
  }

  fs::path dir_;
  std::vector<QemuImg> qemu_imgs_;
};

TEST_F(DdCliTest, CopiesAsQemuImgDoes) {
  ExpectSameAsQemuImg({"if=$DIR/in.raw", "of=$DIR/out.img"});
  ExpectSameAsQemuImg({"bs=1000", "count=3", "if=$DIR/in.raw", "of=$DIR/out.img"});
  ExpectSameAsQemuImg(
      {"-f", "raw", "bs=64k", "skip=2", "count=4", "if=$DIR/in.raw", "of=$DIR/out.img"});
  ExpectSameAsQemuImg({"-O", "qcow2", "if=$DIR/in.raw", "of=$DIR/out.img"});
  ExpectSameAsQemuImg({"-O", "qcow2", "bs=3000", "skip=5", "if=$DIR/in.raw", "of=$DIR/out.img"});
  ExpectSameAsQemuImg({"-U", "-O", "qcow2", "bs=1M", "if=$DIR/in.raw", "of=$DIR/out.img"});
  ExpectSameAsQemuImg({"count=0", "if=$DIR/in.raw", "of=$DIR/out.img"});
  // bs and count given twice: the last one counts.
  ExpectSameAsQemuImg(
      {"bs=1", "bs=512", "count=9", "count=2", "if=$DIR/in.raw", "of=$DIR/out.img"});
  // skip past the end: a warning, an empty image, exit 0.
  ExpectSameAsQemuImg({"skip=100000", "if=$DIR/in.raw", "of=$DIR/out.img"});
  ExpectSameAsQemuImg({"-O", "qcow2", "skip=3000", "if=$DIR/in.raw", "of=$DIR/out.img"});
}

TEST_F(DdCliTest, ErrorsInQemuImgsWords) {
  for (const char* bad : {"bs=0", "bs=abc", "bs=3G", "bs=-1", "count=-1", "count=x", "skip=y",
                          "count=99999999999999999999", "foo", "foo=1", "extra"}) {
    ExpectSameAsQemuImg({bad, "if=$DIR/in.raw", "of=$DIR/out.img"});
  }
  ExpectSameAsQemuImg({"if=$DIR/in.raw"});
  ExpectSameAsQemuImg({"of=$DIR/out.img"});
  ExpectSameAsQemuImg({});
  ExpectSameAsQemuImg({"if=$DIR/missing.raw", "of=$DIR/out.img"});
  ExpectSameAsQemuImg({"-O", "nope", "if=$DIR/in.raw", "of=$DIR/out.img"});
  ExpectSameAsQemuImg({"-O", "bochs", "if=$DIR/in.raw", "of=$DIR/out.img"});
  ExpectSameAsQemuImg({"-f", "nope", "if=$DIR/in.raw", "of=$DIR/out.img"});
  ExpectSameAsQemuImg({"-f", "qcow2", "if=$DIR/in.raw", "of=$DIR/out.img"});
  ExpectSameAsQemuImg({"if=$DIR/in.raw", "of=$DIR/missing/out.img"});
  ExpectSameAsQemuImg({"-x", "if=$DIR/in.raw", "of=$DIR/out.img"});
  // The input is opened before the output is created.
  ExpectSameAsQemuImg({"if=$DIR/missing.raw", "of=$DIR/missing/out.img"});
}

TEST_F(DdCliTest, AnExistingFileIsReplacedOnlyOnSuccess) {
  fs::create_directories(dir_);
  const fs::path target = dir_ / "out.img";
  std::ofstream(target, std::ios::binary) << "old contents";
  WriteInput(dir_ / "in.raw");
  const std::string in = "if=" + (dir_ / "in.raw").string();
  const std::string out = "of=" + target.string();
  // A read that fails after the output was created: qemu-img 7.2.22 (the
  // system's) dd of this image prints "qemu-img: error while reading from
  // input image file: Input/output error" and exits 1, leaving what it
  // wrote; instar leaves the target as it was.
  const std::string bad_in =
      "if=" + std::string(INSTAR_SOURCE_ROOT) + "/cases/images/mal-qcow2-compressed-past-eof.qcow2";
  testing::ProgramResult r = testing::RunProgram({kSelf, "--sandbox=process", "dd", bad_in, out});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "instar: error while reading from input image file: Input/output error\n");
  EXPECT_EQ(ReadFile(target), "old contents");
  r = testing::RunProgram({kSelf, "--sandbox=process", "dd", in, out});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(target), ReadFile(dir_ / "in.raw"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 2);
}

// Killing `instar dd` in the middle leaves no file at the target path
// (SIGKILL cannot be caught: the temporary file stays, under its
// recognisable name, and the target is untouched).
TEST_F(DdCliTest, KillNineMidWayLeavesNoFileAtTheTarget) {
  for (const char* sandbox : {"--sandbox=process", "--sandbox=kvm"}) {
    SCOPED_TRACE(sandbox);
    if (std::string(sandbox) == "--sandbox=kvm" && ::access("/dev/kvm", R_OK | W_OK) != 0) continue;
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // A sparse 8 GiB input: dd writes every block of it, zeros included.
    const fs::path input = dir_ / "in.raw";
    std::ofstream(input, std::ios::binary).close();
    fs::resize_file(input, uint64_t{8} << 30);
    const fs::path target = dir_ / "big.img";
    const pid_t pid = Spawn({kSelf, sandbox, "dd", "-O", "qcow2", "bs=1M", "if=" + input.string(),
                             "of=" + target.string()});
    ASSERT_GT(pid, 0);
    const bool writing = WaitForTemporaryFile(dir_);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(writing) << "the dd never started writing";
    EXPECT_TRUE(WIFSIGNALED(status));
    EXPECT_FALSE(fs::exists(target));
    for (const auto& entry : fs::directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      if (name == "in.raw") continue;
      EXPECT_EQ(name.rfind(".big.img.instar-", 0), 0u) << name;
    }
  }
}

}  // namespace
}  // namespace instar::vmm
