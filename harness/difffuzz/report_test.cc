// What difffuzz prints for a disagreement and for the run, byte for byte.

#include "harness/difffuzz/report.h"

#include <gtest/gtest.h>

namespace instar::harness {
namespace {

Disagreement Example() {
  Disagreement d;
  d.seed = 17;
  d.output_type = "info-human";
  d.image = "$DIR/a.qcow2";
  d.format = "qcow2";
  d.version = "7.2.22";
  d.versions = {"7.2.22", "10.0.2"};
  d.reason = "stdout differs";
  d.diff = "--- qemu-img\n+++ instar\n@@ -1 +1,2 @@\n a\n+b\n";
  d.original_steps = 6;
  d.script = {
      "env -i LC_ALL=C TZ=UTC PATH=/usr/bin:/bin /q/qemu-img create -f qcow2 "
      "\"$DIR\"/a.qcow2 1048576"};
  d.qemu = {"env -i LC_ALL=C TZ=UTC PATH=/usr/bin:/bin /q/qemu-img info \"$DIR\"/a.qcow2", 0, false,
            "a\n", ""};
  d.instar = {
      "env -i LC_ALL=C TZ=UTC PATH=/usr/bin:/bin /b/instar --compat 7.2.22 info "
      "\"$DIR\"/a.qcow2",
      0, false, "a\nb", "warning\n"};
  d.rerun = "ci/difffuzz --seed 17 --iterations 1 --versions 7.2.22";
  return d;
}

TEST(DifffuzzReportTest, ADisagreementShowsItsScriptBothSidesAndTheDiff) {
  EXPECT_EQ(FormatDisagreement(Example()),
            "DISAGREE seed 17: info-human of \"$DIR\"/a.qcow2 (qcow2), qemu-img 7.2.22 and "
            "instar --compat 7.2.22: stdout differs\n"
            "  versions that disagree: 7.2.22, 10.0.2\n"
            "  script, minimised (1 of 6 steps; paste it into a shell):\n"
            "    DIR=$(mktemp -d)\n"
            "    env -i LC_ALL=C TZ=UTC PATH=/usr/bin:/bin /q/qemu-img create -f qcow2 "
            "\"$DIR\"/a.qcow2 1048576\n"
            "  qemu-img: env -i LC_ALL=C TZ=UTC PATH=/usr/bin:/bin /q/qemu-img info "
            "\"$DIR\"/a.qcow2\n"
            "    exit 0\n"
            "    stdout:\n"
            "      a\n"
            "    stderr: (empty)\n"
            "  instar: env -i LC_ALL=C TZ=UTC PATH=/usr/bin:/bin /b/instar --compat 7.2.22 info "
            "\"$DIR\"/a.qcow2\n"
            "    exit 0\n"
            "    stdout:\n"
            "      a\n"
            "      b\n"
            "      \\ No newline at end\n"
            "    stderr:\n"
            "      warning\n"
            "  --- qemu-img\n"
            "  +++ instar\n"
            "  @@ -1 +1,2 @@\n"
            "   a\n"
            "  +b\n"
            "  rerun: ci/difffuzz --seed 17 --iterations 1 --versions 7.2.22\n");
}

TEST(DifffuzzReportTest, AnExplainedDisagreementIsOneLine) {
  Disagreement d = Example();
  d.explained_by = "qemu-crash";
  d.explanation = "qemu-img aborts";
  EXPECT_EQ(FormatDisagreement(d),
            "EXPLAINED seed 17: info-human of \"$DIR\"/a.qcow2 (qcow2), 7.2.22, 10.0.2: "
            "divergence qemu-crash: qemu-img aborts\n");
}

TEST(DifffuzzReportTest, TheVerdictLine) {
  DifffuzzTotals totals;
  totals.first_seed = 1;
  totals.iterations = 20;
  totals.checks = 1680;
  totals.both_failed = 14;
  totals.failed_steps = 3;
  totals.seconds = 12.34;
  EXPECT_EQ(FormatVerdict(totals),
            "difffuzz: PASS: 20 iterations (seeds 1..20), 1680 checks (14 failing in both), "
            "0 disagreements (0 explained), 3 script steps failed (12.3 s)\n");
  totals.iterations = 1;
  totals.unexplained = 1;
  totals.failed_steps = 1;
  EXPECT_EQ(FormatVerdict(totals),
            "difffuzz: FAIL: 1 iteration (seed 1), 1680 checks (14 failing in both), 1 "
            "disagreement (0 explained), 1 script step failed (12.3 s)\n");
}

}  // namespace
}  // namespace instar::harness
