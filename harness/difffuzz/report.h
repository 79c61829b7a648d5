// What instar-harness difffuzz prints: a block per disagreement, minimised
// to its script, and the run's verdict line. See docs/harness.md,
// "Differential fuzzing".
//
//   DISAGREE seed 17: info-json of "$DIR"/b.qcow2 (qcow2), qemu-img 7.2.22 and
//       instar --compat 7.2.22: stdout differs
//     versions that disagree: 7.2.18, 7.2.22
//     script, minimised (2 of 9 steps; paste it into a shell):
//       DIR=$(mktemp -d)
//       env -i LC_ALL=C TZ=UTC PATH=/usr/bin:/bin /m/11.1.3/qemu-img create -f qcow2 "$DIR"/a.qcow2
//       1048576
//       ...
//     qemu-img: env -i ... /m/7.2.22/qemu-img info --output=json "$DIR"/b.qcow2
//       exit 0
//       stdout: ...
//     instar: env -i ... /build/vmm/instar --compat 7.2.22 info --output=json "$DIR"/b.qcow2
//       ...
//     --- qemu-img
//     +++ instar
//     ...
//     kept: DIR/seed-17-min-1   (with --keep)
//     rerun: ci/difffuzz --seed 17 --iterations 1 --versions 7.2.22
//
// An explained disagreement (a difffuzz entry of cases/divergences.json
// matches its minimised script) is one line:
//
//   EXPLAINED seed 17: info-json of "$DIR"/b.qcow2 (qcow2), 7.2.22: divergence NAME: REASON
#ifndef INSTAR_HARNESS_DIFFFUZZ_REPORT_H_
#define INSTAR_HARNESS_DIFFFUZZ_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

namespace instar::harness {

struct DifffuzzSide {
  std::string line;  // the command as a shell line
  int exit_code = 0;
  bool timed_out = false;
  std::string out;  // as compared (normalised)
  std::string err;  // paths rewritten
};

struct Disagreement {
  uint64_t seed = 0;
  std::string output_type;
  std::string image;   // "$DIR/b.qcow2"
  std::string format;  // "qcow2"
  std::string version;
  std::vector<std::string> versions;  // every version that disagreed
  std::string reason;                 // the judge's
  std::string diff;                   // qemu-img's side first
  size_t original_steps = 0;
  std::vector<std::string> script;  // the minimised script, shell lines
  bool exhausted = false;           // the minimiser ran out of tries
  DifffuzzSide qemu;
  DifffuzzSide instar;
  std::string explained_by;  // a divergence's name; empty when unexplained
  std::string explanation;   // its reason
  std::string kept;          // where its images are, with --keep
  std::string rerun;         // the command that runs its iteration again
};

std::string FormatDisagreement(const Disagreement& disagreement);

struct DifffuzzTotals {
  uint64_t first_seed = 0;
  size_t iterations = 0;
  size_t checks = 0;
  size_t both_failed = 0;   // checks on which qemu-img and instar both exited non-zero
  size_t failed_steps = 0;  // script steps that exited non-zero
  size_t explained = 0;
  size_t unexplained = 0;
  double seconds = 0;
};

// "difffuzz: PASS: 20 iterations (seeds 1..20), 1680 checks (14 failing in
// both), 0 disagreements (0 explained), 3 script steps failed (12.3 s)"
std::string FormatVerdict(const DifffuzzTotals& totals);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_DIFFFUZZ_REPORT_H_
