#include "harness/conform/instar_argv.h"

#include <gtest/gtest.h>

#include "harness/core/error.h"

namespace instar::harness {
namespace {

const PlaceholderValues kValues{"/dev/shm/instar-harness.ab12/w1/filename",
                                "/dev/shm/instar-harness.ab12/corpus"};

// The argv of profiles/measure-human/profile-02/qcow2/qcow2-v2__raw.meta.json.
TEST(InstarArgumentsTest, ImageCaseGetsCompatAndTheResolvedPath) {
  EXPECT_EQ(InstarArguments({"qemu-img", "measure", "-O", "raw", "$TESTDATA_ROOT/qcow2-v2.qcow2"},
                            "7.2.18", "", kValues),
            (std::vector<std::string>{"--compat", "7.2.18", "measure", "-O", "raw",
                                      "/dev/shm/instar-harness.ab12/corpus/qcow2-v2.qcow2"}));
}

// profiles/measure-json/profile-01/_size/1G-qcow2-cs-4k.meta.json, with a
// sandbox: the global options go before the command, the rest is verbatim.
TEST(InstarArgumentsTest, SizeCaseKeepsEveryWordAndTheSandboxGoesFirst) {
  EXPECT_EQ(InstarArguments({"qemu-img", "measure", "--output=json", "--size", "1G", "-O", "qcow2",
                             "-o", "cluster_size=4k"},
                            "5.2.0", "emulated", kValues),
            (std::vector<std::string>{"--sandbox=emulated", "--compat", "5.2.0", "measure",
                                      "--output=json", "--size", "1G", "-O", "qcow2", "-o",
                                      "cluster_size=4k"}));
}

TEST(InstarArgumentsTest, ScratchFilePlaceholdersAnywhereInAWord) {
  EXPECT_EQ(ResolvePlaceholders("file=$FILENAME,backing=$TESTDATA_ROOT/a.qcow2", kValues),
            "file=/dev/shm/instar-harness.ab12/w1/filename,backing=/dev/shm/instar-harness.ab12/"
            "corpus/a.qcow2");
  EXPECT_EQ(ResolvePlaceholders("$FILENAMEX", kValues),
            "/dev/shm/instar-harness.ab12/w1/filenameX");
  EXPECT_EQ(ResolvePlaceholders("$OTHER", kValues), "$OTHER");
  EXPECT_EQ(ResolvePlaceholders("", kValues), "");
}

TEST(InstarArgumentsTest, RefusesAnArgvThatIsNotQemuImgs) {
  EXPECT_THROW(InstarArguments({}, "5.2.0", "", kValues), HarnessError);
  EXPECT_THROW(InstarArguments({"qemu-io", "-c", "read 0 1"}, "5.2.0", "", kValues), HarnessError);
}

TEST(ShellCommandTest, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(ShellCommand({"instar", "--compat", "7.2.18", "info", "$TESTDATA_ROOT/qcow2-v2.qcow2"}),
            "instar --compat 7.2.18 info $TESTDATA_ROOT/qcow2-v2.qcow2");
  EXPECT_EQ(ShellCommand({"conform", "--case", "qcow2/*", "it's", ""}),
            "conform --case 'qcow2/*' 'it'\\''s' ''");
  EXPECT_EQ(ShellQuote("$HOME"), "'$HOME'");
  EXPECT_EQ(ShellQuote("$FILENAME"), "$FILENAME");
  EXPECT_EQ(ShellQuote("$TESTDATA_ROOT/a b"), "'$TESTDATA_ROOT/a b'");
}

}  // namespace
}  // namespace instar::harness
