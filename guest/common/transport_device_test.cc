#include <algorithm>
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
        for (const abi::DataExtent& run : data) {
          if (run.end > request.offset) {
            reply.value = std::max(run.start, request.offset);
            break;
          }
        }
        break;
      case abi::Call::kSeekHole:
        reply.value = request.offset;
        for (const abi::DataExtent& run : data) {
          if (run.start <= request.offset && request.offset < run.end) reply.value = run.end;
        }
        break;
      case abi::Call::kDataExtents: {
        auto* out = static_cast<abi::DataExtent*>(in);
        const size_t capacity = request.length / sizeof(abi::DataExtent);
        for (const abi::DataExtent& run : data) {
          if (run.end <= request.offset || reply.value == capacity) continue;
          out[reply.value++] = {std::max(run.start, request.offset), run.end};
        }
        break;
      }
      case abi::Call::kOpen:
        reply.error = static_cast<int32_t>(abi::CallError::kNotFound);
        break;
      default:
        break;
    }
    return reply;
  }

  uint64_t size = 10 << 20;
  std::vector<abi::DataExtent> data;  // the file's runs of data, in order
  bool fail_reads = false;
  std::vector<abi::CallRequest> requests;
};

// Open resolves a name from the image's directory, OpenAsGiven from the
// working directory: the request's offset says which to the host.
TEST(TransportDeviceTest, OpenSaysWhereANameStarts) {
  FakeTransport transport;
  std::vector<uint8_t> arena_memory(4096);
  Arena arena(arena_memory.data(), arena_memory.size());
  TransportDeviceOpener opener(transport, arena);
  EXPECT_FALSE(opener.Open("a", 1).ok());
  EXPECT_FALSE(opener.OpenAsGiven("b", 1).ok());
  ASSERT_EQ(transport.requests.size(), 2u);
  EXPECT_EQ(transport.requests[0].call, static_cast<uint32_t>(abi::Call::kOpen));
  EXPECT_EQ(transport.requests[0].offset, static_cast<uint64_t>(abi::OpenBase::kImageDirectory));
  EXPECT_EQ(transport.requests[1].offset, static_cast<uint64_t>(abi::OpenBase::kWorkingDirectory));
  EXPECT_EQ(transport.requests[1].length, 1u);
}

// A file opened as given that could not be opened is kept, by the caller's
// name, for qemu's "Could not open '<name>': ..."; Open() leaves it alone.
TEST(TransportDeviceTest, OpenAsGivenKeepsItsFailure) {
  FakeTransport transport;
  std::vector<uint8_t> arena_memory(4096);
  Arena arena(arena_memory.data(), arena_memory.size());
  TransportDeviceOpener opener(transport, arena);
  EXPECT_EQ(opener.as_given_failure().name, nullptr);
  EXPECT_FALSE(opener.Open("a", 1).ok());
  EXPECT_EQ(opener.as_given_failure().name, nullptr);
  const char name[] = "img.data";
  const Result<BlockDevice*> opened = opener.OpenAsGiven(name, 8);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opener.as_given_failure().name, name);
  EXPECT_EQ(opener.as_given_failure().name_length, 8u);
  EXPECT_EQ(opener.as_given_failure().status.message(), opened.status().message());
}

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
  TransportDevice device(transport, 0, 100, nullptr, nullptr);
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

// The reads of kind kRead, in order.
std::vector<abi::CallRequest> Reads(const FakeTransport& transport) {
  std::vector<abi::CallRequest> reads;
  for (const abi::CallRequest& r : transport.requests) {
    if (r.call == static_cast<uint32_t>(abi::Call::kRead)) reads.push_back(r);
  }
  return reads;
}

class ReadAheadTest : public ::testing::Test {
 protected:
  static constexpr size_t kWindow = TransportDevice::kReadAheadBytes;

  void SetUp() override {
    Result<TransportDevice*> made = TransportDevice::Create(transport_, 0, arena_);
    ASSERT_TRUE(made.ok());
    device_ = *made;
  }
  // Reads [offset, offset + length) and checks the bytes against the pattern.
  void ReadAndCheck(uint64_t offset, size_t length) {
    std::vector<uint8_t> data(length);
    ASSERT_TRUE(device_->Read(offset, data.data(), length).ok());
    for (size_t i = 0; i < length; ++i) ASSERT_EQ(data[i], (offset + i) % 251) << offset + i;
  }

  FakeTransport transport_;
  std::vector<uint8_t> arena_memory_ = std::vector<uint8_t>(1 << 20);
  Arena arena_{arena_memory_.data(), arena_memory_.size()};
  TransportDevice* device_ = nullptr;
};

// Why: a 64 KiB qcow2 L1 table read 4 KiB at a time cost sixteen exits.
TEST_F(ReadAheadTest, SmallReadsInOneWindowAreOneCall) {
  for (uint64_t offset = kWindow; offset < 2 * kWindow; offset += 4096) ReadAndCheck(offset, 4096);
  const std::vector<abi::CallRequest> reads = Reads(transport_);
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].offset, kWindow);
  EXPECT_EQ(reads[0].length, kWindow);
}

TEST_F(ReadAheadTest, AReadAcrossTwoWindowsFillsBoth) {
  ReadAndCheck(kWindow - 10, 20);
  EXPECT_EQ(Reads(transport_).size(), 2u);
  ReadAndCheck(kWindow - 5, 10);
  EXPECT_EQ(Reads(transport_).size(), 2u);
}

TEST_F(ReadAheadTest, TheLeastRecentlyUsedWindowGoesFirst) {
  const size_t windows = TransportDevice::kReadAheadWindows;
  for (size_t i = 0; i < windows; ++i) ReadAndCheck(i * kWindow, 8);
  ReadAndCheck(0, 8);                  // window 0 is now the most recent
  ReadAndCheck(windows * kWindow, 8);  // evicts window 1
  EXPECT_EQ(Reads(transport_).size(), windows + 1);
  ReadAndCheck(0, 8);
  EXPECT_EQ(Reads(transport_).size(), windows + 1);
  ReadAndCheck(kWindow, 8);
  EXPECT_EQ(Reads(transport_).size(), windows + 2);
}

TEST_F(ReadAheadTest, LargeReadsGoStraightToTheHost) {
  ReadAndCheck(100, kWindow);
  const std::vector<abi::CallRequest> reads = Reads(transport_);
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].offset, 100u);
  EXPECT_EQ(reads[0].length, kWindow);
}

// Why: qemu 5.2 reads a qcow2 snapshot table at 2^63 - 512, a range the
// host serves, but the window around it would end at 2^63, which it refuses.
TEST_F(ReadAheadTest, NoWindowEndsPastTheLargestRange) {
  const uint64_t offset = abi::kMaxRangeEnd + 1 - 512;
  ReadAndCheck(offset, 512);
  const std::vector<abi::CallRequest> reads = Reads(transport_);
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].offset, offset);
  EXPECT_EQ(reads[0].length, 512u);
  // Below the last window, reads still come through one.
  ReadAndCheck(abi::kMaxRangeEnd + 1 - 2 * kWindow, 8);
  EXPECT_EQ(Reads(transport_).back().length, kWindow);
}

TEST_F(ReadAheadTest, AFailedWindowIsNotKept) {
  transport_.fail_reads = true;
  uint8_t byte;
  EXPECT_EQ(device_->Read(0, &byte, 1).code(), StatusCode::kIOError);
  transport_.fail_reads = false;
  ReadAndCheck(0, 1);
  EXPECT_EQ(Reads(transport_).size(), 2u);
}

TEST_F(ReadAheadTest, WithoutArenaRoomEveryReadIsACall) {
  std::vector<uint8_t> small(4096);
  Arena arena(small.data(), small.size());
  Result<TransportDevice*> device = TransportDevice::Create(transport_, 0, arena);
  ASSERT_TRUE(device.ok());
  uint8_t byte;
  ASSERT_TRUE((*device)->Read(3, &byte, 1).ok());
  ASSERT_TRUE((*device)->Read(4, &byte, 1).ok());
  const std::vector<abi::CallRequest> reads = Reads(transport_);
  ASSERT_EQ(reads.size(), 2u);
  EXPECT_EQ(reads[1].length, 1u);
}

size_t CallsOf(const FakeTransport& transport, abi::Call call) {
  return std::count_if(
      transport.requests.begin(), transport.requests.end(),
      [&](const abi::CallRequest& r) { return r.call == static_cast<uint32_t>(call); });
}

// Why: walking a file's allocation took a kSeekData and a kSeekHole call per
// run of data, each an exit.
TEST(ExtentListTest, SeeksAnswerAsTheHostWouldInOneCall) {
  FakeTransport host;  // answers every call one by one: the reference
  host.data = {{4096, 8192}, {65536, 70000}, {1 << 20, 2 << 20}};
  FakeTransport transport;
  transport.data = host.data;
  std::vector<uint8_t> arena_memory(1 << 20);
  Arena arena(arena_memory.data(), arena_memory.size());
  Result<TransportDevice*> device = TransportDevice::Create(transport, 0, arena);
  ASSERT_TRUE(device.ok());
  TransportDevice direct(host, 0, host.size, nullptr, nullptr);
  for (uint64_t offset :
       {uint64_t{0}, uint64_t{4095}, uint64_t{4096}, uint64_t{5000}, uint64_t{8192},
        uint64_t{65535}, uint64_t{69999}, uint64_t{70000}, uint64_t{1} << 20,
        (uint64_t{2} << 20) - 1, uint64_t{2} << 20, uint64_t{10} << 20, uint64_t{1} << 40}) {
    SCOPED_TRACE(offset);
    EXPECT_EQ(*(*device)->SeekData(offset), *direct.SeekData(offset));
    EXPECT_EQ(*(*device)->SeekHole(offset), *direct.SeekHole(offset));
  }
  EXPECT_EQ(CallsOf(transport, abi::Call::kDataExtents), 1u);
  EXPECT_EQ(CallsOf(transport, abi::Call::kSeekData), 0u);
  EXPECT_EQ(CallsOf(transport, abi::Call::kSeekHole), 0u);
}

TEST(ExtentListTest, AFullListIsExtendedFromWhereItEnds) {
  FakeTransport transport;
  const size_t runs = TransportDevice::kExtentCacheEntries + 10;
  for (uint64_t i = 0; i < runs; ++i) transport.data.push_back({i * 8192, i * 8192 + 4096});
  std::vector<uint8_t> arena_memory(1 << 20);
  Arena arena(arena_memory.data(), arena_memory.size());
  Result<TransportDevice*> device = TransportDevice::Create(transport, 0, arena);
  ASSERT_TRUE(device.ok());
  uint64_t offset = 0;
  size_t found = 0;
  for (;;) {
    const uint64_t start = *(*device)->SeekData(offset);
    if (start == BlockDevice::kNoData) break;
    EXPECT_EQ(start, found * 8192);
    offset = *(*device)->SeekHole(start);
    EXPECT_EQ(offset, start + 4096);
    ++found;
  }
  EXPECT_EQ(found, runs);
  EXPECT_EQ(CallsOf(transport, abi::Call::kDataExtents), 2u);
}

// A host that lists runs out of order is wrong; the device says so.
class DisorderlyTransport final : public Transport {
 public:
  abi::CallReply Call(const abi::CallRequest& request, const void*, void* in) override {
    abi::CallReply reply{};
    if (request.call == static_cast<uint32_t>(abi::Call::kSize)) reply.value = 1 << 20;
    if (request.call == static_cast<uint32_t>(abi::Call::kDataExtents)) {
      auto* out = static_cast<abi::DataExtent*>(in);
      out[0] = {8192, 12288};
      out[1] = {4096, 6000};
      reply.value = 2;
    }
    return reply;
  }
};

TEST(ExtentListTest, RefusesRunsOutOfOrder) {
  DisorderlyTransport transport;
  std::vector<uint8_t> arena_memory(1 << 20);
  Arena arena(arena_memory.data(), arena_memory.size());
  Result<TransportDevice*> device = TransportDevice::Create(transport, 0, arena);
  ASSERT_TRUE(device.ok());
  EXPECT_EQ((*device)->SeekData(0).status().code(), StatusCode::kIOError);
}

}  // namespace
}  // namespace instar::guest
