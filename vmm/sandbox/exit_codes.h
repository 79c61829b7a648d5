// Exit codes of `instar`: one per kind of death (as Firecracker's
// FcExitCode), so the harness can tell "rejected the image" from "crashed".
// 0 and 1 mean what they mean for qemu-img.
#ifndef INSTAR_VMM_SANDBOX_EXIT_CODES_H_
#define INSTAR_VMM_SANDBOX_EXIT_CODES_H_

namespace instar::vmm {

enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,                // any error qemu-img would also report: bad image,
                                 // bad option, missing file (one line on stderr)
  kExitGuestCrash = 70,          // the guest faulted, triple-faulted, or the helper
                                 // died of a signal
  kExitBadSyscall = 71,          // the helper was killed by seccomp
  kExitTimeout = 72,             // the watchdog ended the guest
  kExitSandboxUnavailable = 73,  // the backend cannot run here (/dev/kvm ...)
  kExitBadResult = 74,           // the guest broke the ABI (malformed result,
                                 // calls out of sequence)
  kExitHostConfinement = 75,     // instar itself made a system call its seccomp
                                 // allowlist forbids (vmm/sandbox/host_confinement.h)
};

}  // namespace instar::vmm

#endif  // INSTAR_VMM_SANDBOX_EXIT_CODES_H_
