// `instar measure` end to end (process backend) for -l, --object and the
// LUKS targets: every expected text is what the qemu-img named above each
// case printed, with "qemu-img" replaced by instar's name.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "vmm/testing/subprocess.h"

namespace instar::vmm {
namespace {

const std::string kImages = std::string(INSTAR_SOURCE_ROOT) + "/cases/images/";

testing::ProgramResult Instar(const char* compat, std::vector<std::string> args) {
  args.insert(args.begin(),
              {INSTAR_BINARY_PATH, "--sandbox=process", "--compat", compat, "measure"});
  return testing::RunProgram(args);
}

// qemu-img-binaries/x86_64/{5.2.0,7.2.22,11.1.3}/qemu-img measure -l first
//   cases/images/qcow2-snapshot.qcow2, and -l second -O qcow2, and
//   -l snapshot.id=1,snapshot.name=first -O qcow2
TEST(MeasureCliTest, SnapshotOfAQcow2Source) {
  for (const char* v : {"5.2.0", "7.2.22", "11.1.3"}) {
    testing::ProgramResult r = Instar(v, {"-l", "first", kImages + "qcow2-snapshot.qcow2"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "required size: 33554432\nfully allocated size: 33554432\n");
    r = Instar(v, {"-l", "second", "-O", "qcow2", kImages + "qcow2-snapshot.qcow2"});
    EXPECT_EQ(r.out, "required size: 524288\nfully allocated size: 33882112\nbitmaps size: 0\n");
    r = Instar(v, {"-l", "snapshot.id=1,snapshot.name=first", "-O", "qcow2",
                   kImages + "qcow2-snapshot.qcow2"});
    EXPECT_EQ(r.out, "required size: 393216\nfully allocated size: 33882112\nbitmaps size: 0\n");
  }
}

// qemu-img 7.2.22 (the system's) measure --size 1G -O qcow2
//   -o cluster_size=0x10k, and -o cluster_size=0x10k,refcount_bits=0x1k:
// the warning qemu prints as it parses -o comes before the result, and
// before the error of a later option.
TEST(MeasureCliTest, HexSuffixWarningOfAnOption) {
  const std::string warning =
      "instar: warning: Using a multiplier suffix on hex numbers is deprecated: 0x10k\n";
  testing::ProgramResult r =
      Instar("7.2.22", {"--size", "1G", "-O", "qcow2", "-o", "cluster_size=0x10k"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, warning);
  EXPECT_EQ(r.out, "required size: 720896\nfully allocated size: 1074462720\n");
  r = Instar("7.2.22",
             {"--size", "1G", "-O", "qcow2", "-o", "cluster_size=0x10k,refcount_bits=0x1k"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, warning +
                       "instar: Parameter 'refcount_bits' expects a number\n"
                       "instar: Invalid options for file format 'qcow2'\n");
  EXPECT_EQ(r.out, "");
}

struct Refusal {
  const char* compat;
  std::vector<std::string> args;
  std::string err;
  std::string out{};
};

// Each `qemu-img-binaries/x86_64/<compat>/qemu-img measure <args>`; exit 1.
TEST(MeasureCliTest, SnapshotRefusals) {
  const std::string image = kImages + "qcow2-snapshot.qcow2";
  const Refusal cases[] = {
      {"7.2.22", {"-l", "nope", image}, "instar: Failed to load snapshot: Can't find snapshot\n"},
      {"11.1.3",
       {"-l", "first", kImages + "raw-sparse.raw"},
       "instar: Failed to load snapshot: Block format 'raw' used by device '' does not support "
       "temporarily loading internal snapshots\n"},
      {"5.2.0",
       {"-l", "snapshot.foo=bar", image},
       "instar: Invalid parameter 'snapshot.foo'\n"
       "instar: Failed in parsing snapshot param 'snapshot.foo=bar'\n"},
      {"10.0.2",
       {"-l", "snapshot.id=1,help", image},
       "instar: Failed in parsing snapshot param 'snapshot.id=1,help'\n",
       "snapshot options:\n"
       "  snapshot.id=<str>      - snapshot id\n"
       "  snapshot.name=<str>    - snapshot name\n"},
      {"7.2.22",
       {"-l", "snapshot.id", image},
       "instar: warning: short-form boolean option 'snapshot.id' deprecated\n"
       "Please use snapshot.id=on instead\n"
       "instar: Failed to load snapshot: Can't find snapshot\n"},
      {"7.2.22",
       {"-l", "snap1"},
       "instar: --image-opts, -f, and -l require a filename argument.\n"},
  };
  for (const Refusal& c : cases) {
    const testing::ProgramResult r = Instar(c.compat, c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args[1];
    EXPECT_EQ(r.err, c.err) << c.args[1];
    EXPECT_EQ(r.out, c.out) << c.args[1];
  }
}

// /usr/bin/qemu-img (7.2.22) measure --object secret,id=sec0,data=passphrase
//   -O luks -o key-secret=sec0,iter-time=10 --size 1G (and qemu-img of
//   5.2.0 and 11.1.3, and the same for qcow2's encrypt.format=luks)
TEST(MeasureCliTest, LuksHeader) {
  for (const char* v : {"5.2.0", "7.2.22", "11.1.3"}) {
    testing::ProgramResult r =
        Instar(v, {"--object", "secret,id=sec0,data=passphrase", "-O", "luks", "-o",
                   "key-secret=sec0,iter-time=10", "--size", "1G"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "required size: 1075810304\nfully allocated size: 1075810304\n");
    r = Instar(
        v, {"--object", "secret,id=sec0,data=passphrase", "-O", "qcow2", "-o",
            "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10", "--size", "1G"});
    EXPECT_EQ(r.out, "required size: 2490368\nfully allocated size: 1076232192\n");
  }
}

TEST(MeasureCliTest, ObjectRefusals) {
  const Refusal cases[] = {
      // iotests 178: an object alone is not a size.
      {"7.2.22",
       {"--object", "secret,id=sec0,data=MTIzNDU2,format=base64"},
       "instar: Either --size N or one filename must be specified.\n"},
      {"7.2.22",
       {"--object", "secret,id=sec0,data=passphrase", "-O", "luks", "-o", "key-secret=sec1",
        "--size", "1G"},
       "instar: No secret with id 'sec1'\n"},
      {"5.2.0", {"--object", "bogus,id=x", "--size", "1G"}, "instar: invalid object type: bogus\n"},
      {"11.1.3",
       {"--object", "bogus,id=x", "--size", "1G"},
       "instar: Parameter 'qom-type' does not accept value 'bogus'\n"},
      // 5.2 makes objects after reading the options, 6.0+ as it reads them.
      {"5.2.0",
       {"--object", "bogus,id=x", "--size", "-1"},
       "instar: Invalid image size specified. Must be between 0 and 9223372036854775807.\n"},
      {"7.2.22",
       {"--object", "bogus,id=x", "--size", "-1"},
       "instar: Parameter 'qom-type' does not accept value 'bogus'\n"},
      {"7.2.22",
       {"--object", "secret,id=sec0,file=/nonexistent", "--size", "1G"},
       "instar: Unable to read /nonexistent: Failed to open file \u201c/nonexistent\u201d: No "
       "such file or directory\n"},
      {"7.2.22", {"--object", "", "--size", "1G"}, "instar: Parameter 'qom-type' is missing\n"},
  };
  for (const Refusal& c : cases) {
    const testing::ProgramResult r = Instar(c.compat, c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args[1];
    EXPECT_EQ(r.err, c.err) << c.args[1];
    EXPECT_EQ(r.out, c.out) << c.args[1];
  }
}

// qemu-img-binaries/x86_64/7.2.22/qemu-img measure --object help: exit 0.
TEST(MeasureCliTest, ObjectHelp) {
  const testing::ProgramResult r = Instar("7.2.22", {"--object", "help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out,
            "List of user creatable objects:\n"
            "  authz-list\n  authz-list-file\n  authz-simple\n  main-loop\n"
            "  pr-manager-helper\n  secret\n  secret_keyring\n  thread-context\n"
            "  throttle-group\n  tls-cipher-suites\n  tls-creds-anon\n  tls-creds-psk\n"
            "  tls-creds-x509\n");
}

// qemu-img-binaries/x86_64/{5.2.0,7.2.22,11.1.3}/qemu-img measure --size 1G
//   -O vmdk (and -O vpc, -O vhdx, and -O vhdx cases/images/vpc-empty.vhd):
// instar refuses the targets qemu-img cannot measure unless asked for its
// own prediction (--instar-targets).
TEST(MeasureCliTest, InstarTargetsAreRefusedByDefault) {
  for (const char* v : {"5.2.0", "7.2.22", "11.1.3"}) {
    for (const char* target : {"vmdk", "vpc", "vhdx"}) {
      testing::ProgramResult r = Instar(v, {"--size", "1G", "-O", target});
      EXPECT_EQ(r.exit_code, 1) << target;
      EXPECT_EQ(r.err, std::string("instar: Block driver '") + target +
                           "' does not support size measurement\n");
      EXPECT_EQ(r.out, "");
    }
    const testing::ProgramResult r = Instar(v, {"-O", "vhdx", kImages + "vpc-empty.vhd"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "instar: Block driver 'vhdx' does not support size measurement\n");
  }
}

// The total size of the files `qemu-img create -f FORMAT [-o OPTIONS] t SIZE`
// (the system's) makes, or 0 when it fails.
uint64_t CreatedSize(const std::string& format, const std::string& options,
                     const std::string& size) {
  char pattern[] = "/tmp/instar-measure-cli.XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  const std::string path = dir + "/t." + format;
  std::vector<std::string> argv = {"/usr/bin/qemu-img", "create", "-q", "-f", format};
  if (!options.empty()) argv.insert(argv.end(), {"-o", options});
  argv.insert(argv.end(), {path, size});
  const testing::ProgramResult r = testing::RunProgram(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  struct stat st {};
  const bool made = r.exit_code == 0 && ::stat(path.c_str(), &st) == 0;
  ::unlink(path.c_str());
  ::rmdir(dir.c_str());
  return made ? static_cast<uint64_t>(st.st_size) : 0;
}

// With --instar-targets, measure --size S -O FMT answers in the form qemu-img
// answers for raw and qcow2; `required` is the size of what `qemu-img
// create` makes, `fully allocated` at least that, and the JSON output holds
// the same numbers as the human one.
TEST(MeasureCliTest, InstarTargetsPredictWithTheOptIn) {
  struct {
    const char* format;
    const char* options;
  } const cases[] = {{"vmdk", ""}, {"vmdk", "subformat=streamOptimized"},
                     {"vpc", ""},  {"vpc", "subformat=fixed"},
                     {"vhdx", ""}, {"vhdx", "subformat=fixed"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.format) + " " + c.options);
    std::vector<std::string> args = {"--instar-targets", "--size", "64M", "-O", c.format};
    if (c.options[0] != '\0') args.insert(args.end(), {"-o", c.options});
    const testing::ProgramResult human = Instar("7.2.22", args);
    ASSERT_EQ(human.exit_code, 0) << human.err;
    EXPECT_EQ(human.err, "");
    unsigned long long required = 0, fully_allocated = 0;
    ASSERT_EQ(std::sscanf(human.out.c_str(), "required size: %llu\nfully allocated size: %llu\n",
                          &required, &fully_allocated),
              2)
        << human.out;
    EXPECT_EQ(human.out, "required size: " + std::to_string(required) +
                             "\nfully allocated size: " + std::to_string(fully_allocated) + "\n");
    EXPECT_EQ(required, CreatedSize(c.format, c.options, "64M"));
    EXPECT_LE(required, fully_allocated);
    args.insert(args.begin(), "--output=json");
    const testing::ProgramResult json = Instar("7.2.22", args);
    EXPECT_EQ(json.exit_code, 0) << json.err;
    EXPECT_EQ(json.out, "{\n    \"required\": " + std::to_string(required) +
                            ",\n    \"fully-allocated\": " + std::to_string(fully_allocated) +
                            "\n}\n");
  }
  // A source image: an empty one needs what create makes of its size.
  const testing::ProgramResult r =
      Instar("11.1.3", {"--instar-targets", "-O", "vpc", kImages + "vpc-empty.vhd"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  unsigned long long required = 0, fully_allocated = 0;
  ASSERT_EQ(std::sscanf(r.out.c_str(), "required size: %llu\nfully allocated size: %llu\n",
                        &required, &fully_allocated),
            2)
      << r.out;
  EXPECT_EQ(required, CreatedSize("vpc", "", "1G"));
  EXPECT_LT(required, fully_allocated);
}

// Where the opt-in means nothing it is refused: the targets qemu-img
// measures itself, and an argument. It is matched only in full, so an
// abbreviation still means what it means to qemu-img: "--i" is --image-opts
// (qemu-img 7.2.22: "--image-opts, -f, and -l require a filename
// argument."), and "--instar" is unknown, as qemu-img 11.1.3 says.
TEST(MeasureCliTest, InstarTargetsRefusedWhereItMeansNothing) {
  for (const char* target : {"raw", "qcow2", "luks"}) {
    const testing::ProgramResult r =
        Instar("11.1.3", {"--instar-targets", "--size", "1G", "-O", target});
    EXPECT_EQ(r.exit_code, 1) << target;
    EXPECT_EQ(r.err, std::string("instar: --instar-targets applies to -O vmdk, vpc and vhdx "
                                 "only; '") +
                         target + "' is measured as qemu-img measures it\n");
    EXPECT_EQ(r.out, "");
  }
  // -O raw by default.
  testing::ProgramResult r = Instar("11.1.3", {"--instar-targets", "--size", "1G"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("'raw' is measured as qemu-img measures it"), std::string::npos) << r.err;
  // An unknown target is refused in qemu-img's words.
  r = Instar("11.1.3", {"--instar-targets", "--size", "1G", "-O", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "instar: Unknown file format 'nope'\n");
  r = Instar("11.1.3", {"--instar-targets=yes", "--size", "1G", "-O", "vpc"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("option '--instar-targets' doesn't allow an argument"), std::string::npos)
      << r.err;
  r = Instar("7.2.22", {"--i", "--size", "1G"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "instar: --image-opts, -f, and -l require a filename argument.\n");
  r = Instar("11.1.3", {"--instar", "--size", "1G", "-O", "vpc"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unrecognized option '--instar'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace instar::vmm
