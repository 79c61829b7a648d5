// `instar convert` against live qemu-img: every qemu-img this machine has
// (the system's, and each version of the matrix when it is present) runs the
// same options as `instar --compat <its version> convert`, each in a
// directory of its own holding the same input; stdout, stderr and the exit
// status must agree after the directory and the program's name are
// replaced by placeholders, and a raw or qcow2 output must be the file
// qemu-img wrote, byte for byte (the other formats hold random or clock
// fields: their outputs must read back as the input, and pass qemu-img
// check). Nothing here is a pasted qemu-img output: the expected side is
// what qemu-img prints now.
//
// Also the output's life: a kill -9 of `instar convert` in the middle of
// writing leaves no file at the target, and -n writes into an existing
// target in place.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
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

// The input every run reads: 1 MiB of data with runs of zeros of several
// lengths (one shorter than -S's default 4 KiB, two longer), so that the
// sparse detection has something to decide.
void WriteInput(const fs::path& path) {
  std::string bytes(1 << 20, '\0');
  uint32_t state = 7;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if ((i >= 300000 && i < 500000) || (i >= 600000 && i < 602000) || (i >= 700001 && i < 720000)) {
      continue;
    }
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

class ConvertCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("instar-convert-cli-" + std::to_string(::getpid()));
    qemu_imgs_ = QemuImgs();
    ASSERT_FALSE(qemu_imgs_.empty()) << "no qemu-img on this machine (/usr/bin/qemu-img, "
                                        "qemu-img-binaries/)";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `args` (the input is $DIR/in.raw, the output $DIR/out.img) with
  // every qemu-img and with instar. `same_bytes`: the outputs must be the
  // same file.
  void ExpectSameAsQemuImg(const std::vector<std::string>& args, bool same_bytes = true) {
    for (const QemuImg& qemu : qemu_imgs_) {
      SCOPED_TRACE(qemu.version + ": convert " + ::testing::PrintToString(args));
      const Made expected = RunIn({qemu.path, "convert"}, args, dir_ / "qemu");
      const Made actual = RunIn({kSelf, "--sandbox=process", "--compat", qemu.version, "convert"},
                                args, dir_ / "instar");
      EXPECT_EQ(actual.exit_code, expected.exit_code);
      EXPECT_EQ(actual.out, expected.out);
      EXPECT_EQ(actual.err, expected.err);
      if (expected.exit_code == 0) {
        EXPECT_EQ(actual.exists, expected.exists);
        EXPECT_EQ(actual.names, expected.names);
        if (same_bytes) {
          EXPECT_EQ(actual.bytes.size(), expected.bytes.size());
          EXPECT_TRUE(actual.bytes == expected.bytes);
        }
      } else {
        // qemu-img may leave a file behind; instar leaves only the input.
        EXPECT_EQ(actual.names, std::vector<std::string>{"in.raw"});
      }
    }
  }

  fs::path dir_;
  std::vector<QemuImg> qemu_imgs_;
};

TEST_F(ConvertCliTest, ConvertsAsQemuImgDoes) {
  ExpectSameAsQemuImg({"$DIR/in.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg({"-O", "qcow2", "$DIR/in.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg(
      {"-f", "raw", "-O", "qcow2", "-o", "cluster_size=4k", "$DIR/in.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg(
      {"-O", "qcow2", "-o", "compat=0.10", "-o", "cluster_size=2M", "$DIR/in.raw", "$DIR/out.img"});
  // The sparse detection: off, the default, and coarser.
  ExpectSameAsQemuImg({"-S", "0", "-O", "qcow2", "$DIR/in.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg({"-S", "64k", "-O", "qcow2", "$DIR/in.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg({"-S", "512", "-O", "qcow2", "$DIR/in.raw", "$DIR/out.img"});
  // Several sources, one after the other.
  ExpectSameAsQemuImg({"-O", "qcow2", "$DIR/in.raw", "$DIR/in.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg(
      {"-q", "-U", "-m", "4", "-W", "-t", "none", "-O", "qcow2", "$DIR/in.raw", "$DIR/out.img"});
  // Formats whose files hold random or clock fields: the same messages,
  // the same names, not the same bytes (WritesEveryFormat reads them back).
  for (const char* format : {"vmdk", "vpc", "vhdx"}) {
    ExpectSameAsQemuImg({"-O", format, "$DIR/in.raw", "$DIR/out.img"}, /*same_bytes=*/false);
  }
}

// -l: a snapshot of the corpus's qcow2 with three, by id, by name and by
// snapshot.* options, and the refusals.
TEST_F(ConvertCliTest, SnapshotsAsQemuImgReadsThem) {
  const std::string image =
      std::string(INSTAR_SOURCE_ROOT) + "/cases/images/qcow2-snapshots3.qcow2";
  for (const char* snapshot :
       {"1", "two", "snapshot.name=three", "snapshot.id=2", "snapshot.id=1,snapshot.name=one"}) {
    ExpectSameAsQemuImg({"-l", snapshot, image, "$DIR/out.img"});
    ExpectSameAsQemuImg({"-l", snapshot, "-O", "qcow2", image, "$DIR/out.img"});
  }
  for (const char* bad : {"nope", "snapshot.id=1,snapshot.name=two", "snapshot.foo=1"}) {
    ExpectSameAsQemuImg({"-l", bad, image, "$DIR/out.img"});
  }
  ExpectSameAsQemuImg({"-l", "1", image, image, "$DIR/out.img"});
  ExpectSameAsQemuImg({"-l", "1", "$DIR/in.raw", "$DIR/out.img"});
}

TEST_F(ConvertCliTest, ErrorsInQemuImgsWords) {
  ExpectSameAsQemuImg({"$DIR/in.raw"});
  ExpectSameAsQemuImg({});
  ExpectSameAsQemuImg({"$DIR/missing.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg({"$DIR/in.raw", "$DIR/missing.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg({"-O", "nope", "$DIR/in.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg({"-O", "bochs", "$DIR/in.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg({"-f", "nope", "$DIR/in.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg({"-f", "qcow2", "$DIR/in.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg({"-O", "qcow2", "-o", "cluster_size=3k", "$DIR/in.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg({"-O", "qcow2", "-o", "nope=1", "$DIR/in.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg({"-c", "$DIR/in.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg({"-c", "-O", "vpc", "$DIR/in.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg({"-c", "-C", "-O", "qcow2", "$DIR/in.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg({"-S", "4k", "-C", "$DIR/in.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg({"-n", "-o", "cluster_size=4k", "$DIR/in.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg({"--target-is-zero", "$DIR/in.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg({"-T", "bogus", "$DIR/in.raw", "$DIR/out.img"});
  for (const char* bad : {"1000", "abc", "32M", "-1"}) {
    ExpectSameAsQemuImg({"-S", bad, "$DIR/in.raw", "$DIR/out.img"});
  }
  for (const char* bad : {"0", "17", "x"}) {
    ExpectSameAsQemuImg({"-m", bad, "$DIR/in.raw", "$DIR/out.img"});
  }
  ExpectSameAsQemuImg({"-x", "$DIR/in.raw", "$DIR/out.img"});
  ExpectSameAsQemuImg({"$DIR/in.raw", "$DIR/missing/out.img"});
  // The sources are opened before the output is created.
  ExpectSameAsQemuImg({"$DIR/missing.raw", "$DIR/missing/out.img"});
}

// A target with a backing file (-B, 10.1's -b, -F, -o backing_file): an
// overlay over a base, both made by the newest qemu-img, converted onto
// the base (or a plain image onto a chosen backing file) by every
// qemu-img and by instar: the same messages and the same file, byte for
// byte. The backing file is named by its absolute path, so that both
// runs record the same name.
class ConvertBackingCliTest : public ConvertCliTest {
 protected:
  void SetUp() override {
    ConvertCliTest::SetUp();
    fixtures_ = dir_ / "fixtures";
    fs::create_directories(fixtures_);
    const QemuImg& newest = qemu_imgs_.back();
    const std::string qemu_io = fs::path(newest.path).parent_path() / "qemu-io";
    base_ = (fixtures_ / "base.qcow2").string();
    top_ = (fixtures_ / "top.qcow2").string();
    auto run = [](const std::vector<std::string>& argv) {
      const testing::ProgramResult r = testing::RunProgram(argv);
      ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    };
    run({newest.path, "create", "-q", "-f", "qcow2", base_, "4M"});
    run({qemu_io, "-f", "qcow2", "-c", "write -q -P 1 0 1M", "-c", "write -q -P 7 3M 128k", base_});
    run({newest.path, "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", top_,
         "6M"});
    short_ = (fixtures_ / "short.raw").string();
    WriteInput(short_);
    // Data over the base's, a partial cluster, zeros over its data and
    // past its end, a cluster of data that is all zeros.
    run({qemu_io, "-f", "qcow2", "-c", "write -q -P 2 512k 1M", "-c", "write -q -P 3 100k 8k", "-c",
         "write -q -z 3M 64k", "-c", "write -q -P 0 2M 64k", "-c", "write -q -P 5 2M 4k", "-c",
         "write -q -z 5M 512k", "-c", "write -q -P 6 5500k 12k", top_});
  }

  fs::path fixtures_;
  std::string base_;
  std::string top_;
  std::string short_;  // 1 MiB of raw data, a backing file shorter than top_
};

TEST_F(ConvertBackingCliTest, WritesTheOverlayAsQemuImgDoes) {
  const std::vector<std::vector<std::string>> runs = {
      {"-O", "qcow2", "-B", base_, "-o", "backing_fmt=qcow2", top_, "$DIR/out.img"},
      {"-O", "qcow2", "-o", "backing_file=" + base_ + ",backing_fmt=qcow2", top_, "$DIR/out.img"},
      {"-O", "qcow2", "-o", "compat=0.10,backing_fmt=qcow2", "-B", base_, top_, "$DIR/out.img"},
      {"-O", "qcow2", "-o", "cluster_size=4k,backing_fmt=qcow2", "-B", base_, top_, "$DIR/out.img"},
      {"-S", "0", "-O", "qcow2", "-B", base_, "-o", "backing_fmt=qcow2", top_, "$DIR/out.img"},
      {"-S", "64k", "-O", "qcow2", "-B", base_, "-o", "backing_fmt=qcow2", top_, "$DIR/out.img"},
      // -F: 6.2 and later (5.2 refuses the option); -b: 10.1 and later.
      {"-O", "qcow2", "-B", base_, "-F", "qcow2", top_, "$DIR/out.img"},
      {"-O", "qcow2", "-b", base_, "-F", "qcow2", top_, "$DIR/out.img"},
      // -B and -F win over -o's backing_file and backing_fmt.
      {"-O", "qcow2", "-o", "backing_file=" + top_ + ",backing_fmt=raw", "-B", base_, "-F", "qcow2",
       top_, "$DIR/out.img"},
      // A plain image onto a chosen backing file, and an overlay onto a raw
      // one shorter than it (1M; top is 6M).
      {"-O", "qcow2", "-B", top_, "-o", "backing_fmt=qcow2", "$DIR/in.raw", "$DIR/out.img"},
      {"-O", "qcow2", "-B", short_, "-o", "backing_fmt=raw", top_, "$DIR/out.img"},
  };
  for (const auto& args : runs) ExpectSameAsQemuImg(args);
  // 5.2 goes on with a warning where later releases refuse.
  ExpectSameAsQemuImg({"-O", "qcow2", "-B", base_, top_, "$DIR/out.img"});
  ExpectSameAsQemuImg({"-O", "qcow2", "-o", "backing_file=" + base_, top_, "$DIR/out.img"});
}

TEST_F(ConvertBackingCliTest, RefusesInQemuImgsWords) {
  const std::vector<std::vector<std::string>> runs = {
      {"-O", "raw", "-B", base_, top_, "$DIR/out.img"},
      {"-O", "vpc", "-B", base_, top_, "$DIR/out.img"},
      {"-O", "vhdx", "-B", base_, "-F", "qcow2", top_, "$DIR/out.img"},
      {"-O", "raw", "-F", "qcow2", top_, "$DIR/out.img"},
      {"-O", "qcow2", "-o", "backing_fmt=qcow2", top_, "$DIR/out.img"},
      {"-O", "qcow2", "-F", "qcow2", top_, "$DIR/out.img"},
      {"-O", "qcow2", "-B", base_, "-o", "backing_fmt=bogus", top_, "$DIR/out.img"},
      {"-O", "qcow2", "-B", base_, "-o", "backing_fmt=qcow2", top_, top_, "$DIR/out.img"},
      {"-O", "qcow2", "-B", "$DIR/missing.qcow2", "-o", "backing_fmt=qcow2", top_, "$DIR/out.img"},
      {"-O", "qcow2", "-B", "$DIR/missing.qcow2", top_, "$DIR/out.img"},
      {"-O", "vmdk", "-B", base_, "-o", "backing_fmt=qcow2", top_, "$DIR/out.img"},
      // With -n nothing is created: -B only keeps the copy to the top.
      {"-n", "--target-is-zero", "-O", "qcow2", "-B", base_, top_, "$DIR/out.img"},
      {"-n", "--target-is-zero", "-O", "qcow2", "-B", base_, "$DIR/missing.raw", "$DIR/out.img"},
  };
  for (const auto& args : runs) ExpectSameAsQemuImg(args);
}

// What qemu-img crashes on and instar refuses (docs/divergences.md): an
// empty backing file name, on which every qemu-img of the matrix dies.
TEST_F(ConvertBackingCliTest, RefusesWhatItCannotWriteInOneLine) {
  const testing::ProgramResult r =
      testing::RunProgram({kSelf, "--sandbox=process", "convert", "-O", "qcow2", "-B", "", "-F",
                           "qcow2", top_, (dir_ / "out.qcow2").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "instar: instar convert: the backing file name is empty\n");
  EXPECT_FALSE(fs::exists(dir_ / "out.qcow2"));
}

// instar's overlay, on each sandbox, for every qemu-img: it reads as its
// source (compare), and its check is clean; -n -B copies the top only
// into an existing target as qemu-img does.
TEST_F(ConvertBackingCliTest, OverlayReadsAsTheSourceAndChecksClean) {
  for (const char* sandbox : {"--sandbox=process", "--sandbox=kvm"}) {
    if (std::string(sandbox) == "--sandbox=kvm" && ::access("/dev/kvm", R_OK | W_OK) != 0) {
      GTEST_FAIL() << "/dev/kvm is not usable here";
    }
    for (const QemuImg& qemu : qemu_imgs_) {
      SCOPED_TRACE(qemu.version + " " + sandbox);
      const fs::path out = dir_ / "overlay.qcow2";
      fs::remove(out);
      testing::ProgramResult r =
          testing::RunProgram({kSelf, sandbox, "--compat", qemu.version, "convert", "-O", "qcow2",
                               "-o", "backing_fmt=qcow2", "-B", base_, top_, out.string()});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      r = testing::RunProgram({qemu.path, "compare", top_, out.string()});
      EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
      EXPECT_NE(r.out.find("Images are identical."), std::string::npos) << r.out;
      r = testing::RunProgram({qemu.path, "check", out.string()});
      EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
      EXPECT_NE(r.out.find("No errors were found"), std::string::npos) << r.out;
    }
  }
  for (const QemuImg& qemu : qemu_imgs_) {
    SCOPED_TRACE(qemu.version + " -n");
    std::string made[2];
    for (int i = 0; i < 2; ++i) {
      const fs::path target = dir_ / (i == 0 ? "n-qemu.qcow2" : "n-instar.qcow2");
      fs::remove(target);
      testing::ProgramResult r = testing::RunProgram(
          {qemu_imgs_.back().path, "create", "-q", "-f", "qcow2", target.string(), "6M"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      std::vector<std::string> argv = {qemu.path};
      if (i == 1) argv = {kSelf, "--sandbox=process", "--compat", qemu.version};
      argv.insert(argv.end(), {"convert", "-n", "-O", "qcow2", "-B"});
      argv.insert(argv.end(), {base_, top_, target.string()});
      r = testing::RunProgram(argv);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      made[i] = ReadFile(target);
    }
    EXPECT_TRUE(made[0] == made[1]);
  }
}

// Every format instar writes, from a qcow2 with data, zeros and a hole:
// each output reads back as the source in every qemu-img (compare), and
// every qemu-img that can check the format finds no error.
TEST_F(ConvertCliTest, WritesEveryFormat) {
  const QemuImg& newest = qemu_imgs_.back();
  fs::create_directories(dir_);
  WriteInput(dir_ / "in.raw");
  const fs::path source = dir_ / "src.qcow2";
  testing::ProgramResult r = testing::RunProgram(
      {newest.path, "convert", "-O", "qcow2", (dir_ / "in.raw").string(), source.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* format : {"raw", "qcow2", "vmdk", "vpc", "vhdx"}) {
    for (const char* sandbox : {"--sandbox=process", "--sandbox=kvm"}) {
      SCOPED_TRACE(std::string(format) + " " + sandbox);
      if (std::string(sandbox) == "--sandbox=kvm" && ::access("/dev/kvm", R_OK | W_OK) != 0) {
        GTEST_FAIL() << "/dev/kvm is not usable here";
      }
      const fs::path out = dir_ / (std::string("out.") + format);
      fs::remove(out);
      r = testing::RunProgram(
          {kSelf, sandbox, "convert", "-O", format, source.string(), out.string()});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.out, "");
      EXPECT_EQ(r.err, "");
      for (const QemuImg& qemu : qemu_imgs_) {
        SCOPED_TRACE(qemu.version);
        r = testing::RunProgram(
            {qemu.path, "compare", "-f", "qcow2", "-F", format, source.string(), out.string()});
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        EXPECT_NE(r.out.find("Images are identical."), std::string::npos) << r.out;
        if (std::string(format) == "qcow2" || std::string(format) == "vmdk" ||
            std::string(format) == "vhdx") {
          r = testing::RunProgram({qemu.path, "check", "-f", format, out.string()});
          EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        }
      }
    }
  }
}

// -n: into an existing, larger qcow2 holding other data: afterwards its
// first MiB reads as the input (zeros included: -n does not assume a
// zeroed target), and the rest is untouched.
TEST_F(ConvertCliTest, NoCreateWritesIntoTheExistingTarget) {
  const QemuImg& newest = qemu_imgs_.back();
  fs::create_directories(dir_);
  WriteInput(dir_ / "in.raw");
  const fs::path target = dir_ / "target.qcow2";
  const fs::path filled = dir_ / "filled.raw";
  std::ofstream(filled, std::ios::binary) << std::string(2 << 20, '\x5a');
  testing::ProgramResult r = testing::RunProgram(
      {newest.path, "convert", "-O", "qcow2", filled.string(), target.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = testing::RunProgram({kSelf, "--sandbox=process", "convert", "-n", "-O", "qcow2",
                           (dir_ / "in.raw").string(), target.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path back = dir_ / "back.raw";
  r = testing::RunProgram(
      {newest.path, "convert", "-f", "qcow2", "-O", "raw", target.string(), back.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string bytes = ReadFile(back);
  ASSERT_EQ(bytes.size(), size_t{2} << 20);
  EXPECT_TRUE(bytes.substr(0, 1 << 20) == ReadFile(dir_ / "in.raw"));
  EXPECT_EQ(bytes.substr(1 << 20), std::string(1 << 20, '\x5a'));
  r = testing::RunProgram({newest.path, "check", target.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // A target smaller than the sources is refused, in qemu's words.
  r = testing::RunProgram({kSelf, "--sandbox=process", "convert", "-n", "-O", "raw",
                           filled.string(), (dir_ / "in.raw").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "instar: output file is smaller than input file\n");
}

// Killing `instar convert` in the middle leaves no file at the target path
// (SIGKILL cannot be caught: the temporary file stays, under its
// recognisable name, and the target is untouched).
TEST_F(ConvertCliTest, KillNineMidWayLeavesNoFileAtTheTarget) {
  for (const char* sandbox : {"--sandbox=process", "--sandbox=kvm"}) {
    SCOPED_TRACE(sandbox);
    ASSERT_TRUE(std::string(sandbox) != "--sandbox=kvm" || ::access("/dev/kvm", R_OK | W_OK) == 0);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // 1 GiB of data: convert writes all of it (S=0 writes zeros too).
    const fs::path input = dir_ / "in.raw";
    std::ofstream(input, std::ios::binary).close();
    fs::resize_file(input, uint64_t{1} << 30);
    const fs::path target = dir_ / "big.img";
    const pid_t pid = Spawn(
        {kSelf, sandbox, "convert", "-S", "0", "-O", "qcow2", input.string(), target.string()});
    ASSERT_GT(pid, 0);
    const bool writing = WaitForTemporaryFile(dir_);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(writing) << "the convert never started writing";
    EXPECT_TRUE(WIFSIGNALED(status));
    EXPECT_FALSE(fs::exists(target));
    for (const auto& entry : fs::directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      if (name == "in.raw") continue;
      EXPECT_EQ(name.rfind(".big.img.instar-", 0), 0u) << name;
    }
  }
}

// -p on a terminal: the percentage redrawn on one line as the copy goes,
// from 0.00 to 100.00, byte for byte as each qemu-img of the matrix draws
// it with instar at its version, on the process and the kvm backends
// (script(1) gives both a terminal, and turns each "\n" into "\r\n"). The
// percentage is of the data the copy writes, counted before it: of the
// whole disk from the raw input, of its allocated half from the qcow2.
TEST_F(ConvertCliTest, ProgressOnATerminalAsQemuImgDrawsIt) {
  fs::create_directories(dir_);
  // 64 MiB, a 512 KiB piece of data in every MiB: some 60 steps of copy.
  const fs::path raw = dir_ / "in.raw";
  {
    std::ofstream out(raw, std::ios::binary);
    for (int mib = 0; mib < 64; ++mib) {
      out << std::string(512 << 10, static_cast<char>(mib + 1)) << std::string(512 << 10, '\0');
    }
  }
  const fs::path qcow2 = dir_ / "in.qcow2";
  ASSERT_EQ(testing::RunProgram(
                {qemu_imgs_.back().path, "convert", "-O", "qcow2", raw.string(), qcow2.string()})
                .exit_code,
            0);
  auto on_terminal = [&](const std::vector<std::string>& prefix, const fs::path& input) {
    const fs::path target = dir_ / "out.qcow2";
    fs::remove(target);
    std::string command;
    for (const std::string& arg : prefix) command += arg + " ";
    command += "convert -p -O qcow2 " + input.string() + " " + target.string();
    return testing::RunProgram({"/usr/bin/script", "-qec", command, "/dev/null"});
  };
  const bool kvm = ::access("/dev/kvm", R_OK | W_OK) == 0;
  for (const QemuImg& qemu : qemu_imgs_) {
    for (const fs::path& input : {raw, qcow2}) {
      SCOPED_TRACE(qemu.version + " " + input.filename().string());
      const testing::ProgramResult expected = on_terminal({qemu.path}, input);
      ASSERT_EQ(expected.exit_code, 0) << expected.err;
      ASSERT_EQ(expected.out.rfind("    (0.00/100%)\r", 0), 0u) << expected.out;
      for (const char* sandbox : {"--sandbox=process", "--sandbox=kvm"}) {
        if (std::string(sandbox) == "--sandbox=kvm" && !kvm) continue;
        SCOPED_TRACE(sandbox);
        const testing::ProgramResult r =
            on_terminal({kSelf, sandbox, "--compat", qemu.version}, input);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(r.out, expected.out);
      }
    }
  }
}

// A descriptor file's text up to its first NUL, the CID ("CID=<hex>",
// random in both) as "CID=$CID". What follows the NUL is the old text's
// tail that a shorter new CID leaves (vmdk_write_cid; the engine's tests
// hold it byte for byte with qemu's CIDs), then zeros to the file's end.
std::string DescriptorText(const std::string& bytes) {
  std::string text = bytes.substr(0, bytes.find('\0'));
  if (const size_t at = text.find("\nCID="); at != std::string::npos) {
    text.replace(at + 5, text.find('\n', at + 1) - (at + 5), "$CID");
  }
  return text;
}

// convert -O vmdk -o subformat=monolithicFlat: every qemu-img and instar
// with its version, on the process and the kvm backends, make the same two
// files: the extent byte for byte, the descriptor's text but for the CID
// and its file's length (5.2 writes the 20 sectors of its buffer back after
// the first write, 7.2 and later to a sector); qemu-img check finds no
// error in instar's, and compare finds it identical to the input.
TEST_F(ConvertCliTest, MonolithicFlatVmdkAsQemuImgWritesIt) {
  const bool kvm = ::access("/dev/kvm", R_OK | W_OK) == 0;
  const std::vector<std::vector<std::string>> kCommands = {
      {"-O", "vmdk", "-o", "subformat=monolithicFlat", "$DIR/in.raw", "$DIR/out.vmdk"},
      {"-S", "0", "-O", "vmdk", "-o", "subformat=monolithicFlat,adapter_type=lsilogic",
       "$DIR/in.raw", "$DIR/out"},
  };
  for (const std::vector<std::string>& args : kCommands) {
    for (const QemuImg& qemu : qemu_imgs_) {
      SCOPED_TRACE(qemu.version + ": convert " + ::testing::PrintToString(args));
      const Made expected = RunIn({qemu.path, "convert"}, args, dir_ / "qemu");
      ASSERT_EQ(expected.exit_code, 0) << expected.err;
      const std::string target = args.back().substr(5);  // after "$DIR/"
      const std::string extent = target == "out" ? "out-flat" : "out-flat.vmdk";
      const std::string descriptor = ReadFile(dir_ / "qemu" / target);
      const std::string flat = ReadFile(dir_ / "qemu" / extent);
      for (const char* sandbox : {"--sandbox=process", "--sandbox=kvm"}) {
        if (std::string(sandbox) == "--sandbox=kvm" && !kvm) continue;
        SCOPED_TRACE(sandbox);
        const Made actual =
            RunIn({kSelf, sandbox, "--compat", qemu.version, "convert"}, args, dir_ / "instar");
        EXPECT_EQ(actual.exit_code, 0);
        EXPECT_EQ(actual.out, expected.out);
        EXPECT_EQ(actual.err, expected.err);
        EXPECT_EQ(actual.names, expected.names);
        const fs::path ours = dir_ / "instar" / target;
        const std::string our_descriptor = ReadFile(ours);
        EXPECT_EQ(our_descriptor.size(), descriptor.size());
        EXPECT_EQ(DescriptorText(our_descriptor), DescriptorText(descriptor));
        const std::string our_flat = ReadFile(dir_ / "instar" / extent);
        EXPECT_EQ(our_flat.size(), flat.size());
        EXPECT_TRUE(our_flat == flat);
        testing::ProgramResult r = testing::RunProgram({qemu.path, "check", ours.string()});
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        r = testing::RunProgram({qemu.path, "compare", "-f", "raw", "-F", "vmdk",
                                 (dir_ / "instar" / "in.raw").string(), ours.string()});
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        EXPECT_NE(r.out.find("Images are identical."), std::string::npos) << r.out;
      }
    }
  }
}

// A sparse input of 4 GiB and 1 MiB, three extents of a split vmdk: data at
// the start, across the first extent's end (2 GiB), and at the end.
void WriteSplitInput(const fs::path& path) {
  std::ofstream out(path, std::ios::binary);
  out << std::string(65536, 'a');
  out.seekp((int64_t{2} << 30) - 70000);
  out << std::string(140000, 'b');
  out.seekp((int64_t{4} << 30) + (1 << 20) - 4096);
  out << std::string(4096, 'c');
}

// Whether the files `a` and `b` hold the same bytes, read where either has
// data (SEEK_DATA); both may be large and mostly holes.
bool SameSparseFiles(const fs::path& a, const fs::path& b) {
  if (fs::file_size(a) != fs::file_size(b)) return false;
  const off_t size = static_cast<off_t>(fs::file_size(a));
  const int fa = ::open(a.c_str(), O_RDONLY);
  const int fb = ::open(b.c_str(), O_RDONLY);
  bool same = fa >= 0 && fb >= 0;
  std::vector<char> ba(1 << 20);
  std::vector<char> bb(1 << 20);
  for (off_t at = 0; same && at < size;) {
    off_t da = ::lseek(fa, at, SEEK_DATA);
    off_t db = ::lseek(fb, at, SEEK_DATA);
    if (da < 0) da = size;
    if (db < 0) db = size;
    at = std::min(da, db);
    if (at >= size) break;
    const auto n = static_cast<size_t>(std::min<off_t>(size - at, 1 << 20));
    same = ::pread(fa, ba.data(), n, at) == static_cast<ssize_t>(n) &&
           ::pread(fb, bb.data(), n, at) == static_cast<ssize_t>(n) &&
           std::equal(ba.begin(), ba.begin() + static_cast<std::ptrdiff_t>(n), bb.begin());
    at += static_cast<off_t>(n);
  }
  if (fa >= 0) ::close(fa);
  if (fb >= 0) ::close(fb);
  return same;
}

// convert -O vmdk -o subformat=twoGbMaxExtentSparse / twoGbMaxExtentFlat: a
// file per 2 GiB beside the descriptor. Every qemu-img and instar with its
// version, on the process and the kvm backends, make the same files: each
// extent byte for byte, the descriptor's text but for the CID and its
// file's length; qemu-img check finds no error in instar's, and compare
// finds it identical to the input.
TEST_F(ConvertCliTest, SplitVmdkAsQemuImgWritesIt) {
  const bool kvm = ::access("/dev/kvm", R_OK | W_OK) == 0;
  for (const char* subformat : {"twoGbMaxExtentSparse", "twoGbMaxExtentFlat"}) {
    const std::vector<std::string> args = {
        "-O", "vmdk", "-o", std::string("subformat=") + subformat, "$DIR/in.raw", "$DIR/out.vmdk"};
    const char kind = std::string(subformat).find("Sparse") != std::string::npos ? 's' : 'f';
    std::vector<std::string> extents;
    for (const char* number : {"001", "002", "003"}) {
      extents.push_back(std::string("out-") + kind + number + ".vmdk");
    }
    for (const QemuImg& qemu : qemu_imgs_) {
      SCOPED_TRACE(qemu.version + ": convert " + ::testing::PrintToString(args));
      const Made expected =
          testing::RunInDirectory({qemu.path, "convert"}, args, dir_ / "qemu", WriteSplitInput);
      ASSERT_EQ(expected.exit_code, 0) << expected.err;
      std::vector<std::string> names = {"in.raw", "out.vmdk"};
      names.insert(names.end(), extents.begin(), extents.end());
      std::sort(names.begin(), names.end());
      ASSERT_EQ(expected.names, names);
      const std::string descriptor = ReadFile(dir_ / "qemu" / "out.vmdk");
      for (const char* sandbox : {"--sandbox=process", "--sandbox=kvm"}) {
        if (std::string(sandbox) == "--sandbox=kvm" && !kvm) continue;
        SCOPED_TRACE(sandbox);
        const Made actual =
            testing::RunInDirectory({kSelf, sandbox, "--compat", qemu.version, "convert"}, args,
                                    dir_ / "instar", WriteSplitInput);
        EXPECT_EQ(actual.exit_code, 0);
        EXPECT_EQ(actual.out, expected.out);
        EXPECT_EQ(actual.err, expected.err);
        EXPECT_EQ(actual.names, expected.names);
        const fs::path ours = dir_ / "instar" / "out.vmdk";
        const std::string our_descriptor = ReadFile(ours);
        EXPECT_EQ(our_descriptor.size(), descriptor.size());
        EXPECT_EQ(DescriptorText(our_descriptor), DescriptorText(descriptor));
        for (const std::string& extent : extents) {
          EXPECT_TRUE(SameSparseFiles(dir_ / "instar" / extent, dir_ / "qemu" / extent)) << extent;
        }
        testing::ProgramResult r = testing::RunProgram({qemu.path, "check", ours.string()});
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        r = testing::RunProgram({qemu.path, "compare", "-f", "raw", "-F", "vmdk",
                                 (dir_ / "instar" / "in.raw").string(), ours.string()});
        EXPECT_NE(r.out.find("Images are identical."), std::string::npos) << r.out << r.err;
      }
    }
  }
}

// convert -O vmdk -B: a monolithicSparse vmdk over a vmdk parent, from a
// qcow2 overlay of that parent with 4 KiB clusters written here and there:
// only the overlay's data is copied, and each grain it half fills takes the
// rest from the parent (get_whole_cluster); its zero clusters and its
// zeros written as data are write-zeroes, which mark whole grains zeroed
// with zeroed_grain=on and are written as zeros otherwise. Every qemu-img
// and instar with its version, on both backends, over the same files, with
// and without zeroed grains: the descriptor's text but for the CID,
// everything else in the file byte for byte; qemu-img check finds no error,
// and compare finds it identical to the overlay.
TEST_F(ConvertCliTest, VmdkOntoABackingFileAsQemuImgWritesIt) {
  const bool kvm = ::access("/dev/kvm", R_OK | W_OK) == 0;
  const fs::path parents = dir_ / "parents";
  fs::create_directories(parents);
  const std::string newest = qemu_imgs_.back().path;
  const std::string qemu_io = fs::path(newest).parent_path() / "qemu-io";
  const std::string base = (parents / "base.vmdk").string();
  const std::string overlay = (parents / "ov.qcow2").string();
  ASSERT_EQ(testing::RunProgram({newest, "create", "-q", "-f", "vmdk", base, "4M"}).exit_code, 0);
  // The parent 0x11 everywhere; the overlay's data 0x22: a cluster inside
  // the first grain, 100 KiB across two grains from 1 MiB + 4 KiB, a
  // cluster at the last grain's end; its zeros: 70 KiB written as data
  // from 100 KiB, 1 MiB of zero clusters from 2 MiB, 4 KiB at 3 MiB + 12 KiB
  // (qemu-io beside the newest qemu-img).
  ASSERT_EQ(
      testing::RunProgram({qemu_io, "-f", "vmdk", "-c", "write -P 0x11 0 4M", base}).exit_code, 0);
  ASSERT_EQ(testing::RunProgram({newest, "create", "-q", "-f", "qcow2", "-b", "base.vmdk", "-F",
                                 "vmdk", "-o", "cluster_size=4096", overlay, "4M"})
                .exit_code,
            0);
  ASSERT_EQ(testing::RunProgram({qemu_io, "-f", "qcow2", "-c", "write -P 0x22 8k 4k", "-c",
                                 "write -P 0x22 1028k 100k", "-c", "write -P 0x22 4092k 4k", "-c",
                                 "write -P 0 100k 70k", "-c", "write -z 2M 1M", "-c",
                                 "write -z 3084k 4k", overlay})
                .exit_code,
            0);
  std::vector<std::string> args;
  auto run = [&](const std::vector<std::string>& prefix, const fs::path& dir) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    for (const char* file : {"base.vmdk", "ov.qcow2"}) fs::copy_file(parents / file, dir / file);
    std::vector<std::string> argv = prefix;
    argv.push_back("convert");
    for (const std::string& arg : args)
      argv.push_back(testing::ReplaceAll(arg, "$DIR", dir.string()));
    testing::ProgramResult r = testing::RunProgram(argv);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return ReadFile(dir / "out.vmdk");
  };
  constexpr size_t kDescriptor = 512;
  constexpr size_t kDescriptorEnd = 512 + 20 * 512;
  for (const QemuImg& qemu : qemu_imgs_) {
    for (const char* options : {"backing_fmt=vmdk", "backing_fmt=vmdk,zeroed_grain=on"}) {
      SCOPED_TRACE(qemu.version + " -o " + options);
      args = {"-O", "vmdk", "-B", "base.vmdk", "-o", options, "$DIR/ov.qcow2", "$DIR/out.vmdk"};
      const std::string theirs = run({qemu.path}, dir_ / "qemu");
      ASSERT_GT(theirs.size(), kDescriptorEnd);
      for (const char* sandbox : {"--sandbox=process", "--sandbox=kvm"}) {
        if (std::string(sandbox) == "--sandbox=kvm" && !kvm) continue;
        SCOPED_TRACE(sandbox);
        const std::string ours = run({kSelf, sandbox, "--compat", qemu.version}, dir_ / "instar");
        ASSERT_EQ(ours.size(), theirs.size());
        EXPECT_TRUE(ours.compare(0, kDescriptor, theirs, 0, kDescriptor) == 0);
        EXPECT_EQ(DescriptorText(ours.substr(kDescriptor, kDescriptorEnd - kDescriptor)),
                  DescriptorText(theirs.substr(kDescriptor, kDescriptorEnd - kDescriptor)));
        EXPECT_NE(DescriptorText(ours.substr(kDescriptor)).find("parentFileNameHint=\"base.vmdk\""),
                  std::string::npos);
        EXPECT_TRUE(ours.compare(kDescriptorEnd, std::string::npos, theirs, kDescriptorEnd) == 0);
        const std::string target = (dir_ / "instar" / "out.vmdk").string();
        testing::ProgramResult r = testing::RunProgram({qemu.path, "check", target});
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        r = testing::RunProgram(
            {qemu.path, "compare", (dir_ / "instar" / "ov.qcow2").string(), target});
        EXPECT_EQ(r.out, "Images are identical.\n") << r.err;
      }
    }
  }
}

// Runs `prefix` convert -n -O vmdk `input` into a fresh t.vmdk in `at`
// that `maker` created with `options` and `size`; expects it to succeed
// silently. The files in `at` afterwards, sorted by name, with their bytes.
std::vector<std::pair<std::string, std::string>> ConvertIntoFreshVmdk(
    const std::vector<std::string>& prefix, const std::string& maker, const fs::path& at,
    const std::string& options, const std::string& size, const fs::path& input) {
  fs::remove_all(at);
  fs::create_directories(at);
  EXPECT_EQ(testing::RunProgram({maker, "create", "-q", "-f", "vmdk", "-o", options,
                                 (at / "t.vmdk").string(), size})
                .exit_code,
            0);
  std::vector<std::string> argv = prefix;
  for (const char* arg : {"convert", "-n", "-O", "vmdk"}) argv.push_back(arg);
  argv.push_back(input.string());
  argv.push_back((at / "t.vmdk").string());
  const testing::ProgramResult r = testing::RunProgram(argv);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out + r.err, "");
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& entry : fs::directory_iterator(at)) {
    files.emplace_back(entry.path().filename().string(), ReadFile(entry.path()));
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The names of `files`, in order.
std::vector<std::string> NamesOf(const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<std::string> names;
  for (const auto& file : files) names.push_back(file.first);
  return names;
}

// convert -n into a monolithicFlat vmdk that qemu-img created: its extent
// (named as qemu names it, beside the descriptor) is written in place, as
// every qemu-img writes it, on both backends: the extent byte for byte, the
// descriptor's text and length but for the new CID; no other file appears,
// and compare finds the target identical to the input.
TEST_F(ConvertCliTest, IntoAnExistingMonolithicFlatVmdkInPlace) {
  const bool kvm = ::access("/dev/kvm", R_OK | W_OK) == 0;
  fs::create_directories(dir_);
  const fs::path input = dir_ / "in.raw";
  {
    std::ofstream out(input, std::ios::binary);
    for (int piece = 0; piece < 12; ++piece) {
      out << std::string(256 << 10, piece % 3 == 0 ? '\0' : static_cast<char>('a' + piece));
    }
  }
  // Runs `prefix` convert -n into a fresh monolithicFlat in `sub`, made by
  // `maker`; the descriptor and the extent afterwards.
  auto run = [&](const std::vector<std::string>& prefix, const std::string& maker,
                 const std::string& sub, std::string* descriptor, std::string* extent) {
    const auto files =
        ConvertIntoFreshVmdk(prefix, maker, dir_ / sub, "subformat=monolithicFlat", "3M", input);
    ASSERT_EQ(NamesOf(files), (std::vector<std::string>{"t-flat.vmdk", "t.vmdk"}));
    *descriptor = files[1].second;
    *extent = files[0].second;
  };
  for (const QemuImg& qemu : qemu_imgs_) {
    SCOPED_TRACE(qemu.version);
    std::string descriptor;
    std::string extent;
    run({qemu.path}, qemu.path, "qemu", &descriptor, &extent);
    for (const char* sandbox : {"--sandbox=process", "--sandbox=kvm"}) {
      if (std::string(sandbox) == "--sandbox=kvm" && !kvm) continue;
      SCOPED_TRACE(sandbox);
      std::string our_descriptor;
      std::string our_extent;
      run({kSelf, sandbox, "--compat", qemu.version}, qemu.path, "instar", &our_descriptor,
          &our_extent);
      EXPECT_EQ(our_descriptor.size(), descriptor.size());
      EXPECT_EQ(DescriptorText(our_descriptor), DescriptorText(descriptor));
      EXPECT_TRUE(our_extent == extent);
      const testing::ProgramResult r =
          testing::RunProgram({qemu.path, "compare", "-f", "raw", "-F", "vmdk", input.string(),
                               (dir_ / "instar" / "t.vmdk").string()});
      EXPECT_NE(r.out.find("Images are identical."), std::string::npos) << r.out << r.err;
    }
  }
}

// convert -n into a twoGbMaxExtentSparse vmdk with zeroed grains that
// qemu-img created (2 GiB and 64 MiB: two extent files beside the
// descriptor): the data lands in the extents it falls in, one piece across
// the boundary, and the zero runs become zeroed grains, as every qemu-img
// writes them, on both backends: each extent byte for byte, the
// descriptor's text and length but for the new CID, no other file; compare
// finds the target identical to the input.
TEST_F(ConvertCliTest, IntoAnExistingSplitVmdkInPlace) {
  const bool kvm = ::access("/dev/kvm", R_OK | W_OK) == 0;
  fs::create_directories(dir_);
  const fs::path input = dir_ / "in.raw";
  constexpr uint64_t kGiB = uint64_t{1} << 30;
  {
    std::ofstream out(input, std::ios::binary);
    out << std::string(1 << 20, 'a');
    out.seekp(static_cast<std::streamoff>(2 * kGiB - (128 << 10)));
    out << std::string(256 << 10, 'b');
    out.seekp(static_cast<std::streamoff>(2 * kGiB + (32 << 20)));
    out << std::string(1 << 20, 'c');
  }
  fs::resize_file(input, 2 * kGiB + (64 << 20));
  const std::vector<std::string> files = {"t-s001.vmdk", "t-s002.vmdk", "t.vmdk"};
  // Runs `prefix` convert -n into a fresh split image in `sub`, made by
  // `maker`; the files' bytes afterwards, in `files`' order.
  auto run = [&](const std::vector<std::string>& prefix, const std::string& maker,
                 const std::string& sub) {
    const auto made =
        ConvertIntoFreshVmdk(prefix, maker, dir_ / sub,
                             "subformat=twoGbMaxExtentSparse,zeroed_grain=on", "2112M", input);
    EXPECT_EQ(NamesOf(made), files);
    std::vector<std::string> contents;
    for (const auto& file : made) contents.push_back(file.second);
    return contents;
  };
  for (const QemuImg& qemu : qemu_imgs_) {
    SCOPED_TRACE(qemu.version);
    const std::vector<std::string> theirs = run({qemu.path}, qemu.path, "qemu");
    for (const char* sandbox : {"--sandbox=process", "--sandbox=kvm"}) {
      if (std::string(sandbox) == "--sandbox=kvm" && !kvm) continue;
      SCOPED_TRACE(sandbox);
      const std::vector<std::string> ours =
          run({kSelf, sandbox, "--compat", qemu.version}, qemu.path, "instar");
      ASSERT_EQ(ours.size(), theirs.size());
      for (size_t i = 0; i + 1 < files.size(); ++i) {
        EXPECT_TRUE(ours[i] == theirs[i]) << files[i];
      }
      EXPECT_EQ(ours.back().size(), theirs.back().size());
      EXPECT_EQ(DescriptorText(ours.back()), DescriptorText(theirs.back()));
      const testing::ProgramResult r =
          testing::RunProgram({qemu.path, "compare", "-f", "raw", "-F", "vmdk", input.string(),
                               (dir_ / "instar" / "t.vmdk").string()});
      EXPECT_EQ(r.out, "Images are identical.\n") << r.err;
    }
  }
}

// The runs of data of `path` (SEEK_DATA, SEEK_HOLE), start and end each.
std::vector<std::pair<off_t, off_t>> DataRuns(const fs::path& path) {
  std::vector<std::pair<off_t, off_t>> runs;
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return runs;
  for (off_t at = 0;;) {
    const off_t data = ::lseek(fd, at, SEEK_DATA);
    if (data < 0) break;
    const off_t hole = ::lseek(fd, data, SEEK_HOLE);
    runs.emplace_back(data, hole);
    at = hole;
  }
  ::close(fd);
  return runs;
}

// convert -n: the zero runs of the input are write-zeroes with unmap on the
// existing target, which held data. A raw file gets them as holes punched
// (the same bytes and the same runs of data as every qemu-img leaves), a
// vmdk with zeroed grains as grain table entries of 1 (the same file but
// for the CID), a qcow2 as its clusters freed and punched out of the file,
// zero clusters in version 3 and unallocated ones in version 2, the input's
// data after them allocated where the freed clusters were (the same bytes
// and runs of data); on both backends.
TEST_F(ConvertCliTest, IntoAnExistingImageZeroRunsAsQemuImgMakesThem) {
  const bool kvm = ::access("/dev/kvm", R_OK | W_OK) == 0;
  fs::create_directories(dir_);
  const fs::path input = dir_ / "in.raw";
  {
    // 8 MiB: data, 1 MiB of zeros written as data, a hole, data, a hole,
    // 5000 bytes of data inside a grain.
    std::ofstream out(input, std::ios::binary);
    out << std::string(1 << 20, 'a') << std::string(1 << 20, '\0');
    out.seekp(3 << 20);
    out << std::string(300000, 'b');
    out.seekp((6 << 20) + 4096);
    out << std::string(5000, 'c');
  }
  fs::resize_file(input, 8 << 20);
  const std::string newest = qemu_imgs_.back().path;
  const std::string qemu_io = fs::path(newest).parent_path() / "qemu-io";
  const fs::path parents = dir_ / "targets";
  fs::create_directories(parents);
  // Each target: its file name, format, create options and the data
  // qemu-io writes into it (a qcow2's last 2 MiB stay unallocated).
  struct Target {
    std::string name;
    std::string format;
    std::string options;
    std::string write;
  };
  const std::vector<Target> targets = {
      {"t.raw", "raw", "", "write -P 0xff 0 8M"},
      {"t.vmdk", "vmdk", "zeroed_grain=on", "write -P 0xff 0 8M"},
      {"t.qcow2", "qcow2", "", "write -P 0xff 0 6M"},
      {"v2.qcow2", "qcow2", "compat=0.10", "write -P 0xff 0 6M"},
  };
  for (const Target& t : targets) {
    const std::string made = (parents / t.name).string();
    std::vector<std::string> create = {newest, "create", "-q", "-f", t.format};
    if (!t.options.empty()) create.insert(create.end(), {"-o", t.options});
    create.insert(create.end(), {made, "8M"});
    ASSERT_EQ(testing::RunProgram(create).exit_code, 0);
    ASSERT_EQ(testing::RunProgram({qemu_io, "-f", t.format, "-c", t.write, made}).exit_code, 0);
  }
  auto run = [&](const std::vector<std::string>& prefix, const Target& t, const fs::path& dir) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path target = dir / t.name;
    fs::copy_file(parents / t.name, target);
    std::vector<std::string> argv = prefix;
    for (const std::string& arg : {std::string("convert"), std::string("-n"), std::string("-O"),
                                   t.format, input.string(), target.string()}) {
      argv.push_back(arg);
    }
    const testing::ProgramResult r = testing::RunProgram(argv);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return target;
  };
  for (const QemuImg& qemu : qemu_imgs_) {
    for (const Target& t : targets) {
      const std::string& format = t.format;
      SCOPED_TRACE(qemu.version + " -O " + format + " " + t.name);
      const fs::path theirs = run({qemu.path}, t, dir_ / "qemu");
      for (const char* sandbox : {"--sandbox=process", "--sandbox=kvm"}) {
        if (std::string(sandbox) == "--sandbox=kvm" && !kvm) continue;
        SCOPED_TRACE(sandbox);
        const fs::path ours = run({kSelf, sandbox, "--compat", qemu.version}, t, dir_ / "instar");
        const std::string our_bytes = ReadFile(ours);
        const std::string their_bytes = ReadFile(theirs);
        ASSERT_EQ(our_bytes.size(), their_bytes.size());
        if (format != "vmdk") {
          EXPECT_TRUE(our_bytes == their_bytes);
          EXPECT_EQ(DataRuns(ours), DataRuns(theirs));
        } else {
          constexpr size_t kDescriptor = 512;
          constexpr size_t kDescriptorEnd = kDescriptor + 20 * 512;
          EXPECT_TRUE(our_bytes.compare(0, kDescriptor, their_bytes, 0, kDescriptor) == 0);
          EXPECT_EQ(DescriptorText(our_bytes.substr(kDescriptor)),
                    DescriptorText(their_bytes.substr(kDescriptor)));
          EXPECT_TRUE(our_bytes.compare(kDescriptorEnd, std::string::npos, their_bytes,
                                        kDescriptorEnd) == 0);
        }
        const testing::ProgramResult r = testing::RunProgram(
            {qemu.path, "compare", "-f", "raw", "-F", format, input.string(), ours.string()});
        EXPECT_EQ(r.out, "Images are identical.\n") << r.err;
        if (format == "qcow2") {
          const testing::ProgramResult check =
              testing::RunProgram({qemu.path, "check", "-f", "qcow2", ours.string()});
          EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
        }
      }
    }
  }
}

// A monolithicFlat target is two outputs: SIGTERM in the middle removes
// both temporary files, and SIGKILL leaves only temporary files, nothing
// at either target.
TEST_F(ConvertCliTest, AnInterruptedMonolithicFlatConvertLeavesNoTarget) {
  for (const int signal : {SIGTERM, SIGKILL}) {
    SCOPED_TRACE(signal);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const fs::path input = dir_ / "in.raw";
    std::ofstream(input, std::ios::binary).close();
    fs::resize_file(input, uint64_t{1} << 30);
    const fs::path target = dir_ / "big.vmdk";
    const pid_t pid = Spawn({kSelf, "--sandbox=process", "convert", "-S", "0", "-O", "vmdk", "-o",
                             "subformat=monolithicFlat", input.string(), target.string()});
    ASSERT_GT(pid, 0);
    const bool writing = WaitForTemporaryFile(dir_);
    ::kill(pid, signal);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(writing) << "the convert never started writing";
    EXPECT_FALSE(fs::exists(target));
    EXPECT_FALSE(fs::exists(dir_ / "big-flat.vmdk"));
    size_t temporaries = 0;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      if (name == "in.raw") continue;
      EXPECT_TRUE(name.rfind(".big.vmdk.instar-", 0) == 0 ||
                  name.rfind(".big-flat.vmdk.instar-", 0) == 0)
          << name;
      ++temporaries;
    }
    if (signal == SIGTERM) {
      ASSERT_TRUE(WIFEXITED(status));
      EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
      EXPECT_EQ(temporaries, 0u);
    } else {
      EXPECT_TRUE(WIFSIGNALED(status));
      EXPECT_EQ(temporaries, 2u);
    }
  }
}

}  // namespace
}  // namespace instar::vmm
