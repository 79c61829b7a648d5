#include "vmm/sandbox/sandbox.h"

#include "vmm/sandbox/backends.h"
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

SandboxKind DefaultSandboxKind() { return KvmUsable() ? SandboxKind::kKvm : SandboxKind::kProcess; }

}  // namespace instar::vmm
