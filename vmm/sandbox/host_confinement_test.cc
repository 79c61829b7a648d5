// The host's seccomp filter, installed for real in a forked child of the
// test: what the backends need passes, what they do not ends the child with
// kExitHostConfinement and one line.
#include "vmm/sandbox/host_confinement.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "host/fd.h"
#include "vmm/sandbox/exit_codes.h"

namespace instar::vmm {
namespace {

struct ChildEnd {
  int exit_code = -1;  // -1: killed by a signal
  std::string err;
};

// Forks; the child confines itself for `kind`, runs `body` and exits with
// what it returns. Its stderr is captured.
ChildEnd RunConfined(SandboxKind kind, const std::function<int()>& body,
                     const std::vector<int>& output_fds = {}) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return {};
  host::Fd read_end(pipe_fds[0]);
  host::Fd write_end(pipe_fds[1]);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(write_end.get(), STDERR_FILENO);
    std::string error;
    if (!ConfineHost(kind, ::getppid(), output_fds, &error)) ::_exit(100);
    ::_exit(body());
  }
  write_end.Reset();
  ChildEnd end;
  char buffer[512];
  for (ssize_t n; (n = ::read(read_end.get(), buffer, sizeof(buffer))) > 0;) {
    end.err.append(buffer, static_cast<size_t>(n));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) end.exit_code = WEXITSTATUS(status);
  return end;
}

std::string Forbidden(long number, const char* name) {
  return "instar: the host process made a forbidden system call " + std::to_string(number) + " (" +
         name + ")\n";
}

class HostConfinementTest : public ::testing::TestWithParam<SandboxKind> {
 protected:
  void SetUp() override {
    if (!HostConfinementAvailable()) {
      GTEST_SKIP() << "a sanitizer build does not confine the host (host_confinement.h)";
    }
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, HostConfinementTest,
                         ::testing::Values(SandboxKind::kKvm, SandboxKind::kProcess,
                                           SandboxKind::kEmulated),
                         [](const ::testing::TestParamInfo<SandboxKind>& param) {
                           return std::string(SandboxKindName(param.param));
                         });

TEST_P(HostConfinementTest, SeccompFilterModeAndNoNewPrivs) {
  const ChildEnd end = RunConfined(GetParam(), [] {
    std::ifstream status("/proc/self/status");
    std::stringstream text;
    text << status.rdbuf();
    const std::string s = text.str();
    return s.find("\nSeccomp:\t2\n") != std::string::npos &&
                   s.find("\nNoNewPrivs:\t1\n") != std::string::npos
               ? 0
               : 1;
  });
  EXPECT_EQ(end.exit_code, 0) << end.err;
}

TEST_P(HostConfinementTest, WhatTheHostNeedsPasses) {
  const ChildEnd end = RunConfined(GetParam(), [] {
    // A file read-only, its size, its bytes; memory; output.
    host::Fd fd(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd.valid()) return 1;
    char byte;
    if (::pread(fd.get(), &byte, 1, 0) != 1 || ::lseek(fd.get(), 0, SEEK_END) <= 0) return 2;
    const int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) return 3;
    std::string big(64 << 20, 'x');
    void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED || ::mprotect(page, 4096, PROT_READ) != 0) return 4;
    if (::write(STDERR_FILENO, "ok\n", 3) != 3) return 5;
    return big.size() == (64u << 20) ? 0 : 6;
  });
  EXPECT_EQ(end.exit_code, 0) << end.err;
  EXPECT_EQ(end.err, "ok\n");
}

// A producing command's output: its descriptor may be written, truncated,
// fallocated and flushed, and the temporary file renamed or unlinked.
TEST_P(HostConfinementTest, TheOutputDescriptorIsWritable) {
  char temp[] = "/tmp/instar-confined-output-XXXXXX";
  host::Fd output(::mkstemp(temp));
  ASSERT_TRUE(output.valid());
  const std::string renamed = std::string(temp) + ".renamed";
  const int fd = output.get();
  const ChildEnd end = RunConfined(GetParam(),
                                   [&] {
                                     if (::pwrite(fd, "abc", 3, 0) != 3) return 1;
                                     if (::ftruncate(fd, 4096) != 0) return 2;
                                     if (::posix_fallocate(fd, 0, 8192) != 0) return 3;
                                     if (::fdatasync(fd) != 0) return 4;
                                     struct statfs fs_info {};
                                     if (::fstatfs(fd, &fs_info) != 0) return 7;
                                     if (::rename(temp, renamed.c_str()) != 0) return 5;
                                     if (::unlink(renamed.c_str()) != 0) return 6;
                                     return 0;
                                   },
                                   {fd});
  EXPECT_EQ(end.exit_code, 0) << end.err;
  ::unlink(temp);
  ::unlink(renamed.c_str());
}

// Only that one: any other descriptor stays unwritable by pwrite, and a
// host without an output may neither rename nor unlink.
TEST_P(HostConfinementTest, NoOtherDescriptorIsWritable) {
  char temp[] = "/tmp/instar-confined-output-XXXXXX";
  host::Fd output(::mkstemp(temp));
  ASSERT_TRUE(output.valid());
  host::Fd other(::open(temp, O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(other.valid());
  const int fd = output.get();
  const int other_fd = other.get();
  ChildEnd end =
      RunConfined(GetParam(), [&] { return ::pwrite(other_fd, "abc", 3, 0) == 3 ? 0 : 1; }, {fd});
  EXPECT_EQ(end.exit_code, kExitHostConfinement);
  EXPECT_EQ(end.err, Forbidden(SYS_pwrite64, "pwrite64"));
  end = RunConfined(GetParam(), [&] { return ::ftruncate(other_fd, 0); }, {fd});
  EXPECT_EQ(end.exit_code, kExitHostConfinement);
  end = RunConfined(GetParam(), [&] { return ::unlink(temp); });
  EXPECT_EQ(end.exit_code, kExitHostConfinement);
  EXPECT_EQ(end.err, Forbidden(SYS_unlink, "unlink"));
  ::unlink(temp);
}

// A producing command of several files (a vmdk monolithicFlat: the
// descriptor and its extent): each output's descriptor is writable, and
// still no other.
TEST_P(HostConfinementTest, SeveralOutputsAreWritableAndNothingElse) {
  char first[] = "/tmp/instar-confined-output-XXXXXX";
  char second[] = "/tmp/instar-confined-output-XXXXXX";
  host::Fd output(::mkstemp(first));
  host::Fd sibling(::mkstemp(second));
  ASSERT_TRUE(output.valid() && sibling.valid());
  host::Fd other(::open(first, O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(other.valid());
  const int fds[] = {output.get(), sibling.get()};
  const int other_fd = other.get();
  ChildEnd end = RunConfined(GetParam(),
                             [&] {
                               for (const int fd : fds) {
                                 if (::pwrite(fd, "abc", 3, 0) != 3 || ::ftruncate(fd, 4096) != 0 ||
                                     ::posix_fallocate(fd, 0, 8192) != 0 || ::fdatasync(fd) != 0) {
                                   return 1;
                                 }
                               }
                               return 0;
                             },
                             {fds[0], fds[1]});
  EXPECT_EQ(end.exit_code, 0) << end.err;
  end = RunConfined(GetParam(), [&] { return ::pwrite(other_fd, "abc", 3, 0) == 3 ? 0 : 1; },
                    {fds[0], fds[1]});
  EXPECT_EQ(end.exit_code, kExitHostConfinement);
  EXPECT_EQ(end.err, Forbidden(SYS_pwrite64, "pwrite64"));
  ::unlink(first);
  ::unlink(second);
}

TEST_P(HostConfinementTest, NoSocket) {
  const ChildEnd end = RunConfined(GetParam(), [] { return ::socket(AF_UNIX, SOCK_STREAM, 0); });
  EXPECT_EQ(end.exit_code, kExitHostConfinement);
  EXPECT_EQ(end.err, Forbidden(SYS_socket, "socket"));
}

TEST_P(HostConfinementTest, NoExec) {
  const ChildEnd end = RunConfined(GetParam(), [] {
    char* const argv[] = {const_cast<char*>("true"), nullptr};
    return ::execv("/bin/true", argv);
  });
  EXPECT_EQ(end.exit_code, kExitHostConfinement);
  EXPECT_EQ(end.err, Forbidden(SYS_execve, "execve"));
}

TEST_P(HostConfinementTest, NoFileOpenedForWriting) {
  for (const int flags :
       {O_WRONLY, O_RDWR, O_RDONLY | O_CREAT, O_RDONLY | O_TRUNC, O_RDONLY | O_APPEND}) {
    SCOPED_TRACE(flags);
    const ChildEnd end = RunConfined(
        GetParam(), [flags] { return ::open("/instar-must-not-exist", flags | O_CLOEXEC, 0600); });
    EXPECT_EQ(end.exit_code, kExitHostConfinement);
    EXPECT_EQ(end.err, Forbidden(SYS_openat, "openat"));
  }
}

TEST_P(HostConfinementTest, NoExecutableMemory) {
  const ChildEnd mapped = RunConfined(GetParam(), [] {
    return ::mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
                   MAP_FAILED
               ? 1
               : 0;
  });
  EXPECT_EQ(mapped.exit_code, kExitHostConfinement);
  EXPECT_EQ(mapped.err, Forbidden(SYS_mmap, "mmap"));
  const ChildEnd protected_ = RunConfined(GetParam(), [] {
    void* page = ::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return ::mprotect(page, 4096, PROT_READ | PROT_EXEC);
  });
  EXPECT_EQ(protected_.exit_code, kExitHostConfinement);
  EXPECT_EQ(protected_.err, Forbidden(SYS_mprotect, "mprotect"));
}

TEST_P(HostConfinementTest, NoNewProcess) {
  const ChildEnd end = RunConfined(GetParam(), [] {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    return 1;
  });
  EXPECT_EQ(end.exit_code, kExitHostConfinement);
  EXPECT_EQ(end.err, Forbidden(SYS_clone, "clone"));
}

TEST_P(HostConfinementTest, OnlyTheBackendsIoctls) {
  const ChildEnd end = RunConfined(GetParam(), [] {
    int pending = 0;
    return ::ioctl(STDIN_FILENO, FIONREAD, &pending);
  });
  EXPECT_EQ(end.exit_code, kExitHostConfinement);
  EXPECT_EQ(end.err, Forbidden(SYS_ioctl, "ioctl"));
}

// The process backend kills and reaps its helper, and nothing else.
TEST(HostConfinementProcessTest, KillsOnlyTheHelper) {
  if (!HostConfinementAvailable()) {
    GTEST_SKIP() << "a sanitizer build does not confine the host (host_confinement.h)";
  }
  // RunConfined names the test process as the helper: a kill of any other
  // process is forbidden (signal 0 only asks whether it exists).
  const ChildEnd other = RunConfined(SandboxKind::kProcess, [] { return ::kill(1, 0); });
  EXPECT_EQ(other.exit_code, kExitHostConfinement);
  EXPECT_EQ(other.err, Forbidden(SYS_kill, "kill"));
  const pid_t self = ::getpid();
  const ChildEnd helper =
      RunConfined(SandboxKind::kProcess, [self] { return ::kill(self, 0) == 0 ? 0 : 1; });
  EXPECT_EQ(helper.exit_code, 0) << helper.err;
}

TEST(SyscallNameTest, NamesX8664Calls) {
  EXPECT_STREQ(SyscallName(0), "read");
  EXPECT_STREQ(SyscallName(SYS_socket), "socket");
  EXPECT_STREQ(SyscallName(SYS_openat2), "openat2");
  EXPECT_STREQ(SyscallName(100000), "unknown");
}

}  // namespace
}  // namespace instar::vmm
