// Sandbox: runs one guest operation in a backend and collects its result.
//
// Backends: process (seccomp-strict helper), kvm (our VMM), emulated (the
// KVM image on Unicorn). All three serve calls through one CallHandler
// (call_handler.h) over one DeviceTable, so they differ only in how guest
// code runs and how requests reach the handler.
#ifndef INSTAR_VMM_SANDBOX_SANDBOX_H_
#define INSTAR_VMM_SANDBOX_SANDBOX_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "instar/guest/abi.h"
#include "vmm/sandbox/call_handler.h"
#include "vmm/sandbox/device_table.h"
#include "vmm/sandbox/exit_codes.h"

namespace instar::vmm {

enum class SandboxKind { kKvm, kProcess, kEmulated };

// "kvm", "process", "emulated".
const char* SandboxKindName(SandboxKind kind);

struct SandboxLimits {
  std::chrono::milliseconds timeout{30000};  // wall-clock watchdog
  uint64_t guest_memory_bytes = 256ull << 20;
  // Confine the host (host_confinement.h) once the backend has started: for
  // the last run of a command, as nothing can start a sandbox after it.
  bool confine_host = false;
  // The guest's kProgress reports (call_handler.h), for convert -p.
  ProgressSink progress;
};

struct SandboxOutcome {
  ExitCode exit = kExitOk;       // kExitOk: `result` holds the guest's result stream
  std::string message;           // one line for the user when exit != kExitOk
  std::vector<uint8_t> result;   // the bytes of the one kEmit (untrusted)
  std::vector<std::string> log;  // kLog lines, for --debug
};

class Sandbox {
 public:
  virtual ~Sandbox() = default;
  virtual SandboxKind kind() const = 0;
  // Runs the operation; device 0 of `devices` is the image (if any).
  virtual SandboxOutcome Run(const abi::OperationConfig& config, DeviceTable& devices,
                             const SandboxLimits& limits) = 0;
};

// The backend for `kind`, or nullptr with `*why` set when it cannot run here
// (e.g. "/dev/kvm: No such file or directory (is KVM enabled?)").
std::unique_ptr<Sandbox> MakeSandbox(SandboxKind kind, std::string* why);

// Runs `config` in the backend `kind`; with no kind (`--sandbox=auto`, the
// default) in kvm where /dev/kvm opens, falling back to process when the kvm
// backend cannot be made or reports kExitSandboxUnavailable, so auto never
// fails where process would work. A backend that cannot be made gives
// kExitSandboxUnavailable and "cannot use the KIND sandbox: WHY".
SandboxOutcome RunSandboxed(std::optional<SandboxKind> kind, const abi::OperationConfig& config,
                            DeviceTable& devices, const SandboxLimits& limits);

// Whether `kind` can start here and run the guest through the whole call
// protocol (a run of an operation the guest refuses, with no devices);
// *why says what happened, in a few words.
bool ProbeSandbox(SandboxKind kind, std::string* why);

// What auto would use here, with the reason, after probing kvm for real:
// "kvm (a KVM guest started and ran)" or "process (kvm cannot run here: ...)".
std::string DescribeAutoSandbox();

}  // namespace instar::vmm

#endif  // INSTAR_VMM_SANDBOX_SANDBOX_H_
