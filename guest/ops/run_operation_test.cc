// RunOperation's dispatch, expanded from the command table
// (instar/guest/command_table.h): every IMPLEMENTED command reaches its
// operation, and any other number is an error result.
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "instar/guest/abi.h"
#include "instar/guest/command_table.h"
#include "instar/guest/transport.h"

namespace instar::guest {
namespace {

constexpr char kUnknownOperation[] = "the sandbox does not know this operation";

// An empty image (every read past its end) that keeps what is emitted.
class EmptyImageTransport final : public Transport {
 public:
  abi::CallReply Call(const abi::CallRequest& request, const void* out, void* in) override {
    abi::CallReply reply{};
    switch (static_cast<abi::Call>(request.call)) {
      case abi::Call::kRead:
        std::memset(in, 0, request.length);
        reply.value = request.length;
        break;
      case abi::Call::kSeekData:
        reply.value = abi::kNoData;
        break;
      case abi::Call::kOpen:
        reply.error = static_cast<int32_t>(abi::CallError::kNotFound);
        break;
      case abi::Call::kEmit:
        emitted.assign(static_cast<const char*>(out), request.length);
        break;
      default:
        break;
    }
    return reply;
  }

  std::string emitted;
};

abi::OperationConfig ConfigFor(uint32_t operation) {
  abi::OperationConfig config{};
  config.magic = abi::kConfigMagic;
  config.abi_version = abi::kAbiVersion;
  config.operation = operation;
  config.size = sizeof(abi::OperationConfig);
  config.compat_major = 11;
  config.compat_minor = 1;
  config.compat_micro = 3;
  std::strcpy(config.filename, "image");
  // Enough for measure to succeed with no image: --size 1M -O raw.
  config.measure.has_size = 1;
  config.measure.size = 1 << 20;
  std::strcpy(config.measure.target_format, "raw");
  return config;
}

// Runs `operation` and returns the stream it emitted.
std::string RunAndCapture(uint32_t operation) {
  std::vector<uint8_t> memory(8 << 20);
  Arena arena(memory.data(), memory.size());
  EmptyImageTransport transport;
  EXPECT_EQ(RunOperation(ConfigFor(operation), transport, arena), 0) << operation;
  return transport.emitted;
}

uint32_t AnsweredOperation(const std::string& stream) {
  abi::ResultHeader header{};
  if (stream.size() < sizeof(header)) return kNoOperation;
  std::memcpy(&header, stream.data(), sizeof(header));
  return header.operation;
}

TEST(RunOperationTest, DispatchesEveryImplementedCommand) {
  size_t implemented = 0;
  for (const CommandTableEntry& command : kCommandTable) {
    if (command.operation == kNoOperation) continue;
    ++implemented;
    const std::string stream = RunAndCapture(command.operation);
    EXPECT_EQ(AnsweredOperation(stream), command.operation) << command.name;
    EXPECT_EQ(stream.find(kUnknownOperation), std::string::npos) << command.name;
  }
  EXPECT_GE(implemented, 2u);
}

TEST(RunOperationTest, AnyOtherNumberIsAnErrorResult) {
  for (uint32_t operation : {kNoOperation, 999u}) {
    const std::string stream = RunAndCapture(operation);
    EXPECT_EQ(AnsweredOperation(stream), operation);
    EXPECT_NE(stream.find(kUnknownOperation), std::string::npos) << operation;
  }
}

}  // namespace
}  // namespace instar::guest
