#include "harness/run/child.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>

// Boost.Process v2 (Boost 1.81, header-only), not v1. v1 learns of exits
// through a process-wide SIGCHLD handler, which would fight with our own
// signal handling and with the other workers' event loops; v2 is built on
// pidfds and asio and reports errors as error_codes.
//
// What we take from v2: its launcher protocol and its process handle,
// bp::basic_process, which owns the child while it runs and kills and reaps
// it if we unwind. What we do ourselves, and why:
//  - starting the child: posix_spawn, in a launcher of v2's shape. v2's
//    default_launcher fork()s, which costs this multi-threaded harness about
//    1 ms of CPU per child on the 2-core reference machine (page tables,
//    copy-on-write faults: a tenth of a qemu-img run); its vfork_launcher
//    calls asio's notify_fork in the vfork child, which shares our memory,
//    and so breaks our event loop. glibc's posix_spawn (clone with
//    CLONE_VM|CLONE_VFORK) does all we need in the child: process group,
//    signal mask and dispositions, stdio, closing every other descriptor.
//  - waiting: see Run().
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/process/v2/process.hpp>

#include "harness/core/error.h"
#include "host/fd.h"

namespace instar::harness {

namespace asio = boost::asio;
namespace bp = boost::process::v2;

namespace {

// A runaway child must not take the harness's memory with it.
constexpr size_t kMaxCapturedBytes = size_t{512} << 20;

using host::Fd;

// The read end goes to asio, the write end (the parent's copy of the child's
// stdout or stderr) is closed once the child has its own.
void MakePipe(asio::readable_pipe& read_end, Fd& write_end) {
  Fd read_fd;
  if (!host::MakePipe(&read_fd, &write_end)) {
    throw HarnessError(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  read_end.assign(read_fd.Release());
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

// A Boost.Process v2 launcher: called like bp::posix::default_launcher and
// returning a bp::basic_process, but starting the child with posix_spawn.
struct SpawnLauncher {
  const char* const* environment;
  int stdout_fd;
  int stderr_fd;

  template <typename Executor>
  bp::basic_process<Executor> operator()(Executor executor, boost::system::error_code& ec,
                                         const std::filesystem::path& executable,
                                         const std::vector<std::string>& arguments) const {
    std::vector<const char*> argv;
    argv.reserve(arguments.size() + 2);
    argv.push_back(executable.c_str());
    for (const auto& argument : arguments) argv.push_back(argument.c_str());
    argv.push_back(nullptr);
    SpawnAttributes spawn(stdout_fd, stderr_fd);
    pid_t pid = -1;
    int error =
        ::posix_spawn(&pid, executable.c_str(), spawn.actions(), spawn.attributes(),
                      const_cast<char* const*>(argv.data()), const_cast<char* const*>(environment));
    if (error != 0) {
      ec.assign(error, boost::system::system_category());
      return bp::basic_process<Executor>(executor);
    }
    return bp::basic_process<Executor>(executor, pid);
  }
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

class PipeDrain {
 public:
  PipeDrain(asio::readable_pipe& pipe, std::string& sink,
            const std::function<void(const char*, size_t)>& stream, bool& overflow, pid_t group)
      : pipe_(pipe), sink_(sink), stream_(stream), overflow_(overflow), group_(group) {}

  void Start() {
    pipe_.async_read_some(asio::buffer(buffer_), [this](boost::system::error_code ec, size_t n) {
      if (stream_) {
        if (n > 0) stream_(buffer_.data(), n);
      } else {
        sink_.append(buffer_.data(), n);
      }
      if (sink_.size() > kMaxCapturedBytes) {
        overflow_ = true;
        ::kill(-group_, SIGKILL);
        return;
      }
      if (!ec) Start();
    });
  }

 private:
  asio::readable_pipe& pipe_;
  std::string& sink_;
  const std::function<void(const char*, size_t)>& stream_;
  bool& overflow_;
  pid_t group_;
  std::array<char, 65536> buffer_;
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

struct ChildRunner::Loop {
  asio::io_context io{1};
};

ChildRunner::ChildRunner(Interrupt* interrupt)
    : interrupt_(interrupt), loop_(std::make_unique<Loop>()) {}

ChildRunner::~ChildRunner() = default;

ChildResult ChildRunner::Run(const ChildRequest& request) {
  asio::io_context& io = loop_->io;
  io.restart();
  ChildResult result;
  bool overflow = false;

  std::vector<const char*> environment;
  for (const auto& variable : request.environment) environment.push_back(variable.c_str());
  environment.push_back(nullptr);

  asio::readable_pipe out_pipe(io), err_pipe(io);
  Fd out_write, err_write;
  MakePipe(out_pipe, out_write);
  MakePipe(err_pipe, err_write);

  boost::system::error_code ec;
  SpawnLauncher launcher{environment.data(), out_write.get(), err_write.get()};
  bp::basic_process<asio::io_context::executor_type> process =
      launcher(io.get_executor(), ec, request.executable, request.arguments);
  out_write.Reset();
  err_write.Reset();
  if (ec) throw HarnessError("cannot run " + request.executable.string() + ": " + ec.message());
  const pid_t pid = process.id();
  if (interrupt_ != nullptr) interrupt_->AddGroup(pid);

  PipeDrain out_drain(out_pipe, result.out, request.stdout_sink, overflow, pid);
  const std::function<void(const char*, size_t)> no_stream;
  PipeDrain err_drain(err_pipe, result.err, no_stream, overflow, pid);
  out_drain.Start();
  err_drain.Start();

  // Our own pidfd for the exit: readiness of a pidfd under asio is not
  // always an exit (we have seen it fire early), and v2's async_wait answers
  // readiness with a blocking waitpid, which would stall this worker with
  // the pipes unread and the time-out unable to fire. We check and re-arm.
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    if (interrupt_ != nullptr) interrupt_->RemoveGroup(pid);
    ::kill(-pid, SIGKILL);  // `process` reaps it on the way out
    throw HarnessError(std::string("pidfd_open: ") + std::strerror(errno) +
                       " (Linux 5.3 or later is needed)");
  }
  asio::posix::stream_descriptor exit_watch(io, pidfd);
  asio::steady_timer deadline(io);
  int status = 0;
  bool reaped = false;
  std::function<void()> await_exit = [&] {
    exit_watch.async_wait(asio::posix::descriptor_base::wait_read, [&](boost::system::error_code) {
      if (!HasExited(pid)) {
        await_exit();
        return;
      }
      // Exited but not reaped, so the group id is still the child's: kill
      // what it left behind (it would hold our pipes open), then reap.
      ::kill(-pid, SIGKILL);
      if (interrupt_ != nullptr) interrupt_->RemoveGroup(pid);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      reaped = true;
      deadline.cancel();
    });
  };
  await_exit();
  deadline.expires_after(request.timeout);
  deadline.async_wait([&](boost::system::error_code timer_error) {
    if (timer_error || reaped || HasExited(pid)) return;
    result.timed_out = true;
    ::kill(-pid, SIGKILL);
  });

  io.run();
  // Reaped by us: the handle must not wait for or kill "its" pid any more.
  (void)process.detach();
  if (overflow) {
    throw HarnessError(request.executable.string() + " printed more than " +
                       std::to_string(kMaxCapturedBytes >> 20) + " MiB");
  }
  result.exit_code = DecodeWaitStatus(status);
  return result;
}

}  // namespace instar::harness
