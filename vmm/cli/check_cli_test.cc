// `instar check` end to end, through the process backend. Every expected
// text is what qemu-img-binaries/x86_64/<version>/qemu-img check printed
// for the same arguments (run in cases/images), "qemu-img" replaced by
// instar's name; the whole corpus is conform_check_*'s (harness/).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vmm/testing/subprocess.h"

namespace instar::vmm {
namespace {

const std::string kImages = std::string(INSTAR_SOURCE_ROOT) + "/cases/images/";
const std::string kSelf = INSTAR_BINARY_PATH;

testing::ProgramResult Check(const std::string& version, std::vector<std::string> args) {
  args.insert(args.begin(), {kSelf, "--sandbox=process", "--compat", version, "check"});
  return testing::RunProgram(args);
}

// check caution-qcow2-leak.qcow2 (5.2.0 and 11.1.3 alike): the leak line on
// stderr, exit 3.
TEST(CheckCliTest, ALeakingImageExitsThree) {
  for (const char* version : {"5.2.0", "11.1.3"}) {
    SCOPED_TRACE(version);
    const testing::ProgramResult r = Check(version, {kImages + "caution-qcow2-leak.qcow2"});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(r.out,
              "\n1 leaked clusters were found on the image.\n"
              "This means waste of disk space, but no harm to data.\n"
              "2/256 = 0.78% allocated, 0.00% fragmented, 0.00% compressed clusters\n"
              "Image end offset: 32768\n");
    EXPECT_EQ(r.err, "Leaked cluster 7 refcount=1 reference=0\n");
  }
}

// check -f raw raw-sparse.raw: raw has no check; exit 63.
TEST(CheckCliTest, RawDoesNotSupportChecks) {
  const testing::ProgramResult r = Check("11.1.3", {"-f", "raw", kImages + "raw-sparse.raw"});
  EXPECT_EQ(r.exit_code, 63);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "instar: This image format does not support checks\n");
}

// -r writes to the image: refused with one line, the image untouched.
TEST(CheckCliTest, RepairIsRefused) {
  const testing::ProgramResult r =
      Check("11.1.3", {"-r", "leaks", kImages + "caution-qcow2-leak.qcow2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "instar: -r is not supported by instar: a repair writes to the image\n");
}

// --quiet and --cache are 10.0's long names of -q and -T: 7.2.22 refuses
// them, 10.0.2 prints nothing on stdout and exits as without them.
TEST(CheckCliTest, QuietAndCacheLongNamesFrom10) {
  const std::string image = kImages + "caution-qcow2-leak.qcow2";
  testing::ProgramResult r = Check("10.0.2", {"--quiet", "--cache=none", image});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "Leaked cluster 7 refcount=1 reference=0\n");
  r = Check("7.2.22", {"--quiet", image});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "instar: unrecognized option '--quiet'\nTry 'instar --help' for more information\n");
}

struct ErrorCase {
  const char* version;
  std::vector<std::string> args;
  std::string err;
};

TEST(CheckCliTest, ArgumentErrorsAreEachVersionsOwn) {
  const std::string image = kImages + "caution-qcow2-leak.qcow2";
  const std::vector<ErrorCase> cases = {
      {"5.2.0",
       {"--output=xml", image},
       "instar: --output must be used with human or json as argument.\n"},
      {"11.1.3",
       {"--output=xml", image},
       "instar: --output expects 'human' or 'json', not 'xml'\nTry '" + kSelf +
           " check --help' for more information\n"},
      {"5.2.0",
       {},
       "instar: Expecting one image file name\nTry 'instar --help' for more information\n"},
      {"11.1.3",
       {},
       "instar: Expecting one image file name\nTry '" + kSelf +
           " check --help' for more information\n"},
      {"5.2.0",
       {"--bogus", image},
       "instar: unrecognized option '--bogus'\nTry 'instar --help' for more information\n"},
      {"11.1.3",
       {"--bogus", image},
       kSelf + " check: unrecognized option '--bogus'\nTry '" + kSelf +
           " check --help' for more information\n"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(std::string(c.version) + " " + (c.args.empty() ? "" : c.args[0]));
    const testing::ProgramResult r = Check(c.version, c.args);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, c.err);
  }
}

}  // namespace
}  // namespace instar::vmm
