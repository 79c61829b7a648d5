// Progress of a long run on stderr, in the manner of ninja's LinePrinter.
//
// On a terminal (stderr is a tty and TERM is set and not "dumb") one line is
// overprinted with done/total, rate and ETA, at most ten times a second.
// Elsewhere (CI logs, pipes) a plain line is printed every ten seconds and
// at each quarter. No colour is used, so NO_COLOR has nothing to turn off.
// Advance() is safe to call from any thread.
#ifndef INSTAR_HARNESS_RUN_PROGRESS_H_
#define INSTAR_HARNESS_RUN_PROGRESS_H_

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace instar::harness {

enum class ProgressStyle { kAuto, kTerminal, kPlain, kSilent };

// Resolves kAuto from the environment and stderr.
ProgressStyle DetectProgressStyle();

class Progress {
 public:
  Progress(std::string label, size_t total, ProgressStyle style);
  void Advance();
  // Clears the overprinted line (terminal) so the summary starts clean.
  void Finish();

 private:
  void Print(bool final_line);

  std::string label_;
  size_t total_;
  ProgressStyle style_;
  std::mutex mutex_;
  size_t done_ = 0;
  size_t last_quarter_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
  bool printed_ = false;
};

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_RUN_PROGRESS_H_
