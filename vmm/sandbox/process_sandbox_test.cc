// The process backend with the real helper programs. The misbehaving
// operations come from the test build of the helper
// (guest/runtime/process/testing); the production helper has none of them.
#include "vmm/sandbox/process_sandbox.h"

#include <cstring>

#include <gtest/gtest.h>

#include "testing/test_operations.h"
#include "vmm/result/result_decoder.h"

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

SandboxOutcome RunTestHelper(uint32_t operation, SandboxLimits limits = {}) {
  DeviceTable devices;
  return MakeProcessSandbox(INSTAR_TEST_HELPER_PATH)->Run(Config(operation), devices, limits);
}

TEST(ProcessSandboxTest, ForbiddenSyscallIsKilledBySeccomp) {
  const SandboxOutcome outcome = RunTestHelper(test_ops::kTestForbiddenSyscall);
  EXPECT_EQ(outcome.exit, kExitBadSyscall);
  EXPECT_EQ(outcome.message, "the sandbox helper was killed by seccomp (a forbidden system call)");
}

TEST(ProcessSandboxTest, EndlessLoopTimesOut) {
  SandboxLimits limits;
  limits.timeout = std::chrono::milliseconds(300);
  const SandboxOutcome outcome = RunTestHelper(test_ops::kTestLoop, limits);
  EXPECT_EQ(outcome.exit, kExitTimeout);
  EXPECT_EQ(outcome.message, "the sandbox timed out after 0.3 seconds");
}

TEST(ProcessSandboxTest, CrashIsAGuestCrash) {
  const SandboxOutcome outcome = RunTestHelper(test_ops::kTestCrash);
  EXPECT_EQ(outcome.exit, kExitGuestCrash);
  EXPECT_EQ(outcome.message, "the sandbox helper crashed (signal 11 (SIGSEGV))");
}

TEST(ProcessSandboxTest, OversizedRequestBreaksTheProtocol) {
  const SandboxOutcome outcome = RunTestHelper(test_ops::kTestBadRequest);
  EXPECT_EQ(outcome.exit, kExitBadResult);
  EXPECT_EQ(outcome.message,
            "the sandbox helper broke the call protocol: the sandbox helper sent a request "
            "with a 1099511627776-byte payload");
}

TEST(ProcessSandboxTest, ExitWithoutResultIsABadResult) {
  const SandboxOutcome outcome = RunTestHelper(test_ops::kTestExitWithoutResult);
  EXPECT_EQ(outcome.exit, kExitBadResult);
  EXPECT_EQ(outcome.message, "the sandbox helper finished (status 0) without a result");
}

TEST(ProcessSandboxTest, HelperHasOnlyItsPipesAndNoEnvironment) {
  const SandboxOutcome outcome = RunTestHelper(test_ops::kTestProbeEnvironment);
  ASSERT_EQ(outcome.exit, kExitOk) << outcome.message;
  DecodedResult result;
  std::string error;
  ASSERT_TRUE(DecodeResult(outcome.result, test_ops::kTestProbeEnvironment, &result, &error))
      << error;
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
  DeviceTable devices;
  const SandboxOutcome outcome = MakeProcessSandbox(INSTAR_HELPER_PATH)
                                     ->Run(Config(test_ops::kTestForbiddenSyscall), devices, {});
  ASSERT_EQ(outcome.exit, kExitOk) << outcome.message;
  DecodedResult result;
  std::string error;
  ASSERT_TRUE(DecodeResult(outcome.result, test_ops::kTestForbiddenSyscall, &result, &error))
      << error;
  bool malformed = false;
  const std::optional<GuestError> guest_error = FindGuestError(result, &malformed);
  ASSERT_TRUE(guest_error.has_value());
  EXPECT_EQ(guest_error->message, "qemu-img: the sandbox does not know this operation");
}

TEST(ProcessSandboxTest, MissingHelperIsUnavailable) {
  DeviceTable devices;
  const SandboxOutcome outcome =
      MakeProcessSandbox("/nonexistent/instar-sandbox-helper")->Run(Config(1), devices, {});
  EXPECT_EQ(outcome.exit, kExitSandboxUnavailable);
  EXPECT_EQ(outcome.message,
            "cannot run the sandbox helper '/nonexistent/instar-sandbox-helper': No such file or "
            "directory");
}

}  // namespace
}  // namespace instar::vmm
