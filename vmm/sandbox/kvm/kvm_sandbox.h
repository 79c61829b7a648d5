// The kvm backend: our own minimal VMM, after kvmtool and Firecracker.
//
// One VM, one memory slot (GuestMemory, at guest-physical 0), one vCPU that
// starts directly in 64-bit long mode (BootState: identity page tables, GDT,
// CR0/CR3/CR4/EFER, flat segments), and one KVM_RUN loop that switches on
// the exit reason:
//
//   KVM_EXIT_IO on kHypercallPort   ServeHypercall(); stop after kExit/kAbort
//   any other port I/O              kExitBadResult
//   KVM_EXIT_HLT                    kExitBadResult (halted without kExit)
//   KVM_EXIT_SHUTDOWN               kExitGuestCrash (triple fault: the guest
//                                   has no IDT, so every exception ends here)
//   KVM_EXIT_MMIO                   kExitGuestCrash (unmapped address)
//   KVM_EXIT_INTERNAL_ERROR         kExitGuestCrash
//   KVM_EXIT_FAIL_ENTRY             kExitSandboxUnavailable
//   KVM_EXIT_INTR / EINTR           the watchdog, if it fired: kExitTimeout
//   anything else                   kExitGuestCrash
//
// The watchdog is a thread that, at the deadline, sets kvm_run.immediate_exit
// and signals the vCPU thread, so KVM_RUN returns EINTR whether the guest is
// running or the host is between two runs.
#ifndef INSTAR_VMM_SANDBOX_KVM_KVM_SANDBOX_H_
#define INSTAR_VMM_SANDBOX_KVM_KVM_SANDBOX_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vmm/sandbox/sandbox.h"

namespace instar::vmm {

// Opens /dev/kvm and checks the API version and the extensions the backend
// needs; false with *why set to one line a user can act on
// ("/dev/kvm: No such file or directory (is KVM enabled? ...)").
bool CheckKvm(std::string* why);

// A kvm backend running `image` (a flat image, see kvm_layout.h), or nullptr
// with *why set when KVM cannot be used here.
std::unique_ptr<Sandbox> MakeKvmSandboxForImage(std::vector<uint8_t> image, std::string* why);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_SANDBOX_KVM_KVM_SANDBOX_H_
