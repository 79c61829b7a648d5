#include "harness/conform/instar_argv.h"

#include <gtest/gtest.h>

namespace instar::harness {
namespace {

const PlaceholderValues kValues{"/dev/shm/instar-harness.ab12/w1/filename",
                                "/dev/shm/instar-harness.ab12/corpus"};

// The argv of profiles/measure-human/profile-02/qcow2/qcow2-v2__raw.meta.json.
TEST(InstarProgramTest, ImageCaseGetsCompatAndTheResolvedPath) {
  const Program instar = InstarProgram("/build/vmm/instar", "7.2.18", "");
  EXPECT_EQ(instar.executable, "/build/vmm/instar");
  EXPECT_EQ(StepArguments(
                instar,
                {"measure", {"qemu-img", "measure", "-O", "raw", "$TESTDATA_ROOT/qcow2-v2.qcow2"}},
                kValues),
            (std::vector<std::string>{"--compat", "7.2.18", "measure", "-O", "raw",
                                      "/dev/shm/instar-harness.ab12/corpus/qcow2-v2.qcow2"}));
}

// profiles/measure-json/profile-01/_size/1G-qcow2-cs-4k.meta.json, with a
// sandbox: the global options go before the command, the rest is verbatim.
TEST(InstarProgramTest, SizeCaseKeepsEveryWordAndTheSandboxGoesFirst) {
  EXPECT_EQ(StepArguments(InstarProgram("instar", "5.2.0", "emulated"),
                          {"measure",
                           {"qemu-img", "measure", "--output=json", "--size", "1G", "-O", "qcow2",
                            "-o", "cluster_size=4k"}},
                          kValues),
            (std::vector<std::string>{"--sandbox=emulated", "--compat", "5.2.0", "measure",
                                      "--output=json", "--size", "1G", "-O", "qcow2", "-o",
                                      "cluster_size=4k"}));
}

// A step of a command instar does not implement (rebase, here: not in the
// command table) is one conform runs with qemu-img (conformer.h), and is
// shown so.
TEST(InstarProgramTest, ShownCommandKeepsThePlaceholdersAndJoinsAPipeline) {
  CaseSpec spec{"amend", "amend-info-json", "qcow2", "rebased", {}, {}, {}};
  spec.steps.push_back({"create", {"qemu-img", "create", "-f", "qcow2", "$FILENAME", "1M"}});
  spec.steps.push_back({"rebase", {"qemu-img", "rebase", "-u", "-b", "", "$FILENAME"}});
  spec.steps.push_back({"info", {"qemu-img", "info", "--output=json", "$FILENAME"}});
  EXPECT_EQ(ShownCommand(spec, InstarProgram("/build/vmm/instar", "7.2.18", "process")),
            "instar --sandbox=process --compat 7.2.18 create -f qcow2 $FILENAME 1M && "
            "qemu-img rebase -u -b '' $FILENAME && "
            "instar --sandbox=process --compat 7.2.18 info --output=json $FILENAME");
  EXPECT_FALSE(IsFixtureStep(spec.steps[0]));
  EXPECT_TRUE(IsFixtureStep(spec.steps[1]));
  EXPECT_FALSE(IsFixtureStep(spec.steps[2]));
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
