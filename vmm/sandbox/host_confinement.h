// Host confinement: the `instar` process itself under a seccomp-bpf
// allowlist once its sandbox has started (in the spirit of Firecracker's
// jailer and seccompiler).
//
// Each backend calls ConfineHost() at the point where everything that
// starts a guest is done (the helper exec'd, the VM and vCPU made, the
// Unicorn engine mapped) and only serving calls, decoding the result and
// rendering it are left. From then on the process may read the files it has,
// open further files read-only (the guest's kOpen, through
// DeviceTable::OpenByName), write to the descriptors it holds (stdout,
// stderr, the helper's pipe), manage its memory without making it
// executable, and the few calls its backend's loop needs (KVM_RUN, the
// watchdog timer, the helper's kill/wait4, Unicorn's time-out thread).
// A producing command's host may also pwrite, ftruncate, fallocate and
// fdatasync its outputs' descriptors (and no other), and rename or unlink
// the temporary files it created (DeviceTable::OpenOutput, and
// OpenSiblingOutput for a format of several files).
// Nothing else: no exec, no socket, no fork, no open for writing. A
// forbidden call raises SIGSYS, whose handler prints one line and ends the
// process with kExitHostConfinement. PR_SET_NO_NEW_PRIVS is set first.
//
// The program is built here as classic BPF (BuildHostFilter), with no
// library: the arch check, then the syscall number, then argument checks
// where the call's danger is in an argument (openat's flags, mmap's and
// mprotect's PROT_EXEC, ioctl's request, fcntl's command, clone's flags).
//
// In a build with AddressSanitizer the host is not confined
// (HostConfinementAvailable() is false): the sanitizer runtimes make calls
// of their own (LSan's checker thread at exit, ptrace, /proc reads) that a
// production allowlist must not grant.
#ifndef INSTAR_VMM_SANDBOX_HOST_CONFINEMENT_H_
#define INSTAR_VMM_SANDBOX_HOST_CONFINEMENT_H_

#include <string>
#include <vector>

#include <linux/filter.h>
#include <sys/types.h>

#include "vmm/sandbox/sandbox.h"

namespace instar::vmm {

// The filter for a host running the `kind` backend; `child` is the process
// backend's helper, the one process it may kill and reap; `output_fds` the
// descriptors it may write through (none: a reading command);
// `output_renamed`: those outputs are temporary files, which the host
// renames or unlinks at the end (not resize's and amend's image, written
// in place).
std::vector<sock_filter> BuildHostFilter(SandboxKind kind, pid_t child,
                                         const std::vector<int>& output_fds = {},
                                         bool output_renamed = true);

// Whether this build confines the host at all (not under sanitizers).
bool HostConfinementAvailable();

// Installs the SIGSYS handler, PR_SET_NO_NEW_PRIVS and
// BuildHostFilter(kind, child, output_fds, output_renamed) on every thread of the process. Once
// per process: a second call does nothing and succeeds. On failure returns false with *error set
// (the process stays unconfined). In a test-hook build, $INSTAR_TEST_FORBIDDEN_CALL (socket,
// execve, open-write, fork) then makes that call, to prove it kills.
bool ConfineHost(SandboxKind kind, pid_t child, const std::vector<int>& output_fds,
                 std::string* error, bool output_renamed = true);

// Whether ConfineHost() has confined this process.
bool HostConfined();

// The x86-64 name of system call `number` for the SIGSYS line ("unknown"
// for one the table lacks).
const char* SyscallName(long number);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_SANDBOX_HOST_CONFINEMENT_H_
