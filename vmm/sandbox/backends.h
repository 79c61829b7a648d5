// Constructors of the backends that live in their own libraries, called by
// MakeSandbox(). Each returns nullptr and sets *why when it cannot run here.
#ifndef INSTAR_VMM_SANDBOX_BACKENDS_H_
#define INSTAR_VMM_SANDBOX_BACKENDS_H_

#include <memory>
#include <string>

#include "vmm/sandbox/sandbox.h"

namespace instar::vmm {

std::unique_ptr<Sandbox> MakeKvmSandbox(std::string* why);
std::unique_ptr<Sandbox> MakeEmulatedSandbox(std::string* why);
// Whether /dev/kvm can be opened and speaks the API version we need.
bool KvmUsable();

}  // namespace instar::vmm

#endif  // INSTAR_VMM_SANDBOX_BACKENDS_H_
