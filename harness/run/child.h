// ChildRunner: runs one program to completion and captures what it printed.
//
// The contract every harness child gets (see STYLE.md, "Child processes"):
// an argv vector, never a shell; stdin on /dev/null; stdout and stderr
// captured apart; its own process group, so a time-out or an Interrupt kills
// the whole group, and so does the exit of the child itself (a straggler it
// left behind would otherwise hold our pipes open); the environment given in
// the request and nothing else; an empty signal mask. A death by signal is
// reported as 128 + the signal number, like a shell would.
//
// A runner is used by one thread at a time. Run()
// throws HarnessError only when the program cannot be started at all; every
// exit status, signal or time-out is a result.
#ifndef INSTAR_HARNESS_RUN_CHILD_H_
#define INSTAR_HARNESS_RUN_CHILD_H_

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "harness/run/interrupt.h"

namespace instar::harness {

struct ChildRequest {
  std::filesystem::path executable;           // absolute; no PATH search
  std::vector<std::string> arguments;         // argv[1..]
  std::vector<std::string> environment = {};  // "NAME=value"
  std::chrono::milliseconds timeout = std::chrono::seconds(60);
  // When set, stdout is handed over chunk by chunk instead of collected in
  // ChildResult::out (for large outputs such as `xz -dc`).
  std::function<void(const char* data, size_t length)> stdout_sink = {};
};

struct ChildResult {
  int exit_code = 0;  // the exit status, or 128 + signal number
  bool timed_out = false;
  std::string out;
  std::string err;
};

// LC_ALL=C, TZ=UTC and PATH=/usr/bin:/bin: what every qemu-img (and instar)
// gets, so that output does not depend on the user's locale, time zone
// (snapshot dates print in local time) or environment.
std::vector<std::string> MinimalEnvironment();

// Finds `program` on the harness's own PATH; empty when absent.
std::filesystem::path FindOnPath(const std::string& program);

class ChildRunner {
 public:
  // `interrupt` may be null (no Ctrl-C handling, as in tests).
  explicit ChildRunner(Interrupt* interrupt = nullptr);
  ChildRunner(const ChildRunner&) = delete;
  ChildRunner& operator=(const ChildRunner&) = delete;
  ~ChildRunner();

  ChildResult Run(const ChildRequest& request);

 private:
  // posix_spawn's attributes and file actions, kept from one child to the
  // next while the pipes get the same descriptor numbers (as they do):
  // building them costs four getrlimit calls and two allocations a child.
  struct SpawnCache;
  Interrupt* interrupt_;
  std::unique_ptr<SpawnCache> spawn_;
};

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_RUN_CHILD_H_
