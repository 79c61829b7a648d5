// `instar compare` end to end, through the process backend. Every expected
// text is what qemu-img-binaries/x86_64/<version>/qemu-img compare printed
// for the same arguments (run in cases/images), "qemu-img" replaced by
// instar's name and each file by the name given here; the corpus pairs are
// conform_compare_*'s (harness/).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vmm/testing/subprocess.h"

namespace instar::vmm {
namespace {

const std::string kImages = std::string(INSTAR_SOURCE_ROOT) + "/cases/images/";
const std::string kSelf = INSTAR_BINARY_PATH;

testing::ProgramResult Compare(const std::string& version, std::vector<std::string> args) {
  args.insert(args.begin(), {kSelf, "--sandbox=process", "--compat", version, "compare"});
  return testing::RunProgram(args);
}

std::string Program() { return kSelf.substr(kSelf.rfind('/') + 1); }

// compare qcow2-v3-64k.qcow2: one file name.
TEST(CompareCliTest, ExpectsTwoFileNames) {
  testing::ProgramResult r = Compare("5.2.0", {kImages + "qcow2-v3-64k.qcow2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, Program() + ": Expecting two image file names\nTry '" + Program() +
                       " --help' for more information\n");
  r = Compare("11.1.3", {kImages + "qcow2-v3-64k.qcow2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, Program() + ": Expecting two image file names\nTry '" + kSelf +
                       " compare --help' for more information\n");
}

// compare mal-vmdk-capacity-huge.vmdk raw-sparse.raw, and raw-sparse.raw
// mal-vmdk-desc-extents-sum-overflow.vmdk (7.2.22, the system's): an image
// qemu opens but has no length for ends the compare, exit 4, with
// strerror() of the length it got (0 when the sum wrapped to INT64_MIN).
TEST(CompareCliTest, AnImageWithoutALengthExitsFour) {
  const std::string huge = kImages + "mal-vmdk-capacity-huge.vmdk";
  const std::string wrapped = kImages + "mal-vmdk-desc-extents-sum-overflow.vmdk";
  testing::ProgramResult r = Compare("7.2.22", {huge, kImages + "raw-sparse.raw"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, Program() + ": Can't get size of " + huge + ": File too large\n");
  r = Compare("7.2.22", {kImages + "raw-sparse.raw", wrapped});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.err, Program() + ": Can't get size of " + wrapped + ": Success\n");
}

// --strict is 10.0's name for -s: 5.2.0 does not know it.
TEST(CompareCliTest, LongOptionsFromTen) {
  const std::string a = kImages + "qcow2-v3-64k.qcow2";
  const std::string b = kImages + "qcow2-empty.qcow2";
  testing::ProgramResult r = Compare("5.2.0", {"--strict", a, b});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, Program() + ": unrecognized option '--strict'\nTry '" + Program() +
                       " --help' for more information\n");
  r = Compare("11.1.3", {"--strict", a, b});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "Strict mode: Image size mismatch!\n");
  EXPECT_EQ(r.err, "");
}

// -q: the verdict is the exit status alone; -U is accepted.
TEST(CompareCliTest, QuietAndForceShare) {
  testing::ProgramResult r =
      Compare("11.1.3", {"-q", kImages + "qcow2-v3-64k.qcow2", kImages + "qcow2-backing.qcow2"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  for (const char* version : {"5.2.0", "11.1.3"}) {
    r = Compare(version,
                {"-U", "-s", kImages + "qcow2-backing.qcow2", kImages + "qcow2-backing.qcow2"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "Images are identical.\n");
  }
}

// What cannot be opened exits 2: a bad cache mode, an unknown format, a
// missing file.
TEST(CompareCliTest, OpenErrorsExitTwo) {
  const std::string a = kImages + "qcow2-v3-64k.qcow2";
  for (const char* version : {"5.2.0", "11.1.3"}) {
    SCOPED_TRACE(version);
    testing::ProgramResult r = Compare(version, {"-T", "bogus", a, a});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, Program() + ": Invalid source cache option: bogus\n");
    r = Compare(version, {"-f", "bogus", a, a});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, Program() + ": Could not open '" + a + "': Unknown driver 'bogus'\n");
    r = Compare(version, {"-F", "bogus", a, a});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, Program() + ": Could not open '" + a + "': Unknown driver 'bogus'\n");
    const std::string missing = kImages + "missing.qcow2";
    r = Compare(version, {a, missing});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, Program() + ": Could not open '" + missing + "': Could not open '" + missing +
                         "': No such file or directory\n");
  }
}

// -p prints qemu-img's progress meter, which instar does not draw: one
// line, and nothing is compared.
TEST(CompareCliTest, RefusesProgress) {
  const std::string a = kImages + "qcow2-v3-64k.qcow2";
  const testing::ProgramResult r = Compare("11.1.3", {"-p", a, a});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, Program() + ": -p (progress) is not supported by instar compare\n");
}

}  // namespace
}  // namespace instar::vmm
