#include "harness/run/child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "harness/core/error.h"
#include "host/fd.h"

// Starting and awaiting a child is the harness's daily work (one to four a
// case, thousands a run), so it is done with as few system calls as will do
// (docs/harness.md, "Where the harness's time goes"):
//  - starting: posix_spawn. fork() costs this multi-threaded harness about
//    1 ms of CPU per child on the 2-core reference machine (page tables,
//    copy-on-write faults: a tenth of a qemu-img run); glibc's posix_spawn
//    (clone3 with CLONE_VM|CLONE_VFORK) does all we need in the child:
//    process group, signal mask and dispositions, stdio, closing every
//    other descriptor.
//  - waiting: one poll() over the two pipes and a pidfd, its time-out the
//    step's deadline. An earlier version ran each child on an asio
//    io_context with a Boost.Process v2 handle: epoll_ctl to add, modify
//    and remove each descriptor, a timerfd armed per child, a second pidfd
//    of the handle's own and speculative reads that fail with EAGAIN: 54
//    system calls a child against about 30 now.

namespace instar::harness {

namespace {

// A runaway child must not take the harness's memory with it.
constexpr size_t kMaxCapturedBytes = size_t{512} << 20;

// What one read() of a pipe may take: a qemu-img prints far less; xz -dc
// fills the pipe (64 KiB) between two polls.
constexpr size_t kReadChunk = 65536;

using host::Fd;

Fd MakeOnePipe(Fd* write_end) {
  Fd read_end;
  if (!host::MakePipe(&read_end, write_end)) {
    throw HarnessError(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  return read_end;
}

class SpawnAttributes {
 public:
  SpawnAttributes(int stdout_fd, int stderr_fd) {
    posix_spawn_file_actions_init(&actions_);
    posix_spawnattr_init(&attributes_);
    posix_spawn_file_actions_addopen(&actions_, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions_, stdout_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions_, stderr_fd, STDERR_FILENO);
    posix_spawn_file_actions_addclosefrom_np(&actions_, STDERR_FILENO + 1);
    // Its own process group (0: the child's pid), so that a time-out or an
    // interrupt can kill everything the child started.
    posix_spawnattr_setpgroup(&attributes_, 0);
    // The workers run with SIGINT/SIGTERM blocked (see interrupt.h); a child
    // starts with nothing blocked and default actions, whatever we inherited.
    sigset_t none, defaults;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes_, &none);
    sigemptyset(&defaults);
    for (int signal_number : {SIGINT, SIGTERM, SIGQUIT, SIGPIPE, SIGHUP}) {
      sigaddset(&defaults, signal_number);
    }
    posix_spawnattr_setsigdefault(&attributes_, &defaults);
    posix_spawnattr_setflags(
        &attributes_, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  ~SpawnAttributes() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attributes_);
  }
  const posix_spawn_file_actions_t* actions() const { return &actions_; }
  const posix_spawnattr_t* attributes() const { return &attributes_; }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attributes_;
};

// True once `pid` has exited (reaped or not yet); it is not reaped here.
bool HasExited(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return true;  // ECHILD: nothing left to wait for
  }
  return info.si_pid == pid;
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

// Owns a started child until it is reaped: if we unwind before (a stdout
// sink that throws), its whole group is killed and it is reaped, so no
// child outlives the runner and no zombie is left.
class ChildGuard {
 public:
  ChildGuard(pid_t pid, Interrupt* interrupt) : pid_(pid), interrupt_(interrupt) {
    if (interrupt_ != nullptr) interrupt_->AddGroup(pid_);
  }
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  ~ChildGuard() {
    if (reaped_) return;
    ::kill(-pid_, SIGKILL);
    int status = 0;
    (void)Reap(&status);
  }

  // Call once the child has exited: its group id is still the child's
  // until it is reaped, so what it left behind is killed first (it would
  // hold our pipes open), then it is reaped.
  int Reap(int* status) {
    ::kill(-pid_, SIGKILL);
    if (interrupt_ != nullptr) interrupt_->RemoveGroup(pid_);
    while (::waitpid(pid_, status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    return DecodeWaitStatus(*status);
  }

 private:
  pid_t pid_;
  Interrupt* interrupt_;
  bool reaped_ = false;
};

}  // namespace

std::vector<std::string> MinimalEnvironment() {
  return {"LC_ALL=C", "TZ=UTC", "PATH=/usr/bin:/bin"};
}

std::filesystem::path FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "/usr/bin:/bin";
  while (true) {
    size_t colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    if (!dir.empty()) {
      std::filesystem::path candidate = std::filesystem::path(dir) / program;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return {};
}

struct ChildRunner::SpawnCache {
  SpawnCache(int out, int err) : stdout_fd(out), stderr_fd(err), spawn(out, err) {}
  int stdout_fd;
  int stderr_fd;
  SpawnAttributes spawn;
};

ChildRunner::ChildRunner(Interrupt* interrupt) : interrupt_(interrupt) {}

ChildRunner::~ChildRunner() = default;

ChildResult ChildRunner::Run(const ChildRequest& request) {
  using Clock = std::chrono::steady_clock;
  ChildResult result;

  std::vector<const char*> environment;
  environment.reserve(request.environment.size() + 1);
  for (const auto& variable : request.environment) environment.push_back(variable.c_str());
  environment.push_back(nullptr);
  std::vector<const char*> argv;
  argv.reserve(request.arguments.size() + 2);
  argv.push_back(request.executable.c_str());
  for (const auto& argument : request.arguments) argv.push_back(argument.c_str());
  argv.push_back(nullptr);

  Fd out_write, err_write;
  Fd out_read = MakeOnePipe(&out_write);
  Fd err_read = MakeOnePipe(&err_write);
  pid_t pid = -1;
  if (!spawn_ || spawn_->stdout_fd != out_write.get() || spawn_->stderr_fd != err_write.get()) {
    spawn_ = std::make_unique<SpawnCache>(out_write.get(), err_write.get());
  }
  const int error = ::posix_spawn(&pid, request.executable.c_str(), spawn_->spawn.actions(),
                                  spawn_->spawn.attributes(), const_cast<char* const*>(argv.data()),
                                  const_cast<char* const*>(environment.data()));
  if (error != 0) {
    throw HarnessError("cannot run " + request.executable.string() + ": " + std::strerror(error));
  }
  const auto deadline = Clock::now() + request.timeout;
  // The child has its copies; ours would keep the pipes from reaching EOF.
  out_write.Reset();
  err_write.Reset();
  ChildGuard child(pid, interrupt_);
  // A pidfd tells poll() of the exit; the pipes alone cannot, since
  // something the child started may hold them open after it is gone.
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) {
    throw HarnessError(std::string("pidfd_open: ") + std::strerror(errno) +
                       " (Linux 5.3 or later is needed)");
  }

  // Slots: stdout, stderr, the exit. A slot that is done gets fd -1, which
  // poll() skips.
  std::array<pollfd, 3> watched = {
      {{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}}};
  std::array<std::string*, 2> sinks = {&result.out, &result.err};
  std::array<char, kReadChunk> buffer;
  int status = 0;
  bool reaped = false;
  bool killed = false;  // or reaped: the deadline is off
  bool overflow = false;
  // Set if the pidfd ever said "exited" too early: the exit is then
  // checked every few milliseconds instead.
  bool exit_by_polling = false;
  int exit_code = 0;
  while (watched[0].fd >= 0 || watched[1].fd >= 0 || !reaped) {
    int wait_ms = -1;
    if (!killed) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      wait_ms = static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
    }
    if (exit_by_polling && !reaped) wait_ms = wait_ms < 0 ? 10 : std::min(wait_ms, 10);
    const int ready = ::poll(watched.data(), watched.size(), wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw HarnessError(std::string("poll: ") + std::strerror(errno));
    }
    if (ready == 0 && !killed && Clock::now() >= deadline) {
      result.timed_out = true;
      killed = true;
      ::kill(-pid, SIGKILL);
    }
    for (size_t i = 0; i < sinks.size(); ++i) {
      if (watched[i].fd < 0 || watched[i].revents == 0) continue;
      // Readable or hung up: one read() cannot block.
      const ssize_t n = ::read(watched[i].fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        watched[i].fd = -1;
        continue;
      }
      if (i == 0 && request.stdout_sink) {
        request.stdout_sink(buffer.data(), static_cast<size_t>(n));
      } else {
        sinks[i]->append(buffer.data(), static_cast<size_t>(n));
      }
      if (sinks[i]->size() > kMaxCapturedBytes && !overflow) {
        overflow = true;
        killed = true;
        ::kill(-pid, SIGKILL);
      }
    }
    const bool exit_seen = watched[2].fd >= 0 && watched[2].revents != 0;
    if (exit_seen || (exit_by_polling && !reaped)) {
      // A pidfd is readable once the whole thread group has exited; check
      // anyway, since a reap must never block.
      watched[2].fd = -1;
      if (HasExited(pid)) {
        exit_code = child.Reap(&status);
        reaped = true;
        killed = true;
      } else {
        exit_by_polling = true;
      }
    }
  }
  if (overflow) {
    throw HarnessError(request.executable.string() + " printed more than " +
                       std::to_string(kMaxCapturedBytes >> 20) + " MiB");
  }
  result.exit_code = exit_code;
  return result;
}

}  // namespace instar::harness
