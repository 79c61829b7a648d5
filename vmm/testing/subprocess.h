// RunProgram: runs a program for a test that drives a real binary (`instar`,
// `xz`), through the harness's child runner (harness/run/child.h), so a test
// starts its children the way instar-harness does: an argv vector, never a
// shell; stdin on /dev/null; stdout and stderr captured apart; a process
// group of its own, killed whole after the deadline; a death by signal
// reported as 128 + the signal number.
//
// One difference, on purpose: the child gets this process's environment,
// not the harness's minimal one, because tests set variables for the program
// they run ($INSTAR_GUEST_IMAGE, TZ ...).
#ifndef INSTAR_VMM_TESTING_SUBPROCESS_H_
#define INSTAR_VMM_TESTING_SUBPROCESS_H_

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "harness/core/error.h"
#include "harness/run/child.h"

namespace instar::vmm::testing {

// exit_code, timed_out, out, err.
using ProgramResult = harness::ChildResult;

inline ProgramResult RunProgram(const std::vector<std::string>& argv,
                                std::chrono::seconds limit = std::chrono::seconds(60)) {
  ProgramResult result;
  if (argv.empty()) return result;
  harness::ChildRequest request;
  request.executable = argv[0];
  request.arguments.assign(argv.begin() + 1, argv.end());
  for (char** variable = environ; *variable != nullptr; ++variable) {
    request.environment.emplace_back(*variable);
  }
  request.timeout = limit;
  try {
    harness::ChildRunner runner;
    result = runner.Run(request);
  } catch (const harness::HarnessError& error) {
    // It could not start: a shell's answer for that, and the reason.
    result.exit_code = 127;
    result.err = error.what();
  }
  return result;
}

// Starts `args` (argv[0] a path) in a child of its own and returns its
// pid, without waiting: for the tests that kill a run part-way.
inline pid_t Spawn(const std::vector<std::string>& args) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// Waits (up to 10 s) until `dir` holds a producing command's temporary
// file with some data in it, i.e. the run is writing; false if it never
// does.
inline bool WaitForTemporaryFile(const std::filesystem::path& dir) {
  for (int i = 0; i < 2000; ++i) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      std::error_code ec;
      if (entry.path().filename().string().find(".instar-") != std::string::npos &&
          std::filesystem::file_size(entry.path(), ec) > 0 && !ec) {
        return true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

}  // namespace instar::vmm::testing

#endif  // INSTAR_VMM_TESTING_SUBPROCESS_H_
