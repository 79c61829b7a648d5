// The process backend with the real helper programs. The misbehaving
// operations come from the test build of the helper
// (guest/runtime/process/testing); the production helper has none of them.
#include "vmm/sandbox/process_sandbox.h"

#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "testing/test_operations.h"
#include "vmm/result/result_decoder.h"
#include "vmm/sandbox/test_file.h"

namespace instar::vmm {
namespace {

namespace test_ops = guest::testing;

abi::OperationConfig Config(uint32_t operation) {
  abi::OperationConfig config;
  std::memset(&config, 0, sizeof(config));
  config.magic = abi::kConfigMagic;
  config.abi_version = abi::kAbiVersion;
  config.operation = operation;
  config.size = sizeof(config);
  config.compat_major = 11;
  config.compat_minor = 1;
  config.compat_micro = 3;
  return config;
}

SandboxOutcome RunHelper(const std::string& helper, uint32_t operation, SandboxLimits limits = {}) {
  DeviceTable devices;
  return MakeProcessSandbox(helper)->Run(Config(operation), devices, limits);
}

SandboxOutcome RunTestHelper(uint32_t operation, SandboxLimits limits = {}) {
  return RunHelper(INSTAR_TEST_HELPER_PATH, operation, limits);
}

// Decodes the result of an outcome that must have ended well.
::testing::AssertionResult DecodeOk(const SandboxOutcome& outcome, uint32_t operation,
                                    DecodedResult* result) {
  if (outcome.exit != kExitOk) {
    return ::testing::AssertionFailure() << "exit " << outcome.exit << ": " << outcome.message;
  }
  std::string error;
  if (!DecodeResult(outcome.result, operation, result, &error)) {
    return ::testing::AssertionFailure() << error;
  }
  return ::testing::AssertionSuccess();
}

// A test operation that misbehaves, and how the backend reports it.
struct Misbehaviour {
  const char* name;
  uint32_t operation;
  std::chrono::milliseconds timeout;  // 0: the default limit
  ExitCode exit;
  const char* message;
};

const Misbehaviour kMisbehaviours[] = {
    {"ForbiddenSyscallIsKilledBySeccomp", test_ops::kTestForbiddenSyscall,
     std::chrono::milliseconds(0), kExitBadSyscall,
     "the sandbox helper was killed by seccomp (a forbidden system call)"},
    {"EndlessLoopTimesOut", test_ops::kTestLoop, std::chrono::milliseconds(300), kExitTimeout,
     "the sandbox timed out after 0.3 seconds"},
    {"CrashIsAGuestCrash", test_ops::kTestCrash, std::chrono::milliseconds(0), kExitGuestCrash,
     "the sandbox helper crashed (signal 11 (SIGSEGV))"},
    {"BadRequestsGetErrorReplies", test_ops::kTestBadRequest, std::chrono::milliseconds(0),
     kExitBadResult, "the sandbox helper finished (status 42) without a result"},
    {"ExitWithoutResultIsABadResult", test_ops::kTestExitWithoutResult,
     std::chrono::milliseconds(0), kExitBadResult,
     "the sandbox helper finished (status 0) without a result"},
};

void PrintTo(const Misbehaviour& m, std::ostream* os) { *os << m.name; }

class ProcessSandboxMisbehaviourTest : public ::testing::TestWithParam<Misbehaviour> {};

TEST_P(ProcessSandboxMisbehaviourTest, EndsWithItsExitCode) {
  const Misbehaviour& m = GetParam();
  SandboxLimits limits;
  if (m.timeout.count() != 0) limits.timeout = m.timeout;
  const SandboxOutcome outcome = RunTestHelper(m.operation, limits);
  EXPECT_EQ(outcome.exit, m.exit);
  EXPECT_EQ(outcome.message, m.message);
}

// A payload in the helper's arena is named where it lies (the window, the
// bounce buffer for any other, stays as it was), one on its stack goes
// through the window. (That the host then reads and writes the named
// payloads right, every operation test over this backend shows.)
TEST(ProcessSandboxTest, ArenaPayloadsAreNamedInPlace) {
  const SandboxOutcome outcome = RunTestHelper(test_ops::kTestPayloadsInPlace);
  EXPECT_EQ(outcome.message, "the sandbox helper finished (status 42) without a result");
}

INSTANTIATE_TEST_SUITE_P(TestOperations, ProcessSandboxMisbehaviourTest,
                         ::testing::ValuesIn(kMisbehaviours),
                         [](const ::testing::TestParamInfo<Misbehaviour>& param_info) {
                           return std::string(param_info.param.name);
                         });

TEST(ProcessSandboxTest, HelperHasOnlyItsPipesAndNoEnvironment) {
  DecodedResult result;
  ASSERT_TRUE(DecodeOk(RunTestHelper(test_ops::kTestProbeEnvironment),
                       test_ops::kTestProbeEnvironment, &result));
  std::vector<uint64_t> fds;
  uint64_t argc = 99, envc = 99;
  for (const ResultRecord& r : result.records) {
    if (r.tag == test_ops::kTagOpenFd) fds.push_back(r.number);
    if (r.tag == test_ops::kTagArgc) argc = r.number;
    if (r.tag == test_ops::kTagEnvc) envc = r.number;
  }
  EXPECT_EQ(fds, (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(envc, 0u);
  EXPECT_EQ(argc, 1u);
}

TEST(ProcessSandboxTest, ProductionHelperDoesNotKnowTheTestOperations) {
  DecodedResult result;
  ASSERT_TRUE(DecodeOk(RunHelper(INSTAR_HELPER_PATH, test_ops::kTestForbiddenSyscall),
                       test_ops::kTestForbiddenSyscall, &result));
  bool malformed = false;
  const std::optional<GuestError> guest_error = FindGuestError(result, &malformed);
  ASSERT_TRUE(guest_error.has_value());
  EXPECT_EQ(guest_error->message, "qemu-img: the sandbox does not know this operation");
}

// resize and amend's in-place writable device (DeviceTable::OpenInPlace):
// a write, truncation or fallocate past the operation's write limit is
// refused by the host, and nothing past it lands in the file.
TEST(ProcessSandboxTest, TheInPlaceDeviceRefusesWritesPastItsLimit) {
  constexpr uint64_t kLimit = 4096;
  const std::string path = WriteTestFile("instar-in-place", std::vector<uint8_t>(3000, 7));
  ASSERT_FALSE(path.empty());
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenInPlace(path, kLimit, &error)) << error;
  abi::OperationConfig config = Config(test_ops::kTestWritePastLimit);
  config.resize.size = kLimit;
  const SandboxOutcome outcome =
      MakeProcessSandbox(INSTAR_TEST_HELPER_PATH)->Run(config, devices, SandboxLimits{});
  DecodedResult result;
  ASSERT_TRUE(DecodeOk(outcome, test_ops::kTestWritePastLimit, &result));
  std::vector<int64_t> errors;
  for (const ResultRecord& r : result.records) {
    if (r.tag == test_ops::kTagReplyError) errors.push_back(static_cast<int64_t>(r.number));
  }
  constexpr auto kOk = static_cast<int64_t>(abi::CallError::kOk);
  constexpr auto kBadRange = static_cast<int64_t>(abi::CallError::kBadRange);
  // Up to the limit, across it, at it; truncate and fallocate past it.
  EXPECT_EQ(errors, (std::vector<int64_t>{kOk, kBadRange, kBadRange, kBadRange, kBadRange}));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), kLimit);
  ::unlink(path.c_str());
}

// The value of a "Name:\tvalue" line of a /proc status file, or "".
std::string StatusField(const std::string& path, const std::string& name) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + ":", 0) == 0) {
      const size_t value = line.find_first_not_of(" \t", name.size() + 1);
      return value == std::string::npos ? "" : line.substr(value);
    }
  }
  return "";
}

// The helper and the thread that serves it take turns, so they share one
// CPU (SharedCpu in process_sandbox.cc): while the helper runs, both may
// run on that one CPU only; after the run the thread has its CPUs back.
// On a machine of one CPU nothing changes.
TEST(ProcessSandboxTest, TheHelperSharesOneCpuWithTheThreadServingIt) {
  cpu_set_t before;
  ASSERT_EQ(::sched_getaffinity(0, sizeof(before), &before), 0);
  std::atomic<pid_t> serving_tid{0};
  std::atomic<bool> done{false};
  SandboxOutcome outcome;
  cpu_set_t after;
  CPU_ZERO(&after);
  std::thread serving([&] {
    serving_tid = static_cast<pid_t>(::syscall(SYS_gettid));
    SandboxLimits limits;
    limits.timeout = std::chrono::milliseconds(1500);
    outcome = RunTestHelper(test_ops::kTestLoop, limits);
    (void)::sched_getaffinity(0, sizeof(after), &after);
    done = true;
  });
  // The helper is the serving thread's child; it spins until the deadline.
  std::string helper_cpus;
  std::string serving_cpus;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (helper_cpus.empty() && !done && std::chrono::steady_clock::now() < give_up) {
    const pid_t tid = serving_tid;
    if (tid != 0) {
      const std::string task = "/proc/self/task/" + std::to_string(tid);
      std::ifstream children(task + "/children");
      pid_t helper = 0;
      if (children >> helper && helper > 0) {
        serving_cpus = StatusField(task + "/status", "Cpus_allowed_list");
        helper_cpus =
            StatusField("/proc/" + std::to_string(helper) + "/status", "Cpus_allowed_list");
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  serving.join();
  EXPECT_EQ(outcome.exit, kExitTimeout) << outcome.message;
  ASSERT_FALSE(helper_cpus.empty()) << "the helper was not seen running";
  EXPECT_EQ(helper_cpus, serving_cpus);
  if (CPU_COUNT(&before) > 1) {
    EXPECT_EQ(helper_cpus.find_first_of(",-"), std::string::npos)
        << "the helper may run on " << helper_cpus;
  }
  EXPECT_TRUE(CPU_EQUAL(&before, &after)) << "the serving thread did not get its CPUs back";
}

TEST(ProcessSandboxTest, MissingHelperIsUnavailable) {
  const SandboxOutcome outcome = RunHelper("/nonexistent/instar-sandbox-helper", 1);
  EXPECT_EQ(outcome.exit, kExitSandboxUnavailable);
  EXPECT_EQ(outcome.message,
            "cannot run the sandbox helper '/nonexistent/instar-sandbox-helper': No such file or "
            "directory");
}

}  // namespace
}  // namespace instar::vmm
