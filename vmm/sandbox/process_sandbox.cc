#include "vmm/sandbox/process_sandbox.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/fd.h"
#include "vmm/sandbox/call_handler.h"
#include "vmm/sandbox/host_confinement.h"

namespace instar::vmm {

namespace {

using Clock = std::chrono::steady_clock;

static_assert(abi::kProcessWindowBytes >= abi::kMaxResult &&
                  abi::kProcessWindowBytes >= abi::kMaxTransfer,
              "the data window holds the largest payload either way");

using host::Fd;
using host::MakePipe;

enum class Io { kOk, kEof, kTimeout, kError };

int RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return 0;
  return left.count() > 60000 ? 60000 : static_cast<int>(left.count());
}

Io WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const int ms = RemainingMs(deadline);
    if (ms == 0) return Io::kTimeout;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Io::kError;
    }
    if (n > 0) return Io::kOk;
  }
}

Io ReadFull(int fd, void* buffer, size_t length, Clock::time_point deadline) {
  auto* p = static_cast<uint8_t*>(buffer);
  while (length > 0) {
    const ssize_t n = ::read(fd, p, length);
    if (n > 0) {
      p += n;
      length -= static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return Io::kEof;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return Io::kError;
    if (const Io w = WaitFor(fd, POLLIN, deadline); w != Io::kOk) return w;
  }
  return Io::kOk;
}

Io WriteFull(int fd, const void* buffer, size_t length, Clock::time_point deadline) {
  auto* p = static_cast<const uint8_t*>(buffer);
  while (length > 0) {
    const ssize_t n = ::write(fd, p, length);
    if (n > 0) {
      p += n;
      length -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EPIPE) return Io::kEof;
    if (n < 0 && errno != EAGAIN) return Io::kError;
    if (const Io w = WaitFor(fd, POLLOUT, deadline); w != Io::kOk) return w;
  }
  return Io::kOk;
}

bool SetNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// Ignores SIGPIPE while it lives, so a helper that dies mid-reply turns the
// host's write into EPIPE instead of killing `instar`.
class IgnoreSigpipe {
 public:
  IgnoreSigpipe() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGPIPE, &ignore, &saved_);
  }
  ~IgnoreSigpipe() { ::sigaction(SIGPIPE, &saved_, nullptr); }

 private:
  struct sigaction saved_ {};
};

void CloseFrom(unsigned first, unsigned last) {
  if (first > last) return;
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, first, last, 0) == 0) return;
#endif
  const unsigned limit = last < 65536 ? last : 65535;
  for (unsigned fd = first; fd <= limit; ++fd) ::close(static_cast<int>(fd));
}

void SetLimit(int resource, rlim_t value) {
  struct rlimit limit {
    value, value
  };
  ::setrlimit(resource, &limit);
}

// Runs in the vforked child: only system calls on the arguments and locals,
// and it never returns.
[[noreturn]] void ExecHelper(const char* path, int requests_in, int replies_out, int shared_fd,
                             int exec_error, const SandboxLimits& limits) {
  // Move the four fds we keep above 2 first, so the dup2()s below cannot
  // close one of them.
  const int in = ::fcntl(requests_in, F_DUPFD_CLOEXEC, 3);
  const int out = ::fcntl(replies_out, F_DUPFD_CLOEXEC, 3);
  const int shared = ::fcntl(shared_fd, F_DUPFD_CLOEXEC, 3);
  const int err = ::fcntl(exec_error, F_DUPFD_CLOEXEC, 3);
  if (in < 0 || out < 0 || shared < 0 || err < 0 || ::dup2(in, 0) != 0 || ::dup2(out, 1) != 1 ||
      ::dup2(shared, 2) != 2) {
    ::_exit(127);
  }
  CloseFrom(3, static_cast<unsigned>(err) - 1);
  CloseFrom(static_cast<unsigned>(err) + 1, ~0u);

  // Signals: default dispositions and nothing blocked, whatever `instar` had.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) (void)::signal(sig, SIG_DFL);
  }
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);

  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(limits.timeout).count();
  SetLimit(RLIMIT_AS, static_cast<rlim_t>(limits.guest_memory_bytes));
  SetLimit(RLIMIT_CPU, static_cast<rlim_t>(seconds + 2));
  SetLimit(RLIMIT_FSIZE, 0);
  SetLimit(RLIMIT_NOFILE, 2);
  SetLimit(RLIMIT_CORE, 0);

  char* const argv[] = {const_cast<char*>(kSandboxHelperName), nullptr};
  char* const envp[] = {nullptr};
  ::execve(path, argv, envp);
  const int e = errno;
  [[maybe_unused]] const ssize_t n = ::write(err, &e, sizeof(e));
  ::_exit(127);
}

std::string SignalText(int sig) {
  const char* name = ::sigabbrev_np(sig);
  return "signal " + std::to_string(sig) +
         (name != nullptr ? std::string(" (SIG") + name + ")" : "");
}

class ProcessSandbox final : public Sandbox {
 public:
  explicit ProcessSandbox(std::string helper) : helper_(std::move(helper)) {}

  SandboxKind kind() const override { return SandboxKind::kProcess; }

  SandboxOutcome Run(const abi::OperationConfig& config, DeviceTable& devices,
                     const SandboxLimits& limits) override;

 private:
  std::string helper_;
};

// The helper and the host thread that serves it take turns: each request
// waits for its reply. On two CPUs that buys no parallelism and costs a
// wake-up of the other CPU per call, and on a virtual machine waking a
// halted vCPU is an exit to its hypervisor: a process raw > qcow2 convert
// of 1 GiB (1536 calls) took 315 ms that way and 186 ms with the two on
// one CPU (docs/instar.md). So the serving thread moves to the CPU it runs
// on, when it may run on others, and the helper, forked from it, inherits
// that; the write-behind thread (started earlier) keeps every CPU. The
// thread's CPUs come back at the end of the run, unless the host was
// confined meanwhile: its filter allows no sched_setaffinity, and a
// confined instar ends after this run.
class SharedCpu {
 public:
  SharedCpu() {
    CPU_ZERO(&saved_);
    if (::sched_getaffinity(0, sizeof(saved_), &saved_) != 0 || CPU_COUNT(&saved_) < 2) return;
    const int cpu = ::sched_getcpu();
    if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &saved_)) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    pinned_ = ::sched_setaffinity(0, sizeof(one), &one) == 0;
  }
  ~SharedCpu() {
    if (pinned_ && !confined_) (void)::sched_setaffinity(0, sizeof(saved_), &saved_);
  }
  SharedCpu(const SharedCpu&) = delete;
  SharedCpu& operator=(const SharedCpu&) = delete;

  void HostConfined() { confined_ = true; }

 private:
  cpu_set_t saved_;
  bool pinned_ = false;
  bool confined_ = false;
};

SandboxOutcome Failure(ExitCode exit, std::string message) {
  SandboxOutcome outcome;
  outcome.exit = exit;
  outcome.message = std::move(message);
  return outcome;
}

SandboxOutcome ProcessSandbox::Run(const abi::OperationConfig& config, DeviceTable& devices,
                                   const SandboxLimits& limits) {
  IgnoreSigpipe ignore_sigpipe;
  Fd to_child_read, to_child, from_child, from_child_write, exec_error_read, exec_error_write;
  if (!MakePipe(&to_child_read, &to_child) || !MakePipe(&from_child, &from_child_write) ||
      !MakePipe(&exec_error_read, &exec_error_write)) {
    return Failure(kExitSandboxUnavailable,
                   std::string("cannot create the sandbox pipes: ") + std::strerror(errno));
  }
  // The shared memory (abi.h, "process"): the data window and the helper's
  // arena, which the helper maps on its fd 2, so payloads move between the
  // files and the helper's buffers without crossing the pipes.
  Fd shared_fd(::memfd_create("instar-shared-memory", MFD_CLOEXEC));
  if (!shared_fd.valid() ||
      ::ftruncate(shared_fd.get(), static_cast<off_t>(abi::kProcessSharedBytes)) != 0) {
    return Failure(
        kExitSandboxUnavailable,
        std::string("cannot create the sandbox's shared memory: ") + std::strerror(errno));
  }
  void* mapped = ::mmap(nullptr, abi::kProcessSharedBytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                        shared_fd.get(), 0);
  if (mapped == MAP_FAILED) {
    return Failure(kExitSandboxUnavailable,
                   std::string("cannot map the sandbox's shared memory: ") + std::strerror(errno));
  }
  struct Unmap {
    void* address;
    ~Unmap() { ::munmap(address, abi::kProcessSharedBytes); }
  } unmap{mapped};
  auto* const shared = static_cast<uint8_t*>(mapped);
  LentWritesReleased lent_released(devices);

  // vfork: the child borrows this process's memory until it execs, so
  // starting the helper costs no copy of instar's page tables. What the child
  // does before execve (ExecHelper) is system calls on its own arguments;
  // the rlimits, signal dispositions and death signal it sets are per
  // process, so they stay its own. This is not the child runner that runs
  // programs for the harness and the tests (harness/run/child.h): the helper
  // is no program whose output is collected but a peer on two pipes, under
  // limits that posix_spawn cannot set between fork and exec.
  SharedCpu shared_cpu;
  const pid_t pid = ::vfork();
  if (pid < 0) {
    return Failure(kExitSandboxUnavailable,
                   std::string("cannot start the sandbox helper: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ExecHelper(helper_.c_str(), to_child_read.get(), from_child_write.get(), shared_fd.get(),
               exec_error_write.get(), limits);
  }
  to_child_read.Reset();
  from_child_write.Reset();
  exec_error_write.Reset();
  shared_fd.Reset();

  bool killed_by_us = false;
  auto reap = [&](bool kill_first) {
    if (kill_first) {
      killed_by_us = true;
      ::kill(pid, SIGKILL);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
  };

  // EOF on the error pipe means execve() succeeded (the pipe is close-on-exec).
  int exec_errno = 0;
  ssize_t got;
  do {
    got = ::read(exec_error_read.get(), &exec_errno, sizeof(exec_errno));
  } while (got < 0 && errno == EINTR);
  if (got > 0) {
    reap(false);
    return Failure(kExitSandboxUnavailable,
                   "cannot run the sandbox helper '" + helper_ + "': " + std::strerror(exec_errno));
  }
  // The helper runs: from here on instar only serves it.
  if (limits.confine_host) shared_cpu.HostConfined();
  if (std::string why;
      limits.confine_host && !ConfineHost(SandboxKind::kProcess, pid, devices.output_fds(), &why,
                                          !devices.output_temp_path().empty())) {
    reap(true);
    return Failure(kExitSandboxUnavailable, why);
  }

  const Clock::time_point deadline = Clock::now() + limits.timeout;
  CallHandler handler(devices, limits.progress);
  SandboxOutcome outcome;
  std::string protocol_error;
  bool timed_out = false;

  auto io_failed = [&](Io io, const char* what) {
    if (io == Io::kTimeout) {
      timed_out = true;
    } else if (io == Io::kError) {
      protocol_error = std::string("the sandbox pipe failed while ") + what;
    }
    // kEof: the helper is gone; its wait status tells why.
  };

  if (!SetNonBlocking(to_child.get()) || !SetNonBlocking(from_child.get())) {
    reap(true);
    return Failure(kExitSandboxUnavailable, "cannot set up the sandbox pipes");
  }

  std::vector<uint8_t> payload;
  if (const Io sent = WriteFull(to_child.get(), &config, sizeof(config), deadline);
      sent != Io::kOk) {
    io_failed(sent, "sending the operation");
  } else {
    for (;;) {
      abi::CallRequest request;
      if (const Io io = ReadFull(from_child.get(), &request, sizeof(request), deadline);
          io != Io::kOk) {
        io_failed(io, "reading a request");
        break;
      }
      const abi::CallError check = handler.Check(request);
      const uint64_t length = CallHandler::PayloadLength(request);
      abi::CallReply reply{};
      if (check != abi::CallError::kOk) {
        reply = handler.Refuse(check);
      } else if (length > 0 && (request.buffer > abi::kProcessSharedBytes ||
                                length > abi::kProcessSharedBytes - request.buffer)) {
        reply = handler.Refuse(abi::CallError::kBadBuffer);
      } else if (CallHandler::PayloadIsOutput(request) ||
                 request.call == static_cast<uint32_t>(abi::Call::kWrite)) {
        // Read data goes straight into the helper's buffer, write data
        // straight from it to the file (what the guest writes is its own
        // to choose).
        reply = handler.Handle(request, shared + request.buffer);
      } else {
        // What the host checks before it uses it (a name to open, a result
        // to decode) is copied out of the shared memory first.
        payload.assign(shared + request.buffer, shared + request.buffer + length);
        reply = handler.Handle(request, payload.data());
      }
      if (handler.exited() || handler.aborted()) break;
      if (const Io io = WriteFull(to_child.get(), &reply, sizeof(reply), deadline); io != Io::kOk) {
        io_failed(io, "sending a reply");
        break;
      }
    }
  }

  // The helper exits right after kExit, and its end of the pipe closes as it
  // does: wait for that EOF (anything it still writes is drained and
  // ignored) until the deadline, then reap it; a helper that lingers is
  // killed.
  int status = 0;
  bool reaped = false;
  if (protocol_error.empty() && !timed_out) {
    to_child.Reset();
    for (;;) {
      uint8_t drain[4096];
      const ssize_t n = ::read(from_child.get(), drain, sizeof(drain));
      if (n == 0) {
        status = reap(false);
        reaped = true;
        break;
      }
      if (n > 0 || errno == EINTR) continue;
      if (errno != EAGAIN) break;
      const Io w = WaitFor(from_child.get(), POLLIN, deadline);
      if (w == Io::kTimeout) {
        timed_out = true;
        break;
      }
      if (w != Io::kOk) break;
    }
  }
  if (!reaped) status = reap(true);

  outcome.log = handler.log();
  const double seconds = std::chrono::duration<double>(limits.timeout).count();
  if (timed_out) {
    char text[64];
    (void)std::snprintf(text, sizeof(text), "%g", seconds);
    return Failure(kExitTimeout, std::string("the sandbox timed out after ") + text + " seconds");
  }
  if (!protocol_error.empty()) {
    return Failure(kExitBadResult, "the sandbox helper broke the call protocol: " + protocol_error);
  }
  if (handler.aborted()) {
    return Failure(kExitGuestCrash, "the sandbox guest aborted: " + handler.abort_message());
  }
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (sig == SIGKILL && !killed_by_us) {
      return Failure(kExitBadSyscall,
                     "the sandbox helper was killed by seccomp (a forbidden system call)");
    }
    if (sig == SIGXCPU) {
      return Failure(kExitTimeout, "the sandbox helper exceeded its CPU time limit");
    }
    return Failure(kExitGuestCrash, "the sandbox helper crashed (" + SignalText(sig) + ")");
  }
  if (!handler.exited()) {
    return Failure(kExitBadResult, "the sandbox helper exited (status " +
                                       std::to_string(WEXITSTATUS(status)) +
                                       ") without finishing the call protocol");
  }
  if (!handler.emitted() || handler.exit_status() != 0) {
    return Failure(kExitBadResult, "the sandbox helper finished (status " +
                                       std::to_string(handler.exit_status()) +
                                       ") without a result");
  }
  outcome.exit = kExitOk;
  outcome.result = handler.result();
  return outcome;
}

}  // namespace

std::string FindSandboxHelper(std::string* why) {
  std::string path;
  if (const char* env = std::getenv("INSTAR_HELPER"); env != nullptr && env[0] != '\0') {
    path = env;
  } else {
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) {
      *why = "cannot find the sandbox helper: /proc/self/exe: " + ec.message();
      return "";
    }
    path = (self.parent_path() / kSandboxHelperName).string();
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    *why = "cannot find the sandbox helper '" + path + "': " + std::strerror(errno);
    return "";
  }
  if (!S_ISREG(st.st_mode) || ::access(path.c_str(), X_OK) != 0) {
    *why = "the sandbox helper '" + path + "' is not an executable file";
    return "";
  }
  return path;
}

std::unique_ptr<Sandbox> MakeProcessSandbox(const std::string& helper_path) {
  return std::make_unique<ProcessSandbox>(helper_path);
}

}  // namespace instar::vmm
