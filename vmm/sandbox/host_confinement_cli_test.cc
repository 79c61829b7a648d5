// The real `instar` confined, under each backend: a forbidden system call
// after start-up ($INSTAR_TEST_FORBIDDEN_CALL, a test-only hook) ends it
// with kExitHostConfinement and one line, and the commands still work under
// the filter (the rest of the CLI tests, and the conform runs, run the same
// confined binary).
#include <sys/syscall.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vmm/sandbox/exit_codes.h"
#include "vmm/sandbox/host_confinement.h"
#include "vmm/testing/required_sandboxes.h"
#include "vmm/testing/subprocess.h"

namespace instar::vmm {
namespace {

using testing::ProgramResult;

const std::string kImages = std::string(INSTAR_SOURCE_ROOT) + "/cases/images/";

// Runs instar with $INSTAR_TEST_FORBIDDEN_CALL set to `call` ("" unsets it).
ProgramResult Instar(const std::string& sandbox, const std::string& call,
                     std::vector<std::string> args) {
  args.insert(args.begin(), {INSTAR_BINARY_PATH, "--sandbox=" + sandbox});
  if (call.empty()) {
    ::unsetenv("INSTAR_TEST_FORBIDDEN_CALL");
  } else {
    ::setenv("INSTAR_TEST_FORBIDDEN_CALL", call.c_str(), 1);
  }
  ProgramResult result = testing::RunProgram(args);
  ::unsetenv("INSTAR_TEST_FORBIDDEN_CALL");
  return result;
}

std::string Forbidden(long number, const char* name) {
  return "instar: the host process made a forbidden system call " + std::to_string(number) + " (" +
         name + ")\n";
}

// The parameter is the backend.
class ConfinedInstarTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!HostConfinementAvailable()) {
      GTEST_SKIP() << "a sanitizer build does not confine the host (host_confinement.h)";
    }
    const ProgramResult probe = Instar(GetParam(), "", {"measure", "--size", "1G", "-O", "qcow2"});
    if (probe.exit_code == kExitSandboxUnavailable) {
      INSTAR_SKIP_OR_FAIL_BACKEND(GetParam(), probe.err);
    }
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, ConfinedInstarTest,
                         ::testing::Values("process", "kvm", "emulated"));

TEST_P(ConfinedInstarTest, AForbiddenCallEndsInstarWithItsOwnCode) {
  struct Case {
    const char* hook;
    long number;
    const char* name;
  };
  for (const Case& c :
       {Case{"socket", SYS_socket, "socket"}, Case{"execve", SYS_execve, "execve"},
        Case{"open-write", SYS_openat, "openat"}, Case{"fork", SYS_clone, "clone"}}) {
    SCOPED_TRACE(c.hook);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"measure", "--size", "1G", "-O", "qcow2"},
          std::vector<std::string>{"info", kImages + "qcow2-bitmap.qcow2"}}) {
      const ProgramResult r = Instar(GetParam(), c.hook, args);
      EXPECT_EQ(r.exit_code, kExitHostConfinement) << r.err;
      EXPECT_EQ(r.err, Forbidden(c.number, c.name));
      EXPECT_EQ(r.out, "");
    }
  }
}

// The same commands, unhooked, pass through the filter to their output.
TEST_P(ConfinedInstarTest, TheAllowlistIsEnough) {
  const ProgramResult measure = Instar(GetParam(), "", {"measure", "--size", "1G", "-O", "qcow2"});
  EXPECT_EQ(measure.exit_code, 0) << measure.err;
  EXPECT_EQ(measure.out, "required size: 393216\nfully allocated size: 1074135040\n");
  const ProgramResult info =
      Instar(GetParam(), "", {"info", "--output=json", kImages + "qcow2-bitmap.qcow2"});
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_EQ(info.err, "");
  EXPECT_NE(info.out.find("\"format\": \"qcow2\""), std::string::npos) << info.out;
}

}  // namespace
}  // namespace instar::vmm
