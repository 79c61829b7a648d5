// The kvm backend: our own minimal VMM, after kvmtool and Firecracker.
//
// One VM, one memory slot (GuestMemory, at guest-physical 0), one vCPU that
// starts directly in 64-bit long mode at CPL 3 (BootState: page tables with
// the user bit, GDT with DPL 3 code and data, CR0/CR3/CR4/EFER), and one
// KVM_RUN loop that switches on the exit reason:
//
//   KVM_EXIT_MMIO on the hypercall page  a 4-byte store: ServeHypercall(),
//                                   stop after kExit/kAbort; any other
//                                   access: kExitBadResult
//   KVM_EXIT_MMIO elsewhere         kExitGuestCrash (cannot happen: the page
//                                   tables map nothing else without RAM)
//   KVM_EXIT_IO, KVM_EXIT_HLT       kExitBadResult (privileged: they fault at
//                                   CPL 3, so the guest was not unprivileged)
//   KVM_EXIT_SHUTDOWN               kExitGuestCrash (triple fault: the guest
//                                   has no IDT, so every exception ends here)
//   KVM_EXIT_INTERNAL_ERROR         kExitGuestCrash
//   KVM_EXIT_FAIL_ENTRY             kExitSandboxUnavailable
//   KVM_EXIT_INTR / EINTR           the watchdog, if it fired: kExitTimeout
//   anything else                   kExitGuestCrash
//
// The request numbers come from kvm_ioctls.h, not <linux/kvm.h>'s macros
// (a C++ trap there gives two of them the wrong size).
//
// The watchdog is a one-shot timer that, at the deadline, signals the vCPU
// thread; the handler sets kvm_run.immediate_exit, so KVM_RUN returns EINTR
// whether the guest is running or the host is between two runs.
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
