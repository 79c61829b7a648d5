#include "harness/conform/outcome.h"

#include "harness/conform/unified_diff.h"

namespace instar::harness {

namespace {

std::string FirstLine(std::string_view text) {
  size_t end = text.find('\n');
  std::string_view line = text.substr(0, end);
  if (line.size() > 200) return std::string(line.substr(0, 200)) + "...";
  return std::string(line);
}

const char* SandboxDeathName(int exit_code) {
  switch (exit_code) {
    case 70:
      return "the guest crashed";
    case 71:
      return "the sandbox helper was killed by seccomp";
    case 72:
      return "the sandbox watchdog fired";
    case 73:
      return "the sandbox backend is not usable here";
    case 74:
      return "the guest broke the result ABI";
    case 75:
      return "instar made a system call its confinement forbids";
    default:
      return "the sandbox died";
  }
}

}  // namespace

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPass:
      return "pass";
    case Outcome::kFail:
      return "fail";
    case Outcome::kSkip:
      return "skip";
  }
  return "?";
}

bool IsSandboxDeath(int exit_code) { return exit_code >= 70 && exit_code <= 75; }

std::string AsQemuImgLines(std::string_view text) {
  static constexpr std::string_view kInstar = "instar: ";
  std::string out;
  out.reserve(text.size() + 16);
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    end = end == std::string_view::npos ? text.size() : end + 1;
    std::string_view line = text.substr(start, end - start);
    if (line.substr(0, kInstar.size()) == kInstar) {
      out += "qemu-img: ";
      line.remove_prefix(kInstar.size());
    }
    out += line;
    start = end;
  }
  return out;
}

Verdict Judge(int expected_exit, std::string_view expected_stdout, const InstarOutcome& instar,
              const std::string* expected_stderr) {
  Verdict verdict;
  verdict.diff = UnifiedDiff(expected_stdout, instar.stdout_text, "qemu-img", "instar");
  auto with_stderr = [&](std::string reason) {
    std::string line = FirstLine(instar.stderr_text);
    if (!line.empty()) reason += ": " + line;
    return reason;
  };
  if (instar.timed_out) {
    verdict.reason = "instar timed out";
  } else if (IsSandboxDeath(instar.exit_code)) {
    verdict.reason = with_stderr("instar exited " + std::to_string(instar.exit_code) + " (" +
                                 SandboxDeathName(instar.exit_code) + ")");
  } else if (expected_exit == 0 && instar.exit_code != 0) {
    verdict.reason =
        with_stderr("instar exited " + std::to_string(instar.exit_code) + ", qemu-img 0");
  } else if (expected_exit != 0 && instar.exit_code == 0) {
    verdict.reason = "instar exited 0, qemu-img " + std::to_string(expected_exit) +
                     " (a failing baseline asserts that instar fails too)";
  }
  if (!verdict.diff.empty()) {
    verdict.reason += verdict.reason.empty() ? "stdout differs" : "; stdout differs too";
  }
  if (expected_stderr != nullptr) {
    const std::string actual = AsQemuImgLines(instar.case_stderr);
    if (actual != *expected_stderr) {
      verdict.reason += verdict.reason.empty() ? "stderr differs" : "; stderr differs";
      verdict.diff += UnifiedDiff(*expected_stderr, actual, "qemu-img stderr", "instar stderr");
    }
  }
  verdict.outcome = verdict.reason.empty() ? Outcome::kPass : Outcome::kFail;
  return verdict;
}

}  // namespace instar::harness
