// `instar resize` and `instar amend` against live qemu-img: every qemu-img
// this machine has (the system's, and each version of the matrix when it
// is present) runs the same command lines as `instar --compat <its
// version>`, each on its own copy of the same image (made by that
// qemu-img: input, not output), each in a directory of its own. stdout,
// stderr, the exit status, the image's length and allocation and what
// that qemu-img's `info --output=json` says of the image afterwards must
// agree, after the directory and the program's name are replaced by
// placeholders. Nothing here is a pasted qemu-img output: the expected
// side is what qemu-img prints now.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vmm/testing/qemu_img_programs.h"
#include "vmm/testing/subprocess.h"

namespace instar::vmm {
namespace {

namespace fs = std::filesystem;

const std::string kSelf = INSTAR_BINARY_PATH;

using testing::Normalise;
using testing::QemuImg;
using testing::QemuImgs;
using testing::ReadFile;
using testing::ReplaceAll;

std::string WithoutCid(std::string text) {
  const std::string key = "\"cid\": ";
  const size_t at = text.find(key);
  if (at == std::string::npos) return text;
  const size_t end = text.find_first_not_of("0123456789", at + key.size());
  return text.replace(at + key.size(), end - at - key.size(), "$CID");
}

struct Outcome {
  int exit_code = 0;
  std::string out;
  std::string err;
  bool exists = false;
  uint64_t length = 0;
  uint64_t allocated = 0;  // st_blocks * 512
  std::string info;        // qemu-img info --output=json of the image afterwards
};

// The image $DIR/a.img is made by `qemu` with `create_args`, then `prefix`
// + `args` run on it.
Outcome RunIn(const QemuImg& qemu, const std::vector<std::string>& create_args,
              const std::vector<std::string>& prefix, const std::vector<std::string>& args,
              const fs::path& dir) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string image = (dir / "a.img").string();
  Outcome outcome;
  if (!create_args.empty()) {
    std::vector<std::string> create = {qemu.path, "create", "-q"};
    create.insert(create.end(), create_args.begin(), create_args.end());
    create.push_back(image);
    const testing::ProgramResult made = testing::RunProgram(create);
    EXPECT_EQ(made.exit_code, 0) << made.err;
  }
  std::vector<std::string> argv = prefix;
  for (const std::string& arg : args) argv.push_back(ReplaceAll(arg, "$DIR", dir.string()));
  const testing::ProgramResult r = testing::RunProgram(argv);
  outcome.exit_code = r.exit_code;
  outcome.out = Normalise(r.out, prefix[0], dir.string());
  outcome.err = Normalise(r.err, prefix[0], dir.string());
  struct stat st {};
  outcome.exists = ::stat(image.c_str(), &st) == 0;
  if (outcome.exists) {
    outcome.length = static_cast<uint64_t>(st.st_size);
    outcome.allocated = static_cast<uint64_t>(st.st_blocks) * 512;
    const testing::ProgramResult info =
        testing::RunProgram({qemu.path, "info", "--output=json", image});
    outcome.info = WithoutCid(ReplaceAll(info.out + info.err, dir.string(), "$DIR"));
  }
  return outcome;
}

class ModifyCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("instar-resize-cli-" + std::to_string(::getpid()));
    qemu_imgs_ = QemuImgs();
    // ci/setup installs qemu-utils: a machine without any qemu-img cannot
    // run this test, and must say so.
    ASSERT_FALSE(qemu_imgs_.empty()) << "no qemu-img on this machine (/usr/bin/qemu-img, "
                                        "qemu-img-binaries/)";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // `command` `args` (the image is $DIR/a.img, made first with
  // `qemu-img create -q <create_args> $DIR/a.img`; none when empty) with
  // every qemu-img and with instar as that version.
  void ExpectSameAsQemuImg(const std::string& command, const std::vector<std::string>& create_args,
                           const std::vector<std::string>& args,
                           const std::string& sandbox = "process") {
    for (const QemuImg& qemu : qemu_imgs_) {
      SCOPED_TRACE(qemu.version + ": " + command + " " + ::testing::PrintToString(args) + " on " +
                   ::testing::PrintToString(create_args));
      const Outcome expected = RunIn(qemu, create_args, {qemu.path, command}, args, dir_ / "qemu");
      const Outcome actual = RunIn(
          qemu, create_args, {kSelf, "--sandbox=" + sandbox, "--compat", qemu.version, command},
          args, dir_ / "instar");
      EXPECT_EQ(actual.exit_code, expected.exit_code);
      EXPECT_EQ(actual.out, expected.out);
      EXPECT_EQ(actual.err, expected.err);
      EXPECT_EQ(actual.exists, expected.exists);
      EXPECT_EQ(actual.length, expected.length);
      EXPECT_EQ(actual.allocated, expected.allocated);
      EXPECT_EQ(actual.info, expected.info);
    }
  }
  void Resize(const std::vector<std::string>& create_args, const std::vector<std::string>& args,
              const std::string& sandbox = "process") {
    ExpectSameAsQemuImg("resize", create_args, args, sandbox);
  }
  void Amend(const std::vector<std::string>& create_args, const std::vector<std::string>& args) {
    ExpectSameAsQemuImg("amend", create_args, args);
  }

  fs::path dir_;
  std::vector<QemuImg> qemu_imgs_;
};

const std::vector<std::string> kRaw1M = {"-f", "raw", "-o", "size=1M"};
const std::vector<std::string> kRaw64M = {"-f", "raw", "-o", "size=64M"};

TEST_F(ModifyCliTest, RawGrowsAndShrinksAsQemuImgDoes) {
  Resize(kRaw1M, {"-f", "raw", "$DIR/a.img", "64M"});
  Resize(kRaw1M, {"-f", "raw", "$DIR/a.img", "+63M"});
  Resize(kRaw1M, {"$DIR/a.img", "1048577"});
  Resize(kRaw64M, {"-f", "raw", "--shrink", "$DIR/a.img", "1M"});
  Resize(kRaw64M, {"-f", "raw", "--shrink", "$DIR/a.img", "-32M"});
  Resize(kRaw64M, {"-q", "-f", "raw", "--shrink", "$DIR/a.img", "-32M"});
  Resize(kRaw1M, {"-f", "raw", "$DIR/a.img", "1M"});
  Resize(kRaw1M, {"-f", "raw", "--preallocation=off", "$DIR/a.img", "4M"});
  Resize(kRaw1M, {"-f", "raw", "--preallocation=falloc", "$DIR/a.img", "4M"});
  Resize(kRaw1M, {"-f", "raw", "--preallocation=full", "$DIR/a.img", "+3M"});
  Resize({"-f", "raw", "-o", "size=0"}, {"-f", "raw", "$DIR/a.img", "64k"});
  // The same through the kvm backend, where this machine has one.
  if (::access("/dev/kvm", R_OK | W_OK) == 0) {
    Resize(kRaw1M, {"-f", "raw", "$DIR/a.img", "+3M"}, "kvm");
    Resize(kRaw64M, {"-f", "raw", "--shrink", "$DIR/a.img", "1M"}, "kvm");
  }
}

TEST_F(ModifyCliTest, ResizeRefusesInQemuImgsWords) {
  Resize(kRaw64M, {"-f", "raw", "$DIR/a.img", "1M"});
  Resize(kRaw1M, {"-f", "raw", "--preallocation=metadata", "$DIR/a.img", "4M"});
  Resize(kRaw1M, {"-f", "raw", "--preallocation=bogus", "$DIR/a.img", "4M"});
  Resize(kRaw1M, {"-f", "raw", "--preallocation=falloc", "$DIR/a.img", "512k"});
  Resize(kRaw1M, {"-f", "raw", "$DIR/a.img", "-1M"});
  Resize(kRaw1M, {"-f", "raw", "--shrink", "$DIR/a.img", "0"});
  Resize(kRaw1M, {"-f", "raw", "$DIR/a.img", "1Q"});
  Resize(kRaw1M, {"-f", "raw", "$DIR/a.img", "+"});
  Resize(kRaw1M, {"-f", "raw", "$DIR/a.img", "99E"});
  Resize(kRaw1M, {"-f", "raw", "$DIR/a.img", "0x10k"});
  Resize(kRaw1M, {"-f", "nope", "$DIR/a.img", "2M"});
  Resize(kRaw1M, {"-f", "vpc", "$DIR/a.img", "2M"});
  // Option and argument errors.
  Resize(kRaw1M, {"$DIR/a.img"});
  Resize(kRaw1M, {"-x", "$DIR/a.img", "2M"});
  Resize(kRaw1M, {"-f", "raw", "$DIR/a.img", "2M", "3M"});
  Resize(kRaw1M, {"-f", "raw", "$DIR/a.img", "--shrink", "-512k"});
  Resize(kRaw1M, {"-f", "raw", "--", "$DIR/a.img", "2M"});
  // A file qemu-img cannot open.
  Resize({}, {"$DIR/missing.img", "2M"});
  Resize({}, {"$DIR", "2M"});
}

// vpc, vhdx and vmdk have no truncate in qemu; qcow2's resize is not in
// instar yet, and is left out here.
TEST_F(ModifyCliTest, FormatsWithoutResizeRefuseIt) {
  Resize({"-f", "vpc", "-o", "size=1M"}, {"-f", "vpc", "$DIR/a.img", "2M"});
  Resize({"-f", "vpc", "-o", "size=1M"}, {"$DIR/a.img", "+1M"});
  Resize({"-f", "vhdx", "-o", "size=1M"}, {"$DIR/a.img", "2M"});
  Resize({"-f", "vmdk", "-o", "size=1M"},
         {"-f", "vmdk", "--preallocation=full", "$DIR/a.img", "2M"});
}

// A read-only file: what qemu-img makes of it (as root it opens anyway).
TEST_F(ModifyCliTest, AReadOnlyFileIsWhatQemuImgMakesOfIt) {
  for (const QemuImg& qemu : qemu_imgs_) {
    SCOPED_TRACE(qemu.version);
    std::vector<testing::ProgramResult> results;
    std::vector<uint64_t> lengths;
    for (const std::vector<std::string>& prefix :
         {std::vector<std::string>{qemu.path},
          std::vector<std::string>{kSelf, "--sandbox=process", "--compat", qemu.version}}) {
      fs::remove_all(dir_);
      fs::create_directories(dir_);
      const std::string image = (dir_ / "ro.img").string();
      ASSERT_EQ(
          testing::RunProgram({qemu.path, "create", "-q", "-f", "raw", image, "1M"}).exit_code, 0);
      ASSERT_EQ(::chmod(image.c_str(), 0444), 0);
      std::vector<std::string> argv = prefix;
      argv.insert(argv.end(), {"resize", "-f", "raw", image, "2M"});
      testing::ProgramResult r = testing::RunProgram(argv);
      r.err = Normalise(r.err, prefix[0], dir_.string());
      results.push_back(r);
      lengths.push_back(fs::file_size(image));
    }
    EXPECT_EQ(results[1].exit_code, results[0].exit_code);
    EXPECT_EQ(results[1].out, results[0].out);
    EXPECT_EQ(results[1].err, results[0].err);
    EXPECT_EQ(lengths[1], lengths[0]);
  }
}

TEST_F(ModifyCliTest, AmendInQemuImgsWords) {
  Amend(kRaw1M, {"$DIR/a.img"});
  Amend(kRaw1M, {"-o", "size=2M"});
  Amend(kRaw1M, {"-o", "size=2M", "$DIR/a.img", "$DIR/b.img"});
  Amend(kRaw1M, {"-o", "size=2M", "$DIR/a.img"});
  Amend(kRaw1M, {"-f", "raw", "-o", "size=2M", "$DIR/a.img"});
  Amend(kRaw1M, {"-o", "", "$DIR/a.img"});
  Amend(kRaw1M, {"-o", ",x", "$DIR/a.img"});
  Amend(kRaw1M, {"-t", "bogus", "-o", "size=2M", "$DIR/a.img"});
  Amend(kRaw1M, {"-x", "-o", "a", "$DIR/a.img"});
  Amend(kRaw1M, {"-f", "nope", "-o", "a=b", "$DIR/a.img"});
  Amend({"-f", "vpc", "-o", "size=1M"}, {"-o", "size=2M", "-o", "x=y", "-f", "vpc", "$DIR/a.img"});
  Amend({"-f", "vhdx", "-o", "size=1M"}, {"--force", "-o", "log_size=2M", "$DIR/a.img"});
  Amend({}, {"-o", "size=2M", "$DIR/missing.img"});
}

}  // namespace
}  // namespace instar::vmm
