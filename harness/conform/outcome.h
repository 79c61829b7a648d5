// The outcome of one conformance case, decided from what qemu-img recorded
// and what instar did, both already normalised (path placeholders, then the
// divergence filters).
//
//   pass  exit statuses agree (both zero, or both non-zero), stdout is
//         byte-identical, and so is stderr where it is compared: instar's
//         lines with their "instar: " read as qemu-img's "qemu-img: ";
//   fail  anything else: instar timed out; instar died in a way qemu-img
//         never does (a sandbox death, exit 70-75: crash, seccomp kill,
//         watchdog, no backend, broken result, a forbidden call of the
//         confined host); zero where qemu-img failed
//         or non-zero where it succeeded; a stdout that differs (with a
//         unified diff, expected first), or a compared stderr that differs
//         (its diff follows stdout's). A baseline that exited non-zero
//         asserts that instar fails too, and its stdout (usually empty) is
//         still compared;
//   skip  decided before running: a skip entry of cases/divergences.json
//         covers the case.
#ifndef INSTAR_HARNESS_CONFORM_OUTCOME_H_
#define INSTAR_HARNESS_CONFORM_OUTCOME_H_

#include <string>
#include <string_view>

namespace instar::harness {

enum class Outcome { kPass, kFail, kSkip };

const char* OutcomeName(Outcome outcome);  // "pass", "fail", "skip"

struct InstarOutcome {
  int exit_code = 0;
  bool timed_out = false;
  std::string_view stdout_text;  // normalised
  std::string_view stderr_text;  // first line goes into a failure reason
  // The case's stderr as the baseline store joins it (CaseStderr()), for
  // the comparison.
  std::string_view case_stderr;
};

struct Verdict {
  Outcome outcome = Outcome::kPass;
  std::string reason;  // empty for a pass
  std::string diff;    // unified diff of stdout, when it differs
};

// instar's exit statuses for a death of the sandbox (vmm/sandbox/exit_codes.h).
bool IsSandboxDeath(int exit_code);

// `expected_stderr` null: stderr is not compared.
Verdict Judge(int expected_exit, std::string_view expected_stdout, const InstarOutcome& instar,
              const std::string* expected_stderr = nullptr);

// `text` with each line's leading "instar: " (the program's name) read as
// qemu-img's "qemu-img: ".
std::string AsQemuImgLines(std::string_view text);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CONFORM_OUTCOME_H_
