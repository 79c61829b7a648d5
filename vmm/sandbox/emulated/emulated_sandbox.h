// The emulated backend: the flat guest image the kvm backend loads, run on
// an emulated x86-64 CPU (Unicorn 2) with the same memory map, page tables,
// GDT, control registers and hypercall handler (guest_memory.h).
//
// Differences from KVM that a guest can see: none by design. Differences in
// how a broken guest ends: an exception stops the emulator at once (there is
// no IDT under KVM either, so there it becomes a triple fault), and both are
// reported as a guest crash.
#ifndef INSTAR_VMM_SANDBOX_EMULATED_EMULATED_SANDBOX_H_
#define INSTAR_VMM_SANDBOX_EMULATED_EMULATED_SANDBOX_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vmm/sandbox/sandbox.h"

namespace instar::vmm {

// An emulated backend running `image` (a flat image, see kvm_layout.h), or
// nullptr with *why set when Unicorn cannot be loaded. Unicorn is a shared
// library opened on first use, so `instar` does not pay for it on the other
// backends.
std::unique_ptr<Sandbox> MakeEmulatedSandboxForImage(std::vector<uint8_t> image, std::string* why);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_SANDBOX_EMULATED_EMULATED_SANDBOX_H_
