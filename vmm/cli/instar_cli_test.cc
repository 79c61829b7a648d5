// The `instar` binary end to end, through the process backend. Every
// expected text below is what a real qemu-img printed; the command that
// printed it is cited above each.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vmm/testing/subprocess.h"

namespace instar::vmm {
namespace {

const std::string kImages = std::string(INSTAR_SOURCE_ROOT) + "/cases/images/";

testing::ProgramResult Instar(std::vector<std::string> args) {
  args.insert(args.begin(), {INSTAR_BINARY_PATH, "--sandbox=process"});
  return testing::RunProgram(args);
}

// qemu-img-binaries/x86_64/{11.1.3,5.2.0}/qemu-img measure --size 1G -O qcow2
TEST(InstarCliTest, MeasureSizeHuman) {
  for (const char* version : {"11.1.3", "5.2.0"}) {
    const testing::ProgramResult r =
        Instar({"--compat", version, "measure", "--size", "1G", "-O", "qcow2"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "required size: 393216\nfully allocated size: 1074135040\n") << version;
    EXPECT_EQ(r.err, "");
  }
  // The default --compat is 11.1.3.
  EXPECT_EQ(Instar({"measure", "--size", "1G", "-O", "qcow2"}).out,
            "required size: 393216\nfully allocated size: 1074135040\n");
}

// qemu-img-binaries/x86_64/{11.1.3,5.2.0}/qemu-img measure --size 1G -O qcow2 --output=json
TEST(InstarCliTest, MeasureSizeJson) {
  for (const char* version : {"11.1.3", "5.2.0"}) {
    const testing::ProgramResult r =
        Instar({"--compat", version, "measure", "--size", "1G", "-O", "qcow2", "--output=json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out,
              "{\n"
              "    \"required\": 393216,\n"
              "    \"fully-allocated\": 1074135040\n"
              "}\n")
        << version;
  }
}

// qemu-img-binaries/x86_64/11.1.3/qemu-img measure -O qcow2 [--output=json]
//   cases/images/qcow2-bitmap.qcow2 (5.2.0 prints the same)
TEST(InstarCliTest, MeasureSourceWithBitmaps) {
  const testing::ProgramResult human =
      Instar({"measure", "-O", "qcow2", kImages + "qcow2-bitmap.qcow2"});
  EXPECT_EQ(human.exit_code, 0) << human.err;
  EXPECT_EQ(human.out,
            "required size: 393216\nfully allocated size: 33882112\nbitmaps size: 327680\n");
  const testing::ProgramResult json =
      Instar({"measure", "--output=json", "-O", "qcow2", kImages + "qcow2-bitmap.qcow2"});
  EXPECT_EQ(json.out,
            "{\n"
            "    \"bitmaps\": 327680,\n"
            "    \"required\": 393216,\n"
            "    \"fully-allocated\": 33882112\n"
            "}\n");
}

struct ArgumentCase {
  std::vector<std::string> args;
  std::string err;
};

// Each from `qemu-img-binaries/x86_64/11.1.3/qemu-img <args>` with
// "qemu-img" replaced by instar's name; exit status 1 for all.
TEST(InstarCliTest, ArgumentErrorsAreWordedLikeQemuImg) {
  const std::vector<ArgumentCase> cases = {
      {{"measure"}, "instar: Either --size N or one filename must be specified.\n"},
      {{"measure", "--size", "1G", "-O", "qcow2", "-f", "raw"},
       "instar: --image-opts, -f, and -l require a filename argument.\n"},
      {{"measure", "--size", "1G", "a", "b"},
       "instar: At most one filename argument is allowed.\n"},
      {{"measure", "--size", "1G", kImages + "raw-sparse.raw"},
       "instar: --size N cannot be used together with a filename.\n"},
      {{"measure", "--size", "1X", "-O", "qcow2"}, "instar: Invalid image size specified: '1X'\n"},
      {{"measure", "--size", "-1", "-O", "qcow2"},
       "instar: Invalid image size specified. Must be between 0 and 9223372036854775807.\n"},
      {{"measure", "--size", "1G", "-O", "foo"}, "instar: Unknown file format 'foo'\n"},
      {{"measure", "--size", "1G", "-O", "qcow2", "-o", "foo=bar"},
       "instar: Invalid parameter 'foo'\ninstar: Invalid options for file format 'qcow2'\n"},
      {{"measure", "/nonexistent"},
       "instar: Could not open '/nonexistent': Could not open '/nonexistent': No such file or "
       "directory\n"},
      {{"measure", "-O", "qcow2", "/tmp"},
       "instar: Could not open '/tmp': 'file' driver requires '/tmp' to be a regular file\n"},
      {{"info", "-f", "foo", kImages + "raw-sparse.raw"},
       "instar: Could not open '" + kImages + "raw-sparse.raw': Unknown driver 'foo'\n"},
  };
  for (const ArgumentCase& c : cases) {
    const testing::ProgramResult r = Instar(c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args[0];
    EXPECT_EQ(r.err, c.err);
    EXPECT_EQ(r.out, "");
  }
}

// qemu-img-binaries/x86_64/11.1.3/qemu-img measure --bogus, and
// qemu-img-binaries/x86_64/10.0.13/qemu-img measure --size 1G --output=xml
TEST(InstarCliTest, GetoptErrorsNameTheCommand) {
  const std::string self = INSTAR_BINARY_PATH;
  testing::ProgramResult r = testing::RunProgram({self, "measure", "--bogus"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, self + " measure: unrecognized option '--bogus'\nTry '" + self +
                       " measure --help' for more information\n");
  r = testing::RunProgram({self, "--compat", "10.0.13", "measure", "--size", "1G", "--output=xml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "instar: --output expects 'human' or 'json' not 'xml'\nTry '" + self +
                       " measure --help' for more info\n");
}

// qemu-img-binaries/x86_64/7.2.22/qemu-img measure --size 1X -O qcow2
TEST(InstarCliTest, OldVersionsWordSizeErrorsTheOldWay) {
  const testing::ProgramResult r =
      Instar({"--compat", "7.2.22", "measure", "--size", "1X", "-O", "qcow2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "instar: Invalid image size specified. You may use k, M, G, T, P or E suffixes for\n"
            "instar: kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.\n");
}

// qemu-img-binaries/x86_64/11.1.3/qemu-img info cases/images/raw-sparse.raw
TEST(InstarCliTest, InfoPrintsFormatAndSizes) {
  const testing::ProgramResult r = Instar({"info", kImages + "raw-sparse.raw"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find("disk size:")), "image: " + kImages +
                                                           "raw-sparse.raw\nfile format: raw\n"
                                                           "virtual size: 3 MiB (3145728 bytes)\n");
}

TEST(InstarCliTest, SandboxChoiceErrorsAreOneLine) {
  const std::string self = INSTAR_BINARY_PATH;
  testing::ProgramResult r = testing::RunProgram({self, "--sandbox=bogus", "measure"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "instar: --sandbox expects 'auto', 'kvm', 'process' or 'emulated', not 'bogus'\n");
  r = testing::RunProgram({self, "--compat", "7.2", "measure"});
  EXPECT_EQ(r.err, "instar: --compat expects a qemu-img version X.Y.Z, not '7.2'\n");
}

// A fresh directory holding a copy of the corpus qcow2 overlay
// qcow2-backing.qcow2 (backing file qcow2-v3-64k.qcow2, format qcow2), its
// backing file left behind; `patch_format` rewrites the recorded backing
// format (same length).
std::string LonelyOverlay(const std::string& patch_format = "") {
  char pattern[] = "/tmp/instar-cli-XXXXXX";
  const std::string dir = mkdtemp(pattern);
  std::ifstream in(kImages + "qcow2-backing.qcow2", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!patch_format.empty()) {
    const size_t at = bytes.find("qcow2", 112);  // in the backing format extension
    bytes.replace(at, patch_format.size(), patch_format);
  }
  std::ofstream(dir + "/top.qcow2", std::ios::binary) << bytes;
  return dir;
}

// qemu-img-binaries/x86_64/{5.2.0,7.2.22,11.1.3}/qemu-img measure -O qcow2 DIR/top.qcow2
// with DIR/qcow2-v3-64k.qcow2 absent (the message is the same in all three).
TEST(InstarCliTest, MissingBackingFileIsNamedAsQemuNamesIt) {
  const std::string dir = LonelyOverlay();
  const testing::ProgramResult r = Instar({"measure", "-O", "qcow2", dir + "/top.qcow2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "instar: Could not open '" + dir +
                       "/top.qcow2': Could not open backing file: Could not open '" + dir +
                       "/qcow2-v3-64k.qcow2': No such file or directory\n");
  std::filesystem::remove_all(dir);
}

// qemu-img-binaries/x86_64/{5.2.0,7.2.22,11.1.3}/qemu-img measure -O qcow2 DIR/top.qcow2 where
// the backing format extension says "qcowx".
TEST(InstarCliTest, UnknownBackingFormatIsAnUnknownDriver) {
  const std::string dir = LonelyOverlay("qcowx");
  const testing::ProgramResult r = Instar({"measure", "-O", "qcow2", dir + "/top.qcow2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "instar: Could not open '" + dir +
                       "/top.qcow2': Could not open backing file: Unknown driver 'qcowx'\n");
  std::filesystem::remove_all(dir);
}

// Why: qcow2 allocates a cluster with fallocate, which lseek reports as a
// hole; instar took its allocated size from the data extents, decided the
// image was metadata-preallocated, and measured a partly written 2 MiB
// cluster as the 100 KiB in it (524288 where qemu-img says 2490368). The
// image is made here, as a user would, by the system qemu-img and qemu-io
// (Debian's qemu-utils, which ci/setup installs), and instar must print what
// that qemu-img prints for it.
TEST(InstarCliTest, MeasuresAPartlyWrittenLargeClusterWhole) {
  const testing::ProgramResult version = testing::RunProgram({"/usr/bin/qemu-img", "--version"});
  ASSERT_EQ(version.exit_code, 0) << "the system qemu-img (ci/setup installs qemu-utils)";
  const std::string first_line = version.out.substr(0, version.out.find('\n'));
  const std::string compat =
      first_line.substr(std::string("qemu-img version ").size(), first_line.find(' ', 17) - 17);
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("instar-large-cluster-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string image = (dir / "large-cluster.qcow2").string();
  ASSERT_EQ(testing::RunProgram({"/usr/bin/qemu-img", "create", "-q", "-f", "qcow2", "-o",
                                 "cluster_size=2M", image, "1G"})
                .exit_code,
            0);
  ASSERT_EQ(testing::RunProgram({"/usr/bin/qemu-io", "-c", "write 3M 100k", image}).exit_code, 0);
  for (const char* output : {"--output=human", "--output=json"}) {
    SCOPED_TRACE(output);
    const testing::ProgramResult qemu =
        testing::RunProgram({"/usr/bin/qemu-img", "measure", output, "-O", "qcow2", image});
    const testing::ProgramResult instar =
        Instar({"--compat", compat, "measure", output, "-O", "qcow2", image});
    ASSERT_EQ(qemu.exit_code, 0) << qemu.err;
    EXPECT_EQ(instar.exit_code, 0) << instar.err;
    EXPECT_EQ(instar.out, qemu.out);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace instar::vmm
