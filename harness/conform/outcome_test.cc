#include "harness/conform/outcome.h"

#include <gtest/gtest.h>

#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

using testing::kSourceRoot;
using testing::ReadText;

// What qemu-img 7.2.18 printed for `measure -O raw qcow2-v2.qcow2`
// (profiles/measure-human/profile-02/qcow2/qcow2-v2__raw.stdout.txt).
std::string Expected() {
  return ReadText(kSourceRoot / "profiles/measure-human/profile-02/qcow2/qcow2-v2__raw.stdout.txt");
}

TEST(JudgeTest, SameExitAndStdoutPasses) {
  const std::string out = Expected();
  ASSERT_FALSE(out.empty());
  const Verdict v = Judge(0, out, {0, false, out, "", {}});
  EXPECT_EQ(v.outcome, Outcome::kPass);
  EXPECT_EQ(v.reason, "");
  EXPECT_EQ(v.diff, "");
}

TEST(JudgeTest, DifferentStdoutFailsWithADiff) {
  const std::string out = Expected();
  std::string changed = out;
  changed.replace(changed.find("required size: ") + 15, 1, "9");
  const Verdict v = Judge(0, out, {0, false, changed, "", {}});
  EXPECT_EQ(v.outcome, Outcome::kFail);
  EXPECT_EQ(v.reason, "stdout differs");
  EXPECT_EQ(v.diff.rfind("--- qemu-img\n+++ instar\n@@ ", 0), 0u) << v.diff;
}

// A non-zero baseline asserts that instar fails too: 5.2.0 cannot open the
// zstd image (profiles/measure-human/profile-01/qcow2/qcow2-zstd__raw.*:
// exit 1, empty stdout).
TEST(JudgeTest, NonZeroBaselineAndZeroInstarFails) {
  const Verdict v = Judge(1, "", {0, false, "", "", {}});
  EXPECT_EQ(v.outcome, Outcome::kFail);
  EXPECT_EQ(v.reason,
            "instar exited 0, qemu-img 1 (a failing baseline asserts that instar fails too)");
}

TEST(JudgeTest, NonZeroBaselineAndNonZeroInstarPassesWhenStdoutAgrees) {
  EXPECT_EQ(Judge(1, "", {1, false, "", "instar: Could not open 'x'\n", {}}).outcome,
            Outcome::kPass);
  // The stdout of a failing case is compared as well.
  const Verdict v = Judge(1, "", {1, false, "partial\n", "", {}});
  EXPECT_EQ(v.outcome, Outcome::kFail);
  EXPECT_EQ(v.reason, "stdout differs");
}

TEST(JudgeTest, ZeroBaselineAndNonZeroInstarFailsWithItsError) {
  const Verdict v =
      Judge(0, Expected(), {1, false, "", "instar: Could not open 'x': bad\nmore\n", {}});
  EXPECT_EQ(v.outcome, Outcome::kFail);
  EXPECT_EQ(v.reason,
            "instar exited 1, qemu-img 0: instar: Could not open 'x': bad; stdout differs too");
  EXPECT_NE(v.diff, "");
}

TEST(JudgeTest, SandboxDeathOrTimeOutFailsEvenWhereQemuImgFailed) {
  Verdict v = Judge(1, "", {70, false, "", "instar: the guest faulted\n", {}});
  EXPECT_EQ(v.outcome, Outcome::kFail);
  EXPECT_EQ(v.reason, "instar exited 70 (the guest crashed): instar: the guest faulted");
  v = Judge(1, "", {71, false, "", "", {}});
  EXPECT_EQ(v.reason, "instar exited 71 (the sandbox helper was killed by seccomp)");
  v = Judge(1, "", {137, true, "", "", {}});
  EXPECT_EQ(v.outcome, Outcome::kFail);
  EXPECT_EQ(v.reason, "instar timed out");
  v = Judge(
      0, "",
      {75, false, "", "instar: the host process made a forbidden system call 41 (socket)\n", {}});
  EXPECT_EQ(v.reason,
            "instar exited 75 (instar made a system call its confinement forbids): instar: the "
            "host process made a forbidden system call 41 (socket)");
  EXPECT_TRUE(IsSandboxDeath(74));
  EXPECT_TRUE(IsSandboxDeath(75));
  EXPECT_FALSE(IsSandboxDeath(1));
  EXPECT_FALSE(IsSandboxDeath(76));
}

TEST(JudgeTest, OutcomeNames) {
  EXPECT_STREQ(OutcomeName(Outcome::kPass), "pass");
  EXPECT_STREQ(OutcomeName(Outcome::kFail), "fail");
  EXPECT_STREQ(OutcomeName(Outcome::kSkip), "skip");
}

TEST(JudgeTest, StderrIsComparedWithTheProgramNameReadAsQemuImg) {
  const std::string expected = "qemu-img: Could not open 'x': Invalid header magic\n";
  EXPECT_EQ(Judge(1, "", {1, false, "", "", "instar: Could not open 'x': Invalid header magic\n"},
                  &expected)
                .outcome,
            Outcome::kPass);
  const Verdict v =
      Judge(1, "", {1, false, "", "", "instar: Could not open 'x': bad magic\n"}, &expected);
  EXPECT_EQ(v.outcome, Outcome::kFail);
  EXPECT_EQ(v.reason, "stderr differs");
  EXPECT_NE(v.diff.find("-qemu-img: Could not open 'x': Invalid header magic"), std::string::npos);
  EXPECT_NE(v.diff.find("+qemu-img: Could not open 'x': bad magic"), std::string::npos);
  // Not compared without an expected stderr.
  EXPECT_EQ(Judge(1, "", {1, false, "", "", "instar: anything\n"}).outcome, Outcome::kPass);
}

TEST(JudgeTest, AsQemuImgLinesRewritesEachLeadingProgramName) {
  EXPECT_EQ(AsQemuImgLines("instar: a\nVHDX x\ninstar: b\n"), "qemu-img: a\nVHDX x\nqemu-img: b\n");
  EXPECT_EQ(AsQemuImgLines("an instar: not at the start"), "an instar: not at the start");
  EXPECT_EQ(AsQemuImgLines(""), "");
}

}  // namespace
}  // namespace instar::harness
