// The guest operations (guest/ops, built hosted) against the host's
// CallHandler in one process, with no sandbox in between: the shortest path
// from a config to a decoded result, and the one a debugger can follow.
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "instar/guest/info_result.h"
#include "instar/guest/measure_result.h"
#include "instar/guest/transport.h"
#include "vmm/result/result_decoder.h"
#include "vmm/sandbox/call_handler.h"

namespace instar::vmm {
namespace {

// A Transport that hands each request straight to a CallHandler.
class InProcessTransport final : public guest::Transport {
 public:
  explicit InProcessTransport(CallHandler& handler) : handler_(handler) {}

  abi::CallReply Call(const abi::CallRequest& request, const void* out, void* in) override {
    const abi::CallError check = handler_.Check(request);
    if (check != abi::CallError::kOk) return abi::CallReply{static_cast<int32_t>(check), 0, 0};
    std::vector<uint8_t> payload(static_cast<size_t>(CallHandler::PayloadLength(request)));
    if (!CallHandler::PayloadIsOutput(request) && !payload.empty()) {
      std::memcpy(payload.data(), out, payload.size());
    }
    const abi::CallReply reply = handler_.Handle(request, payload.data());
    if (CallHandler::PayloadIsOutput(request) && reply.error == 0) {
      std::memcpy(in, payload.data(), payload.size());
    }
    return reply;
  }

 private:
  CallHandler& handler_;
};

abi::OperationConfig Config(abi::Operation operation, const std::string& filename) {
  abi::OperationConfig config;
  std::memset(&config, 0, sizeof(config));
  config.magic = abi::kConfigMagic;
  config.abi_version = abi::kAbiVersion;
  config.operation = static_cast<uint32_t>(operation);
  config.size = sizeof(config);
  config.compat_major = 11;
  config.compat_minor = 1;
  config.compat_micro = 3;
  std::memcpy(config.filename, filename.data(), filename.size());
  return config;
}

DecodedResult RunInProcess(const abi::OperationConfig& config, DeviceTable& devices) {
  CallHandler handler(devices);
  InProcessTransport transport(handler);
  std::vector<uint8_t> memory(16 << 20);
  Arena arena(memory.data(), memory.size());
  EXPECT_EQ(guest::RunOperation(config, transport, arena), 0);
  EXPECT_TRUE(handler.emitted());
  DecodedResult result;
  std::string error;
  EXPECT_TRUE(DecodeResult(handler.result(), config.operation, &result, &error)) << error;
  return result;
}

// qemu-img-binaries/x86_64/11.1.3/qemu-img measure --size 1G -O qcow2
TEST(InProcessTest, MeasuresASize) {
  abi::OperationConfig config = Config(abi::Operation::kMeasure, "");
  config.measure.has_size = 1;
  config.measure.size = 1ull << 30;
  std::strcpy(config.measure.target_format, "qcow2");
  DeviceTable devices;
  const DecodedResult result = RunInProcess(config, devices);
  const ResultRecord* required = FindRecord(result.records, measure_result::kTagRequired);
  const ResultRecord* full = FindRecord(result.records, measure_result::kTagFullyAllocated);
  ASSERT_NE(required, nullptr);
  ASSERT_NE(full, nullptr);
  EXPECT_EQ(required->number, 393216u);
  EXPECT_EQ(full->number, 1074135040u);
  EXPECT_EQ(FindRecord(result.records, measure_result::kTagBitmaps), nullptr);
}

// qemu-img-binaries/x86_64/11.1.3/qemu-img info cases/images/raw-sparse.raw
TEST(InProcessTest, InfoProbesTheFormat) {
  const std::string path = std::string(INSTAR_SOURCE_ROOT) + "/cases/images/raw-sparse.raw";
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenPath(path, &error)) << error;
  const DecodedResult result = RunInProcess(Config(abi::Operation::kInfo, path), devices);
  const ResultRecord* format = FindRecord(result.records, info_result::kTagFormat);
  const ResultRecord* size = FindRecord(result.records, info_result::kTagVirtualSize);
  ASSERT_NE(format, nullptr);
  ASSERT_NE(size, nullptr);
  EXPECT_EQ(format->bytes, "raw");
  EXPECT_EQ(size->number, 3145728u);
}

TEST(InProcessTest, RefusesABrokenConfigWithAnErrorResult) {
  abi::OperationConfig config = Config(abi::Operation::kInfo, "x");
  std::memset(config.filename, 'a', sizeof(config.filename));  // no NUL
  DeviceTable devices;
  const DecodedResult result = RunInProcess(config, devices);
  bool malformed = false;
  const std::optional<GuestError> error = FindGuestError(result, &malformed);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->message, "qemu-img: the sandbox received an unterminated file name");
}

}  // namespace
}  // namespace instar::vmm
