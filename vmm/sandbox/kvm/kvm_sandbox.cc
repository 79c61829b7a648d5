// Placeholder until the KVM backend lands.
#include "vmm/sandbox/backends.h"

namespace instar::vmm {

std::unique_ptr<Sandbox> MakeKvmSandbox(std::string* why) {
  *why = "the kvm backend is not built yet";
  return nullptr;
}

bool KvmUsable() { return false; }

}  // namespace instar::vmm
