#include "vmm/sandbox/host_confinement.h"

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/fs.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/sandbox/device_table.h"
#include "vmm/sandbox/exit_codes.h"
#include "vmm/sandbox/kvm/kvm_ioctls.h"

#if defined(__SANITIZE_ADDRESS__)
#define INSTAR_HOST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define INSTAR_HOST_UNDER_ASAN 1
#endif
#endif

namespace instar::vmm {

namespace {

constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t kTrap = SECCOMP_RET_TRAP;
// For a call whose arguments live in memory the filter cannot read
// (clone3's and openat2's structs): "not implemented", so the C library
// falls back to the call whose arguments it can check.
constexpr uint32_t kNotImplemented = SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA);

constexpr uint32_t ArgLow(int index) {
  // The low 32 bits of a 64-bit argument (x86-64 is little-endian); every
  // argument checked here is an int or a flag word the kernel reads as one.
  return static_cast<uint32_t>(offsetof(seccomp_data, args) + 8 * index);
}

// One allowed system call and what its argument must satisfy.
struct Rule {
  enum class Check { kNone, kMaskClear, kMaskSet, kOneOf };
  long number;
  Check check = Check::kNone;
  int arg = 0;
  uint32_t mask = 0;               // kMaskClear, kMaskSet
  std::vector<uint32_t> values{};  // kOneOf
  uint32_t action = kAllow;        // kAllow, or kNotImplemented with kNone
};

// A classic BPF program over seccomp_data, built rule by rule. Each rule is
// a block that starts with a compare of the syscall number (A holds it) and
// ends in a return, so a block that does not match jumps past itself with A
// untouched.
class FilterBuilder {
 public:
  FilterBuilder() {
    Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
    Jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
    Stmt(BPF_RET | BPF_K, kTrap);
    Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
    // The x32 ABI's numbers (bit 30) name the same calls by other numbers.
    Jump(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);
    Stmt(BPF_RET | BPF_K, kTrap);
  }

  void Add(const Rule& rule) {
    std::vector<sock_filter> body;
    auto stmt = [&](uint16_t code, uint32_t k) { body.push_back(BPF_STMT(code, k)); };
    auto jump = [&](uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
      body.push_back(BPF_JUMP(code, k, jt, jf));
    };
    switch (rule.check) {
      case Rule::Check::kNone:
        stmt(BPF_RET | BPF_K, rule.action);
        break;
      case Rule::Check::kMaskClear:
        stmt(BPF_LD | BPF_W | BPF_ABS, ArgLow(rule.arg));
        stmt(BPF_ALU | BPF_AND | BPF_K, rule.mask);
        jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1);
        stmt(BPF_RET | BPF_K, kAllow);
        stmt(BPF_RET | BPF_K, kTrap);
        break;
      case Rule::Check::kMaskSet:
        stmt(BPF_LD | BPF_W | BPF_ABS, ArgLow(rule.arg));
        stmt(BPF_ALU | BPF_AND | BPF_K, rule.mask);
        jump(BPF_JMP | BPF_JEQ | BPF_K, rule.mask, 0, 1);
        stmt(BPF_RET | BPF_K, kAllow);
        stmt(BPF_RET | BPF_K, kTrap);
        break;
      case Rule::Check::kOneOf: {
        stmt(BPF_LD | BPF_W | BPF_ABS, ArgLow(rule.arg));
        const size_t n = rule.values.size();
        for (size_t i = 0; i < n; ++i) {
          // Past the remaining compares and the trap, onto the allow.
          jump(BPF_JMP | BPF_JEQ | BPF_K, rule.values[i], static_cast<uint8_t>(n - i), 0);
        }
        stmt(BPF_RET | BPF_K, kTrap);
        stmt(BPF_RET | BPF_K, kAllow);
        break;
      }
    }
    Jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(rule.number), 0,
         static_cast<uint8_t>(body.size()));
    program_.insert(program_.end(), body.begin(), body.end());
  }

  std::vector<sock_filter> Finish() {
    Stmt(BPF_RET | BPF_K, kTrap);
    return std::move(program_);
  }

 private:
  void Stmt(uint16_t code, uint32_t k) { program_.push_back(BPF_STMT(code, k)); }
  void Jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
    program_.push_back(BPF_JUMP(code, k, jt, jf));
  }

  std::vector<sock_filter> program_;
};

Rule Allow(long number) { return Rule{number}; }

Rule AllowIfClear(long number, int arg, uint32_t mask) {
  return Rule{number, Rule::Check::kMaskClear, arg, mask};
}

Rule AllowIfOneOf(long number, int arg, std::initializer_list<uint32_t> values) {
  return Rule{number, Rule::Check::kOneOf, arg, 0, std::vector<uint32_t>(values)};
}

Rule NotImplemented(long number) {
  Rule rule{number};
  rule.action = kNotImplemented;
  return rule;
}

std::vector<Rule> HostRules(SandboxKind kind, pid_t child, const std::vector<int>& output_fds,
                            bool output_renamed) {
  std::vector<Rule> rules = {
      // The descriptors instar holds: the devices, stdout and stderr, the
      // helper's pipes.
      Allow(SYS_read),
      Allow(SYS_pread64),
      Allow(SYS_write),
      Allow(SYS_writev),
      Allow(SYS_lseek),
      Allow(SYS_close),
      Allow(SYS_fstat),
      Allow(SYS_newfstatat),
      Allow(SYS_statx),
      Allow(SYS_poll),
      Allow(SYS_ppoll),
      // F_GETFL/F_SETFL: a device opened non-blocking is made blocking once
      // its type is known (DeviceTable); F_GETFD/F_SETFD for close-on-exec.
      AllowIfOneOf(SYS_fcntl, 1, {F_GETFL, F_SETFL, F_GETFD, F_SETFD}),
      // The guest's kOpen of a backing file or extent: read-only, never
      // created or truncated. openat2's flags are in a struct the filter
      // cannot read, so it answers ENOSYS and the audited open falls back
      // to openat.
      AllowIfClear(SYS_openat, 2, O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND),
      NotImplemented(SYS_openat2),
      // The audited open resolves the path it opened (realpath,
      // /proc/self/fd).
      Allow(SYS_readlink),
      Allow(SYS_readlinkat),
      Allow(SYS_getcwd),
      // Memory: the allocator, never executable.
      Allow(SYS_brk),
      AllowIfClear(SYS_mmap, 2, PROT_EXEC),
      AllowIfClear(SYS_mprotect, 2, PROT_EXEC),
      Allow(SYS_munmap),
      Allow(SYS_mremap),
      Allow(SYS_madvise),
      Allow(SYS_futex),
      // Signals: handlers and masks (the KVM kick, SIGPIPE around the
      // helper's pipe), and abort() on an internal error.
      Allow(SYS_rt_sigaction),
      Allow(SYS_rt_sigprocmask),
      Allow(SYS_rt_sigreturn),
      Allow(SYS_getpid),
      Allow(SYS_gettid),
      AllowIfOneOf(SYS_tgkill, 2, {SIGABRT}),
      Allow(SYS_clock_gettime),
      Allow(SYS_clock_nanosleep),
      Allow(SYS_nanosleep),
      Allow(SYS_sched_yield),
      Allow(SYS_restart_syscall),
      Allow(SYS_exit),
      Allow(SYS_exit_group),
  };
  // A producing command's outputs (DeviceTable::OpenOutput and
  // OpenSiblingOutput, or OpenInPlace for resize and amend): written,
  // truncated, fallocated and flushed through their descriptors only;
  // create's are then renamed over their targets, or unlinked on failure.
  // rename and unlink take paths the filter cannot read; the host makes
  // them with the names it chose itself, and only for temporary files.
  if (!output_fds.empty()) {
    std::vector<uint32_t> fds;
    for (int fd : output_fds) fds.push_back(static_cast<uint32_t>(fd));
    for (long call : {SYS_pwrite64, SYS_ftruncate, SYS_fallocate, SYS_fdatasync,
                      // posix_fallocate(3) on a file system without
                      // fallocate(2) writes the range itself, after asking
                      // its block size.
                      SYS_fstatfs}) {
      rules.push_back(Rule{call, Rule::Check::kOneOf, 0, 0, fds});
    }
    if (output_renamed) {
      rules.push_back(Allow(SYS_rename));
      rules.push_back(Allow(SYS_unlink));
    }
  }
  // ioctl: stdio asks whether stdout is a terminal (TCGETS) before it
  // buffers; info reads each file's extent size hint (FS_IOC_FSGETXATTR).
  switch (kind) {
    case SandboxKind::kKvm:
      // The vCPU loop and the rip of a crash report; the watchdog timer is
      // disarmed and deleted when the run ends.
      rules.push_back(AllowIfOneOf(
          SYS_ioctl, 1,
          {static_cast<uint32_t>(kvm_ioctl::kRun), static_cast<uint32_t>(kvm_ioctl::kGetRegs),
           TCGETS, static_cast<uint32_t>(FS_IOC_FSGETXATTR)}));
      // The kick signal still pending at the end is taken (with no wait)
      // before it is unblocked.
      rules.push_back(Allow(SYS_rt_sigtimedwait));
      rules.push_back(Allow(SYS_timer_settime));
      rules.push_back(Allow(SYS_timer_delete));
      break;
    case SandboxKind::kProcess:
      rules.push_back(
          AllowIfOneOf(SYS_ioctl, 1, {TCGETS, static_cast<uint32_t>(FS_IOC_FSGETXATTR)}));
      // Only the helper may be killed and reaped.
      rules.push_back(AllowIfOneOf(SYS_kill, 0, {static_cast<uint32_t>(child)}));
      rules.push_back(AllowIfOneOf(SYS_wait4, 0, {static_cast<uint32_t>(child)}));
      break;
    case SandboxKind::kEmulated:
      rules.push_back(
          AllowIfOneOf(SYS_ioctl, 1, {TCGETS, static_cast<uint32_t>(FS_IOC_FSGETXATTR)}));
      // uc_emu_start's time-out runs on a thread of its own: threads only,
      // never a new process (clone3's flags are in memory: ENOSYS, and the
      // C library uses clone).
      rules.push_back(Rule{SYS_clone, Rule::Check::kMaskSet, 0, CLONE_THREAD});
      rules.push_back(NotImplemented(SYS_clone3));
      rules.push_back(Allow(SYS_set_robust_list));
      rules.push_back(Allow(SYS_rseq));
      break;
  }
  return rules;
}

bool confined = false;

// Writes `text` to stderr with write(2) only.
void WriteRaw(const char* text) {
  size_t length = std::strlen(text);
  while (length > 0) {
    const ssize_t n = ::write(STDERR_FILENO, text, length);
    if (n <= 0) return;
    text += n;
    length -= static_cast<size_t>(n);
  }
}

void OnForbiddenCall(int, siginfo_t* info, void*) {
  const long number = info->si_syscall;
  char digits[24];
  char* p = digits + sizeof(digits);
  *--p = '\0';
  unsigned long value = number < 0 ? 0 : static_cast<unsigned long>(number);
  do {
    *--p = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  WriteRaw("instar: the host process made a forbidden system call ");
  WriteRaw(p);
  WriteRaw(" (");
  WriteRaw(SyscallName(number));
  WriteRaw(")\n");
  UnlinkPendingOutput();
  ::_exit(kExitHostConfinement);
}

#ifdef INSTAR_TEST_HOOKS
// The test hook: make the forbidden call `name`, which must not return.
void MakeForbiddenCall(const char* name) {
  if (std::strcmp(name, "socket") == 0) {
    (void)::socket(AF_INET, SOCK_STREAM, 0);
  } else if (std::strcmp(name, "execve") == 0) {
    char* const argv[] = {const_cast<char*>("true"), nullptr};
    char* const envp[] = {nullptr};
    (void)::execve("/bin/true", argv, envp);
  } else if (std::strcmp(name, "open-write") == 0) {
    (void)::open("/dev/null", O_WRONLY | O_CLOEXEC);
  } else if (std::strcmp(name, "fork") == 0) {
    if (::fork() == 0) ::_exit(0);
  } else {
    WriteRaw("instar: unknown INSTAR_TEST_FORBIDDEN_CALL\n");
    ::_exit(kExitError);
  }
  WriteRaw("instar: the forbidden call was allowed\n");
  ::_exit(kExitError);
}
#endif

}  // namespace

std::vector<sock_filter> BuildHostFilter(SandboxKind kind, pid_t child,
                                         const std::vector<int>& output_fds, bool output_renamed) {
  FilterBuilder builder;
  for (const Rule& rule : HostRules(kind, child, output_fds, output_renamed)) builder.Add(rule);
  return builder.Finish();
}

bool HostConfinementAvailable() {
#ifdef INSTAR_HOST_UNDER_ASAN
  return false;
#else
  return true;
#endif
}

bool HostConfined() { return confined; }

bool ConfineHost(SandboxKind kind, pid_t child, const std::vector<int>& output_fds,
                 std::string* error, bool output_renamed) {
  if (confined || !HostConfinementAvailable()) return true;
#ifdef INSTAR_TEST_HOOKS
  const char* forbidden = std::getenv("INSTAR_TEST_FORBIDDEN_CALL");
#endif
  struct sigaction action {};
  action.sa_sigaction = &OnForbiddenCall;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  sigset_t sigsys;
  sigemptyset(&sigsys);
  sigaddset(&sigsys, SIGSYS);
  if (::sigaction(SIGSYS, &action, nullptr) != 0 ||
      ::pthread_sigmask(SIG_UNBLOCK, &sigsys, nullptr) != 0) {
    *error = std::string("cannot confine the host: SIGSYS handler: ") + std::strerror(errno);
    return false;
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    *error = std::string("cannot confine the host: PR_SET_NO_NEW_PRIVS: ") + std::strerror(errno);
    return false;
  }
  std::vector<sock_filter> filter = BuildHostFilter(kind, child, output_fds, output_renamed);
  const sock_fprog program{static_cast<unsigned short>(filter.size()), filter.data()};
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &program) != 0) {
    *error = std::string("cannot confine the host: seccomp: ") + std::strerror(errno);
    return false;
  }
  confined = true;
#ifdef INSTAR_TEST_HOOKS
  if (forbidden != nullptr && forbidden[0] != '\0') MakeForbiddenCall(forbidden);
#endif
  return true;
}

}  // namespace instar::vmm
