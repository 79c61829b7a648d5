#include "harness/run/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace instar::harness {

namespace {

std::string FormatDuration(double seconds) {
  char buffer[32];
  long whole = static_cast<long>(seconds + 0.5);
  if (whole >= 60) {
    (void)std::snprintf(buffer, sizeof(buffer), "%ldm%02lds", whole / 60, whole % 60);
  } else {
    (void)std::snprintf(buffer, sizeof(buffer), "%lds", whole);
  }
  return buffer;
}

}  // namespace

ProgressStyle DetectProgressStyle() {
  const char* term = std::getenv("TERM");
  if (::isatty(STDERR_FILENO) && term != nullptr && *term != '\0' &&
      std::strcmp(term, "dumb") != 0) {
    return ProgressStyle::kTerminal;
  }
  return ProgressStyle::kPlain;
}

Progress::Progress(std::string label, size_t total, ProgressStyle style)
    : label_(std::move(label)),
      total_(total),
      style_(style == ProgressStyle::kAuto ? DetectProgressStyle() : style),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

void Progress::Advance() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++done_;
  if (style_ == ProgressStyle::kSilent) return;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_print_).count();
  if (style_ == ProgressStyle::kTerminal) {
    if (since >= 0.1 || done_ == total_) Print(false);
    return;
  }
  size_t quarter = total_ == 0 ? 4 : done_ * 4 / total_;
  if (quarter > last_quarter_ || since >= 10.0) {
    last_quarter_ = quarter;
    Print(false);
  }
}

void Progress::Print(bool final_line) {
  auto now = std::chrono::steady_clock::now();
  last_print_ = now;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  char line[256];
  int n = std::snprintf(line, sizeof(line), "%s: %zu/%zu cases, %.1f/s", label_.c_str(), done_,
                        total_, rate);
  std::string text(line, static_cast<size_t>(n > 0 ? n : 0));
  if (done_ < total_ && rate > 0) {
    text += ", eta " + FormatDuration(static_cast<double>(total_ - done_) / rate);
  }
  if (style_ == ProgressStyle::kTerminal) {
    (void)std::fprintf(stderr, "\r%s\x1b[K", text.c_str());
    if (final_line) (void)std::fputc('\n', stderr);
  } else {
    (void)std::fprintf(stderr, "%s\n", text.c_str());
  }
  (void)std::fflush(stderr);
  printed_ = true;
}

void Progress::Finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (style_ == ProgressStyle::kTerminal && printed_) {
    (void)std::fputs("\r\x1b[K", stderr);
    (void)std::fflush(stderr);
  }
}

}  // namespace instar::harness
