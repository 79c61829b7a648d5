// The emulated backend when this build has no Unicorn (INSTAR_EMULATED=OFF
// or libunicorn-dev missing).
#include "vmm/sandbox/backends.h"

namespace instar::vmm {

std::unique_ptr<Sandbox> MakeEmulatedSandbox(std::string* why) {
  *why = "this instar was built without the emulated backend (Unicorn)";
  return nullptr;
}

}  // namespace instar::vmm
