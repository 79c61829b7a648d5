#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "instar/guest/transport_device.h"

namespace instar::guest {
namespace {

// Serves kRead from a byte pattern and records every request.
class FakeTransport final : public Transport {
 public:
  abi::CallReply Call(const abi::CallRequest& request, const void*, void* in) override {
    requests.push_back(request);
    abi::CallReply reply{};
    switch (static_cast<abi::Call>(request.call)) {
      case abi::Call::kSize:
        reply.value = size;
        break;
      case abi::Call::kRead:
        if (fail_reads) {
          reply.error = static_cast<int32_t>(abi::CallError::kIOError);
          break;
        }
        for (uint64_t i = 0; i < request.length; ++i) {
          static_cast<uint8_t*>(in)[i] = static_cast<uint8_t>((request.offset + i) % 251);
        }
        reply.value = request.length;
        break;
      case abi::Call::kSeekData:
        reply.value = abi::kNoData;
        break;
      case abi::Call::kOpen:
        reply.error = static_cast<int32_t>(abi::CallError::kNotFound);
        break;
      default:
        break;
    }
    return reply;
  }

  uint64_t size = 10 << 20;
  bool fail_reads = false;
  std::vector<abi::CallRequest> requests;
};

TEST(TransportDeviceTest, SplitsReadsIntoTransfers) {
  FakeTransport transport;
  std::vector<uint8_t> arena_memory(4096);
  Arena arena(arena_memory.data(), arena_memory.size());
  Result<TransportDevice*> device = TransportDevice::Create(transport, 0, arena);
  ASSERT_TRUE(device.ok());
  EXPECT_EQ((*device)->Size(), 10u << 20);

  const size_t length = 2 * abi::kMaxTransfer + 123;
  std::vector<uint8_t> data(length);
  ASSERT_TRUE((*device)->Read(7, data.data(), length).ok());
  for (size_t i = 0; i < length; ++i) ASSERT_EQ(data[i], (7 + i) % 251) << i;
  size_t reads = 0;
  for (const abi::CallRequest& r : transport.requests) {
    if (r.call != static_cast<uint32_t>(abi::Call::kRead)) continue;
    ++reads;
    EXPECT_LE(r.length, abi::kMaxTransfer);
  }
  EXPECT_EQ(reads, 3u);
}

TEST(TransportDeviceTest, ReportsHostFailures) {
  FakeTransport transport;
  transport.fail_reads = true;
  TransportDevice device(transport, 0, 100);
  uint8_t byte;
  EXPECT_EQ(device.Read(0, &byte, 1).code(), StatusCode::kIOError);
  EXPECT_EQ(device.Read(UINT64_MAX, &byte, 1).code(), StatusCode::kIOError);
  Result<uint64_t> data = device.SeekData(0);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, BlockDevice::kNoData);

  std::vector<uint8_t> arena_memory(4096);
  Arena arena(arena_memory.data(), arena_memory.size());
  TransportDeviceOpener opener(transport, arena);
  EXPECT_FALSE(opener.Open("extent.vmdk", 11).ok());
  EXPECT_FALSE(opener.Open("", 0).ok());
}

}  // namespace
}  // namespace instar::guest
