// The test-guest suite: the kvm and emulated backends against the test
// guest (guest/runtime/kvm/test_guest.h), a flat image from the same runtime
// as the real one that echoes, loops, faults and breaks the protocol on
// request. Each way a guest can end must give its own exit code and one
// line. Included by kvm_sandbox_test.cc and emulated_sandbox_test.cc, each of
// which instantiates FlatGuestTest with its backend.
#ifndef INSTAR_VMM_SANDBOX_KVM_TEST_GUEST_SUITE_H_
#define INSTAR_VMM_SANDBOX_KVM_TEST_GUEST_SUITE_H_

#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "instar/guest/abi.h"
#include "test_guest.h"
#include "vmm/sandbox/device_table.h"
#include "vmm/sandbox/guest_memory.h"
#include "vmm/sandbox/sandbox.h"
#include "vmm/sandbox/test_file.h"
#include "vmm/testing/required_sandboxes.h"

namespace instar::vmm::testing {

namespace tg = test_guest;

// A backend that runs flat images.
struct FlatBackend {
  const char* name;
  // nullptr, with *why set, when the backend cannot run here.
  std::unique_ptr<Sandbox> (*make)(std::vector<uint8_t> image, std::string* why);
  SandboxKind kind;
  // The emulator stops at the faulting exception and names it; under KVM
  // the guest has no IDT, so every exception ends as a triple fault.
  bool names_exceptions;
};

// gtest prints the parameter in test names; the name is what matters.
inline void PrintTo(const FlatBackend& backend, std::ostream* out) { *out << backend.name; }
inline std::string FlatBackendName(const ::testing::TestParamInfo<FlatBackend>& info) {
  return info.param.name;
}

struct Record {
  uint16_t tag = 0;
  uint8_t type = 0;
  std::vector<uint8_t> payload;
};

// A minimal reader of the result stream, enough for the test guest's records.
inline bool ParseResult(const std::vector<uint8_t>& stream, uint32_t operation,
                        std::vector<Record>* records) {
  if (stream.size() < sizeof(abi::ResultHeader)) return false;
  abi::ResultHeader header;
  std::memcpy(&header, stream.data(), sizeof(header));
  if (header.magic != abi::kResultMagic || header.operation != operation ||
      header.length != stream.size() - sizeof(header)) {
    return false;
  }
  size_t at = sizeof(header);
  while (at < stream.size()) {
    abi::RecordHeader record;
    if (stream.size() - at < sizeof(record)) return false;
    std::memcpy(&record, stream.data() + at, sizeof(record));
    at += sizeof(record);
    const size_t padded = (record.length + 7u) & ~size_t{7};
    if (stream.size() - at < padded) return false;
    const uint8_t* payload = stream.data() + at;
    records->push_back(
        {record.tag, record.type, std::vector<uint8_t>(payload, payload + record.length)});
    at += padded;
  }
  return true;
}

inline uint64_t AsU64(const Record& record) {
  uint64_t value = 0;
  std::memcpy(&value, record.payload.data(), sizeof(value));
  return value;
}

class FlatGuestTest : public ::testing::TestWithParam<FlatBackend> {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(ReadGuestImageFile(INSTAR_TEST_GUEST_IMAGE, &image_, &error)) << error;
    std::string why;
    if (GetParam().make(image_, &why) == nullptr) INSTAR_SKIP_OR_FAIL_BACKEND(GetParam().name, why);
    file_.resize(3000);
    for (size_t i = 0; i < file_.size(); ++i) file_[i] = static_cast<uint8_t>(i * 13 + 5);
    path_ = WriteTestFile("instar-flat-guest-test", file_);
    ASSERT_FALSE(path_.empty());
    ASSERT_TRUE(devices_.OpenPath(path_, &error)) << error;
  }
  void TearDown() override {
    if (!path_.empty()) ::unlink(path_.c_str());
  }

  SandboxOutcome Run(tg::Behaviour behaviour,
                     std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    abi::OperationConfig config{};
    config.magic = abi::kConfigMagic;
    config.abi_version = abi::kAbiVersion;
    config.operation = behaviour;
    config.size = sizeof(config);
    std::strcpy(config.filename, "echo-me.img");
    SandboxLimits limits;
    limits.timeout = timeout;
    limits.guest_memory_bytes = 16ull << 20;
    std::string why;
    std::unique_ptr<Sandbox> sandbox = GetParam().make(image_, &why);
    if (sandbox == nullptr) {
      ADD_FAILURE() << why;
      return {};
    }
    EXPECT_EQ(sandbox->kind(), GetParam().kind);
    return sandbox->Run(config, devices_, limits);
  }

  // The message a fault should produce: the exception's name where the
  // backend can tell, else the triple fault.
  std::string FaultText(const char* exception) const {
    return GetParam().names_exceptions ? exception : "triple fault";
  }

  std::vector<uint8_t> image_;
  std::string path_;
  std::vector<uint8_t> file_;
  DeviceTable devices_;
};

TEST_P(FlatGuestTest, EchoesThroughEveryBufferRegion) {
  const SandboxOutcome outcome = Run(tg::kEcho);
  ASSERT_EQ(outcome.exit, kExitOk) << outcome.message;
  std::vector<Record> records;
  ASSERT_TRUE(ParseResult(outcome.result, tg::kEcho, &records));
  std::map<uint16_t, Record> by_tag;
  for (const Record& r : records) by_tag[r.tag] = r;
  ASSERT_EQ(by_tag.size(), 6u);
  EXPECT_EQ(AsU64(by_tag[tg::kTagCpl]), 3u) << "the guest must run unprivileged";
  EXPECT_EQ(
      std::string(by_tag[tg::kTagFilename].payload.begin(), by_tag[tg::kTagFilename].payload.end()),
      "echo-me.img");
  EXPECT_EQ(AsU64(by_tag[tg::kTagSize]), file_.size());
  const std::vector<uint8_t> head(file_.begin(), file_.begin() + tg::kEchoBytes);
  EXPECT_EQ(by_tag[tg::kTagBss].payload, head);
  EXPECT_EQ(by_tag[tg::kTagArenaEnd].payload, head);
  EXPECT_EQ(by_tag[tg::kTagStack].payload, head);
}

TEST_P(FlatGuestTest, AnswersHostileCallsWithErrors) {
  const SandboxOutcome outcome = Run(tg::kHostileCalls);
  ASSERT_EQ(outcome.exit, kExitOk) << outcome.message;
  std::vector<Record> records;
  ASSERT_TRUE(ParseResult(outcome.result, tg::kHostileCalls, &records));
  ASSERT_EQ(records.size(), static_cast<size_t>(tg::kHostileRequestCount));
  const abi::CallError expected[tg::kHostileRequestCount] = {
      abi::CallError::kBadBuffer,  // kReadIntoPageTables
      abi::CallError::kBadBuffer,  // kReadIntoCode
      abi::CallError::kBadBuffer,  // kReadIntoMailbox
      abi::CallError::kBadBuffer,  // kReadIntoGuardPage
      abi::CallError::kBadBuffer,  // kReadPastMemoryEnd
      abi::CallError::kBadBuffer,  // kReadBufferWraps
      abi::CallError::kBadRange,   // kReadOffsetWraps
      abi::CallError::kBadRange,   // kReadTooLong
      abi::CallError::kBadCall,    // kUnknownCall
      abi::CallError::kBadDevice,  // kBadDeviceNumber
      abi::CallError::kBadBuffer,  // kLogFromConfigPage
      abi::CallError::kTooLarge,   // kEmitTooLarge
      abi::CallError::kOk,         // kReadIntoArenaEnd
  };
  for (uint32_t i = 0; i < tg::kHostileRequestCount; ++i) {
    EXPECT_EQ(static_cast<int64_t>(AsU64(records[i])), static_cast<int64_t>(expected[i]))
        << "hostile request " << i;
  }
}

TEST_P(FlatGuestTest, ALoopingGuestTimesOut) {
  const SandboxOutcome outcome = Run(tg::kSpin, std::chrono::milliseconds(300));
  EXPECT_EQ(outcome.exit, kExitTimeout) << outcome.message;
  EXPECT_EQ(outcome.message, "the sandbox timed out after 0.3 seconds");
}

TEST_P(FlatGuestTest, AFaultIsAGuestCrash) {
  const struct {
    tg::Behaviour behaviour;
    std::string message_part;
  } cases[] = {
      {tg::kNullWrite, FaultText("page fault")},
      {tg::kInvalidOpcode, FaultText("invalid opcode")},
      {tg::kWriteCode, FaultText("page fault")},
      {tg::kStackOverflow, FaultText("page fault")},
      // Privileged work faults: the guest runs at CPL 3.
      {tg::kHalt, FaultText("general protection fault")},
      {tg::kPortIo, FaultText("general protection fault")},
      {tg::kReadGdt, FaultText("page fault")},
      {tg::kAbort, "aborted: test guest: aborting on request"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.behaviour);
    const SandboxOutcome outcome = Run(c.behaviour);
    EXPECT_EQ(outcome.exit, kExitGuestCrash) << outcome.message;
    EXPECT_NE(outcome.message.find(c.message_part), std::string::npos) << outcome.message;
    EXPECT_EQ(outcome.message.find('\n'), std::string::npos);
    EXPECT_TRUE(outcome.result.empty());
  }
}

TEST_P(FlatGuestTest, BreakingTheProtocolIsABadResult) {
  const struct {
    tg::Behaviour behaviour;
    const char* message_part;
  } cases[] = {
      {tg::kHypercallLoad, "a 4-byte load at offset 0x0 of the hypercall page"},
      {tg::kHypercallByte, "a 1-byte store at offset 0x0 of the hypercall page"},
      {tg::kExitWithoutEmit, "without a result"},
      {tg::kExitStatus, "status 3"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.behaviour);
    const SandboxOutcome outcome = Run(c.behaviour);
    EXPECT_EQ(outcome.exit, kExitBadResult) << outcome.message;
    EXPECT_NE(outcome.message.find(c.message_part), std::string::npos) << outcome.message;
    EXPECT_TRUE(outcome.result.empty());
  }
}

// resize and amend's in-place writable device (DeviceTable::OpenInPlace):
// a write, truncation or fallocate past the operation's write limit is
// refused by the host, and nothing past it lands in the file.
TEST_P(FlatGuestTest, TheInPlaceDeviceRefusesWritesPastItsLimit) {
  constexpr uint64_t kLimit = 4096;
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenInPlace(path_, kLimit, &error)) << error;
  abi::OperationConfig config{};
  config.magic = abi::kConfigMagic;
  config.abi_version = abi::kAbiVersion;
  config.operation = tg::kWritePastLimit;
  config.size = sizeof(config);
  config.resize.size = kLimit;
  SandboxLimits limits;
  limits.guest_memory_bytes = 16ull << 20;
  std::string why;
  std::unique_ptr<Sandbox> sandbox = GetParam().make(image_, &why);
  ASSERT_NE(sandbox, nullptr) << why;
  const SandboxOutcome outcome = sandbox->Run(config, devices, limits);
  ASSERT_EQ(outcome.exit, kExitOk) << outcome.message;
  std::vector<Record> records;
  ASSERT_TRUE(ParseResult(outcome.result, tg::kWritePastLimit, &records));
  ASSERT_EQ(records.size(), static_cast<size_t>(tg::kWriteRequestCount));
  const abi::CallError expected[tg::kWriteRequestCount] = {
      abi::CallError::kOk,        // kWriteUpToLimit
      abi::CallError::kBadRange,  // kWriteAcrossLimit
      abi::CallError::kBadRange,  // kWriteAtLimit
      abi::CallError::kBadRange,  // kTruncatePastLimit
      abi::CallError::kBadRange,  // kAllocatePastLimit
  };
  for (uint32_t i = 0; i < tg::kWriteRequestCount; ++i) {
    EXPECT_EQ(static_cast<int64_t>(AsU64(records[i])), static_cast<int64_t>(expected[i]))
        << "write request " << i;
  }
  // The file, written in place: one byte at limit - 1, nothing past it.
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), kLimit);
}

TEST_P(FlatGuestTest, RefusesAnImageThatIsNotAFlatImage) {
  image_.assign(4096, 0);
  const SandboxOutcome outcome = Run(tg::kEcho);
  EXPECT_EQ(outcome.exit, kExitSandboxUnavailable);
  EXPECT_NE(outcome.message.find("bad magic"), std::string::npos) << outcome.message;
}

}  // namespace instar::vmm::testing

#endif  // INSTAR_VMM_SANDBOX_KVM_TEST_GUEST_SUITE_H_
