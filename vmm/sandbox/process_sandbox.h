// The process backend: the guest sources built as a static, seccomp-strict
// helper program (guest/runtime/process), run as a child with only the two
// pipes of the call table.
//
// The child gets fd 0 (requests' replies and the config, from the host) and
// fd 1 (requests, to the host) and no other fd, an empty environment, and
// rlimits: address space (SandboxLimits::guest_memory_bytes), CPU seconds
// (the time-out, rounded up, plus one), file size 0, open files 2, no core
// dumps. The helper sets no_new_privs and enters SECCOMP_MODE_STRICT itself
// before it reads anything. The host serves its calls through CallHandler
// under a wall-clock watchdog and maps each way it can end to one exit code
// (exit_codes.h) and one line.
#ifndef INSTAR_VMM_SANDBOX_PROCESS_SANDBOX_H_
#define INSTAR_VMM_SANDBOX_PROCESS_SANDBOX_H_

#include <memory>
#include <string>

#include "vmm/sandbox/sandbox.h"

namespace instar::vmm {

// The helper's file name, next to the instar executable.
inline constexpr const char kSandboxHelperName[] = "instar-sandbox-helper";

// $INSTAR_HELPER when set, else instar-sandbox-helper in the directory of
// /proc/self/exe. Empty, with *why set, when that is not an executable file.
std::string FindSandboxHelper(std::string* why);

// A process backend running the helper at `helper_path`.
std::unique_ptr<Sandbox> MakeProcessSandbox(const std::string& helper_path);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_SANDBOX_PROCESS_SANDBOX_H_
