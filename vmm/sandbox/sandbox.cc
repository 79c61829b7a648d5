#include "vmm/sandbox/sandbox.h"

#include "vmm/sandbox/backends.h"
#include "vmm/sandbox/host_confinement.h"
#include "vmm/sandbox/process_sandbox.h"

namespace instar::vmm {

const char* SandboxKindName(SandboxKind kind) {
  switch (kind) {
    case SandboxKind::kKvm:
      return "kvm";
    case SandboxKind::kProcess:
      return "process";
    case SandboxKind::kEmulated:
      return "emulated";
  }
  return "unknown";
}

std::unique_ptr<Sandbox> MakeSandbox(SandboxKind kind, std::string* why) {
  switch (kind) {
    case SandboxKind::kKvm:
      return MakeKvmSandbox(why);
    case SandboxKind::kEmulated:
      return MakeEmulatedSandbox(why);
    case SandboxKind::kProcess: {
      const std::string helper = FindSandboxHelper(why);
      if (helper.empty()) return nullptr;
      return MakeProcessSandbox(helper);
    }
  }
  *why = "unknown sandbox kind";
  return nullptr;
}

namespace {

SandboxOutcome Unavailable(SandboxKind kind, const std::string& why) {
  SandboxOutcome outcome;
  outcome.exit = kExitSandboxUnavailable;
  outcome.message = std::string("cannot use the ") + SandboxKindName(kind) + " sandbox: " + why;
  return outcome;
}

SandboxOutcome RunIn(SandboxKind kind, const abi::OperationConfig& config, DeviceTable& devices,
                     const SandboxLimits& limits) {
  std::string why;
  std::unique_ptr<Sandbox> sandbox = MakeSandbox(kind, &why);
  if (sandbox == nullptr) return Unavailable(kind, why);
  return sandbox->Run(config, devices, limits);
}

}  // namespace

SandboxOutcome RunSandboxed(std::optional<SandboxKind> kind, const abi::OperationConfig& config,
                            DeviceTable& devices, const SandboxLimits& limits) {
  if (kind.has_value()) return RunIn(*kind, config, devices, limits);
  SandboxOutcome outcome = RunIn(SandboxKind::kKvm, config, devices, limits);
  // A kvm run that failed after confining the host cannot fall back: the
  // process backend's start (vfork, execve) is what the filter forbids.
  if (outcome.exit != kExitSandboxUnavailable || HostConfined()) return outcome;
  return RunIn(SandboxKind::kProcess, config, devices, limits);
}

bool ProbeSandbox(SandboxKind kind, std::string* why) {
  abi::OperationConfig config{};
  config.magic = abi::kConfigMagic;
  config.abi_version = abi::kAbiVersion;
  config.size = sizeof(config);
  config.operation = 0;  // no such operation: the guest answers with an error result
  DeviceTable devices;
  const SandboxOutcome outcome = RunSandboxed(kind, config, devices, SandboxLimits{});
  if (outcome.exit != kExitOk) {
    *why = outcome.message;
    return false;
  }
  *why = std::string("a ") + (kind == SandboxKind::kKvm ? "KVM guest" : SandboxKindName(kind)) +
         " sandbox started and ran";
  return true;
}

std::string DescribeAutoSandbox() {
  std::string why;
  if (ProbeSandbox(SandboxKind::kKvm, &why)) return "kvm (" + why + ")";
  std::string process_why;
  if (!ProbeSandbox(SandboxKind::kProcess, &process_why)) {
    return "none: " + why + "; " + process_why;
  }
  return "process (kvm cannot run here: " + why + ")";
}

}  // namespace instar::vmm
