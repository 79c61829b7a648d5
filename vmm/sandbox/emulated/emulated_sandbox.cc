// Placeholder until the emulated backend lands.
#include "vmm/sandbox/backends.h"

namespace instar::vmm {

std::unique_ptr<Sandbox> MakeEmulatedSandbox(std::string* why) {
  *why = "the emulated backend is not built yet";
  return nullptr;
}

}  // namespace instar::vmm
