// `instar create` against live qemu-img: every qemu-img this machine has
// (the system's, and each version of the matrix when it is present) runs
// the same command lines as `instar --compat <its version> create`, each in
// a directory of its own; stdout (the Formatting line), stderr, the exit
// status and the file made must agree, after the directory and the
// program's name are replaced by placeholders. Nothing here is a pasted
// qemu-img output: the expected side is what qemu-img prints now.
//
// Also the output's life: a kill -9 of `instar create` in the middle of
// writing, and a crash of the sandbox helper in the middle, leave no file
// at the target and never touch an existing one.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

using testing::Normalise;
using testing::QemuImg;
using testing::QemuImgs;
using testing::ReadFile;
using testing::ReplaceAll;

struct Made {
  int exit_code = 0;
  std::string out;
  std::string err;
  bool exists = false;
  std::string bytes;
  std::vector<std::string> names;  // the directory's entries
};

Made RunIn(const std::vector<std::string>& prefix, const std::vector<std::string>& args,
           const fs::path& dir) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<std::string> argv = prefix;
  for (const std::string& arg : args) argv.push_back(ReplaceAll(arg, "$DIR", dir.string()));
  const testing::ProgramResult r = testing::RunProgram(argv);
  Made made;
  made.exit_code = r.exit_code;
  made.out = Normalise(r.out, prefix[0], dir.string());
  made.err = Normalise(r.err, prefix[0], dir.string());
  const fs::path file = dir / "a.img";
  made.exists = fs::exists(file);
  if (made.exists) made.bytes = ReadFile(file);
  for (const auto& entry : fs::directory_iterator(dir)) {
    made.names.push_back(entry.path().filename().string());
  }
  return made;
}

class CreateCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("instar-create-cli-" + std::to_string(::getpid()));
    qemu_imgs_ = QemuImgs();
    // ci/setup installs qemu-utils: a machine without any qemu-img cannot
    // run this test, and must say so.
    ASSERT_FALSE(qemu_imgs_.empty()) << "no qemu-img on this machine (/usr/bin/qemu-img, "
                                        "qemu-img-binaries/)";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `args` (FILE is $DIR/a.img) with every qemu-img and with instar.
  void ExpectSameAsQemuImg(const std::vector<std::string>& args) {
    for (const QemuImg& qemu : qemu_imgs_) {
      SCOPED_TRACE(qemu.version + ": create " + ::testing::PrintToString(args));
      const Made expected = RunIn({qemu.path, "create"}, args, dir_ / "qemu");
      const Made actual = RunIn({kSelf, "--sandbox=process", "--compat", qemu.version, "create"},
                                args, dir_ / "instar");
      EXPECT_EQ(actual.exit_code, expected.exit_code);
      EXPECT_EQ(actual.out, expected.out);
      EXPECT_EQ(actual.err, expected.err);
      if (expected.exit_code == 0) {
        EXPECT_EQ(actual.exists, expected.exists);
        EXPECT_EQ(actual.bytes.size(), expected.bytes.size());
        EXPECT_TRUE(actual.bytes == expected.bytes);
        EXPECT_EQ(actual.names, expected.names);
      } else {
        // qemu-img may leave an empty file behind; instar leaves nothing.
        EXPECT_EQ(actual.names, std::vector<std::string>{});
      }
    }
  }

  fs::path dir_;
  std::vector<QemuImg> qemu_imgs_;
};

TEST_F(CreateCliTest, RawImagesAndTheirFormattingLine) {
  ExpectSameAsQemuImg({"-f", "raw", "$DIR/a.img", "1M"});
  ExpectSameAsQemuImg({"$DIR/a.img", "64k"});
  ExpectSameAsQemuImg({"-f", "raw", "$DIR/a.img", "1000"});
  ExpectSameAsQemuImg({"-f", "raw", "$DIR/a.img", "0"});
  ExpectSameAsQemuImg({"-f", "raw", "-o", "preallocation=full", "$DIR/a.img", "64k"});
  ExpectSameAsQemuImg({"-f", "raw", "-o", "preallocation=falloc,nocow=on", "$DIR/a.img", "1M"});
  ExpectSameAsQemuImg({"-f", "raw", "-o", "preallocation=off", "-o", "extent_size_hint=0x10",
                       "$DIR/a.img", "0x100000"});
  ExpectSameAsQemuImg({"-f", "raw", "-o", "size=2M", "$DIR/a.img"});
  ExpectSameAsQemuImg({"-q", "-f", "raw", "$DIR/a.img", "1M"});
}

TEST_F(CreateCliTest, ErrorsInQemuImgsWords) {
  ExpectSameAsQemuImg({"-f", "raw", "-o", "preallocation=metadata", "$DIR/a.img", "1M"});
  ExpectSameAsQemuImg({"-f", "raw", "-o", "preallocation=bogus", "$DIR/a.img", "1M"});
  ExpectSameAsQemuImg({"-f", "raw", "-o", "foo=1", "$DIR/a.img", "1M"});
  ExpectSameAsQemuImg({"-f", "raw", "-o", "nocow=maybe", "$DIR/a.img", "1M"});
  ExpectSameAsQemuImg({"-f", "raw", "-o", "", "$DIR/a.img", "1M"});
  ExpectSameAsQemuImg({"-f", "raw", "-o", "size=1M", "$DIR/a.img", "4M"});
  ExpectSameAsQemuImg({"-f", "raw", "$DIR/a.img", "1x"});
  ExpectSameAsQemuImg({"-f", "raw", "$DIR/a.img"});
  ExpectSameAsQemuImg({"-f", "raw"});
  ExpectSameAsQemuImg({"-f", "raw", "$DIR/a.img", "1M", "2"});
  ExpectSameAsQemuImg({"-f", "nope", "$DIR/a.img", "1M"});
  ExpectSameAsQemuImg({"-f", "bochs", "$DIR/a.img", "1M"});
  ExpectSameAsQemuImg({"-f", "raw", "-b", "x", "$DIR/a.img", "1M"});
  ExpectSameAsQemuImg({"-f", "raw", "-F", "raw", "$DIR/a.img", "1M"});
  ExpectSameAsQemuImg({"-f", "raw", "$DIR/missing/a.img", "1M"});
  ExpectSameAsQemuImg({"-f", "raw", "$DIR/a.img", "-1"});
}

// The target is replaced only when the new image is complete.
TEST_F(CreateCliTest, AnExistingFileIsReplacedOnlyOnSuccess) {
  fs::create_directories(dir_);
  const fs::path target = dir_ / "a.img";
  std::ofstream(target, std::ios::binary) << "old contents";
  testing::ProgramResult r = testing::RunProgram({kSelf, "--sandbox=process", "create", "-f", "raw",
                                                  "-o", "preallocation=metadata", target, "1M"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(fs::file_size(target), 12u);
  r = testing::RunProgram({kSelf, "--sandbox=process", "create", "-q", target, "1M"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(fs::file_size(target), 1u << 20);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

// issue 12's "Checked by": killing `instar create` in the middle leaves no
// file at the target path (SIGKILL cannot be caught: the temporary file
// stays, under its recognisable name, and the target is untouched).
TEST_F(CreateCliTest, KillNineMidWayLeavesNoFileAtTheTarget) {
  for (const char* sandbox : {"--sandbox=process", "--sandbox=kvm"}) {
    SCOPED_TRACE(sandbox);
    if (std::string(sandbox) == "--sandbox=kvm" && ::access("/dev/kvm", R_OK | W_OK) != 0) continue;
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const fs::path target = dir_ / "big.img";
    const pid_t pid = Spawn({kSelf, sandbox, "create", "-q", "-f", "raw", "-o",
                             "preallocation=full", target.string(), "8G"});
    ASSERT_GT(pid, 0);
    const bool writing = WaitForTemporaryFile(dir_);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(writing) << "the create never started writing";
    EXPECT_TRUE(WIFSIGNALED(status));
    EXPECT_FALSE(fs::exists(target));
    for (const auto& entry : fs::directory_iterator(dir_)) {
      EXPECT_EQ(entry.path().filename().string().rfind(".big.img.instar-", 0), 0u);
    }
  }
}

// SIGTERM, and a sandbox helper that dies mid-way (a guest crash), remove
// the temporary file too: nothing is left at all.
TEST_F(CreateCliTest, ATerminatedRunOrACrashedGuestLeavesNothing) {
  fs::create_directories(dir_);
  const fs::path target = dir_ / "big.img";
  pid_t pid = Spawn({kSelf, "--sandbox=process", "create", "-q", "-f", "raw", "-o",
                     "preallocation=full", target.string(), "8G"});
  ASSERT_TRUE(WaitForTemporaryFile(dir_));
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 0);

  pid = Spawn({kSelf, "--sandbox=process", "create", "-q", "-f", "raw", "-o", "preallocation=full",
               target.string(), "8G"});
  ASSERT_TRUE(WaitForTemporaryFile(dir_));
  // The helper is instar's child.
  std::ifstream children("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) +
                         "/children");
  pid_t helper = 0;
  ASSERT_TRUE(children >> helper);
  ::kill(helper, SIGKILL);
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 0);
}

// Every file in `dir` by name, the descriptor's "CID=<hex>" (qemu's
// g_random_int(), instar's getrandom(), as long as its hex) as "CID=$CID".
// In a sparse file ("KDMV") the descriptor's 20 sectors at 512 are its
// text up to the first NUL: the file keeps its length whatever the CID's.
std::map<std::string, std::string> FilesWithoutCid(const fs::path& dir) {
  constexpr size_t kDescriptor = 512;
  constexpr size_t kDescriptorEnd = kDescriptor + 20 * 512;
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string bytes = ReadFile(entry.path());
    std::string tail;
    if (bytes.rfind("KDMV", 0) == 0 && bytes.size() >= kDescriptorEnd) {
      tail = bytes.substr(kDescriptorEnd);
      bytes = bytes.substr(0, kDescriptor) +
              bytes.substr(kDescriptor, bytes.find('\0', kDescriptor) - kDescriptor);
    }
    if (const size_t at = bytes.find("\nCID="); at != std::string::npos) {
      const size_t end = bytes.find('\n', at + 1);
      bytes.replace(at + 5, end - (at + 5), "$CID");
    }
    files[entry.path().filename().string()] = bytes + tail;
  }
  return files;
}

// The same files, by name, with the same bytes.
void ExpectSameFiles(const std::map<std::string, std::string>& ours,
                     const std::map<std::string, std::string>& theirs) {
  EXPECT_EQ(ours.size(), theirs.size());
  for (const auto& [name, bytes] : theirs) {
    SCOPED_TRACE(name);
    ASSERT_EQ(ours.count(name), 1u);
    EXPECT_EQ(ours.at(name).size(), bytes.size());
    EXPECT_TRUE(ours.at(name) == bytes);
  }
}

// A vmdk monolithicFlat is two files: the descriptor FILE and its extent
// beside it (qemu's name: FILE's base up to its last '.', "-flat", the
// rest); twoGbMaxExtentSparse and twoGbMaxExtentFlat an extent file per
// 2 GiB ("-s001", "-f001" ...). Every qemu-img and instar with its version,
// on the process and the kvm backends, make the same files byte for byte
// but for the random CID, print the same, and fail alike (leaving nothing,
// where qemu-img leaves nothing either); qemu-img check finds no error in
// instar's.
TEST_F(CreateCliTest, MonolithicFlatVmdkIsTwoFilesAsQemuImgWritesThem) {
  const std::vector<std::vector<std::string>> kCommands = {
      {"-f", "vmdk", "-o", "subformat=monolithicFlat", "$DIR/a.vmdk", "10M"},
      {"-f", "vmdk", "-o", "subformat=monolithicFlat,adapter_type=lsilogic", "$DIR/a", "1000"},
      {"-f", "vmdk", "-o", "subformat=monolithicFlat", "$DIR/x.y.vmdk", "0"},
      {"-q", "-f", "vmdk", "-o", "subformat=monolithicFlat,hwversion=7", "$DIR/a.vmdk", "64M"},
      {"-f", "vmdk", "-o", "subformat=monolithicFlat,zeroed_grain=on", "$DIR/a.vmdk", "1M"},
      {"-f", "vmdk", "-o", "subformat=twoGbMaxExtentSparse", "$DIR/a.vmdk", "5G"},
      {"-f", "vmdk", "-o", "subformat=twoGbMaxExtentSparse,adapter_type=lsilogic", "$DIR/x.y",
       "2G"},
      {"-f", "vmdk", "-o", "subformat=twoGbMaxExtentSparse", "$DIR/a.vmdk", "0"},
      {"-f", "vmdk", "-o", "subformat=twoGbMaxExtentFlat", "$DIR/a.vmdk", "3M"},
      {"-f", "vmdk", "-o", "subformat=twoGbMaxExtentFlat,zeroed_grain=on", "$DIR/a.vmdk", "3M"},
  };
  const bool kvm = ::access("/dev/kvm", R_OK | W_OK) == 0;
  for (const std::vector<std::string>& args : kCommands) {
    for (const QemuImg& qemu : qemu_imgs_) {
      SCOPED_TRACE(qemu.version + ": create " + ::testing::PrintToString(args));
      const Made expected = RunIn({qemu.path, "create"}, args, dir_ / "qemu");
      const std::map<std::string, std::string> theirs = FilesWithoutCid(dir_ / "qemu");
      for (const char* sandbox : {"--sandbox=process", "--sandbox=kvm"}) {
        if (std::string(sandbox) == "--sandbox=kvm" && !kvm) continue;
        SCOPED_TRACE(sandbox);
        const Made actual =
            RunIn({kSelf, sandbox, "--compat", qemu.version, "create"}, args, dir_ / "instar");
        EXPECT_EQ(actual.exit_code, expected.exit_code);
        EXPECT_EQ(actual.out, expected.out);
        EXPECT_EQ(actual.err, expected.err);
        const std::map<std::string, std::string> ours = FilesWithoutCid(dir_ / "instar");
        ExpectSameFiles(ours, theirs);
        // The descriptor file names the others (a disk of size 0 has none,
        // and qemu cannot open it).
        if (expected.exit_code == 0 && theirs.size() >= 2) {
          const std::string target = args[args.size() - 2].substr(5);  // after "$DIR/"
          const testing::ProgramResult check =
              testing::RunProgram({qemu.path, "check", (dir_ / "instar" / target).string()});
          EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
        }
      }
    }
  }
}

// A vmdk over a backing file: qemu's vmdk create opens the file itself
// (even with -u), refuses one that is not a vmdk, and writes its CID as
// parentCID and the name as given as parentFileNameHint. Every qemu-img and
// instar with its version, on both backends, over the same parent files
// (base.vmdk, b.qcow2, copied into each directory), make the same files but
// for the random CID and print the same; a failure leaves nothing of
// instar's.
TEST_F(CreateCliTest, VmdkOverABackingFileAsQemuImgWritesIt) {
  const fs::path parents = dir_ / "parents";
  fs::create_directories(parents);
  const std::string newest = qemu_imgs_.back().path;
  ASSERT_EQ(testing::RunProgram(
                {newest, "create", "-q", "-f", "vmdk", (parents / "base.vmdk").string(), "3M"})
                .exit_code,
            0);
  ASSERT_EQ(testing::RunProgram(
                {newest, "create", "-q", "-f", "qcow2", (parents / "b.qcow2").string(), "1M"})
                .exit_code,
            0);
  const std::vector<std::vector<std::string>> kCommands = {
      {"-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", "$DIR/a.vmdk"},
      {"-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", "$DIR/a.vmdk", "8M"},
      {"-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", "-o",
       "subformat=twoGbMaxExtentSparse,zeroed_grain=on", "$DIR/a.vmdk"},
      {"-f", "vmdk", "-o", "backing_file=base.vmdk,backing_fmt=vmdk,subformat=streamOptimized",
       "$DIR/a.vmdk"},
      {"-f", "vmdk", "-b", "b.qcow2", "-F", "qcow2", "$DIR/a.vmdk"},
      {"-f", "vmdk", "-u", "-b", "missing.vmdk", "-F", "vmdk", "$DIR/a.vmdk", "1M"},
      {"-f", "vmdk", "-u", "-b", "b.qcow2", "-F", "vmdk", "$DIR/a.vmdk", "1M"},
      {"-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", "-o", "subformat=monolithicFlat",
       "$DIR/a.vmdk"},
  };
  const bool kvm = ::access("/dev/kvm", R_OK | W_OK) == 0;
  // Runs create in `dir`, made afresh with the parents; the files it made.
  auto run = [&](const std::vector<std::string>& prefix, const std::vector<std::string>& args,
                 const fs::path& dir, testing::ProgramResult* r) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    for (const char* parent : {"base.vmdk", "b.qcow2"})
      fs::copy_file(parents / parent, dir / parent);
    std::vector<std::string> argv = prefix;
    argv.push_back("create");
    for (const std::string& arg : args) argv.push_back(ReplaceAll(arg, "$DIR", dir.string()));
    *r = testing::RunProgram(argv);
    r->out = Normalise(r->out, prefix[0], dir.string());
    r->err = Normalise(r->err, prefix[0], dir.string());
    std::map<std::string, std::string> files = FilesWithoutCid(dir);
    files.erase("base.vmdk");
    files.erase("b.qcow2");
    return files;
  };
  for (const std::vector<std::string>& args : kCommands) {
    for (const QemuImg& qemu : qemu_imgs_) {
      SCOPED_TRACE(qemu.version + ": create " + ::testing::PrintToString(args));
      testing::ProgramResult expected;
      const std::map<std::string, std::string> theirs =
          run({qemu.path}, args, dir_ / "qemu", &expected);
      for (const char* sandbox : {"--sandbox=process", "--sandbox=kvm"}) {
        if (std::string(sandbox) == "--sandbox=kvm" && !kvm) continue;
        SCOPED_TRACE(sandbox);
        testing::ProgramResult actual;
        const std::map<std::string, std::string> ours =
            run({kSelf, sandbox, "--compat", qemu.version}, args, dir_ / "instar", &actual);
        EXPECT_EQ(actual.exit_code, expected.exit_code);
        EXPECT_EQ(actual.out, expected.out);
        EXPECT_EQ(actual.err, expected.err);
        if (expected.exit_code != 0) {
          EXPECT_TRUE(ours.empty());
          continue;
        }
        ExpectSameFiles(ours, theirs);
        const testing::ProgramResult check =
            testing::RunProgram({qemu.path, "check", (dir_ / "instar" / "a.vmdk").string()});
        EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
      }
    }
  }
}

// Both files are replaced only when both are complete: a refused create
// touches neither, a successful one replaces both.
TEST_F(CreateCliTest, MonolithicFlatReplacesBothFilesOnlyOnSuccess) {
  fs::create_directories(dir_);
  const fs::path target = dir_ / "a.vmdk";
  const fs::path extent = dir_ / "a-flat.vmdk";
  std::ofstream(target, std::ios::binary) << "old descriptor";
  std::ofstream(extent, std::ios::binary) << "old extent";
  testing::ProgramResult r =
      testing::RunProgram({kSelf, "--sandbox=process", "create", "-f", "vmdk", "-o",
                           "subformat=monolithicFlat,zeroed_grain=on", target, "1M"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(ReadFile(target), "old descriptor");
  EXPECT_EQ(ReadFile(extent), "old extent");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 2);
  r = testing::RunProgram({kSelf, "--sandbox=process", "create", "-q", "-f", "vmdk", "-o",
                           "subformat=monolithicFlat", target, "1M"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(fs::file_size(extent), 1u << 20);
  EXPECT_NE(ReadFile(target).find("RW 2048 FLAT \"a-flat.vmdk\" 0"), std::string::npos);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 2);
}

}  // namespace
}  // namespace instar::vmm
