// CallHandler and DeviceTable against hostile requests: every value a guest
// supplies is wrong in turn, and each must come back as an error reply.
#include "vmm/sandbox/call_handler.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vmm/sandbox/device_table.h"

namespace instar::vmm {
namespace {

namespace fs = std::filesystem;

class CallHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("instar-handler-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    image_ = (dir_ / "image.raw").string();
    std::ofstream(image_, std::ios::binary) << "0123456789";
    std::ofstream(dir_ / "extent.raw", std::ios::binary) << "abc";
    std::string error;
    ASSERT_TRUE(devices_.OpenPath(image_, &error)) << error;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static abi::CallRequest Request(abi::Call call, uint32_t device = 0, uint64_t offset = 0,
                                  uint64_t length = 0) {
    return abi::MakeRequest(call, device, offset, length);
  }

  abi::CallReply Send(CallHandler& handler, const abi::CallRequest& request,
                      std::vector<uint8_t> payload = {}) {
    const abi::CallError check = handler.Check(request);
    if (check != abi::CallError::kOk) return abi::CallReply{static_cast<int32_t>(check), 0, 0};
    payload.resize(static_cast<size_t>(CallHandler::PayloadLength(request)));
    abi::CallReply reply = handler.Handle(request, payload.data());
    last_payload_ = payload;
    return reply;
  }

  static std::vector<uint8_t> Bytes(const std::string& s) {
    return std::vector<uint8_t>(s.begin(), s.end());
  }

  fs::path dir_;
  std::string image_;
  DeviceTable devices_;
  std::vector<uint8_t> last_payload_;
};

constexpr int32_t Err(abi::CallError e) { return static_cast<int32_t>(e); }

TEST_F(CallHandlerTest, ReadsWithZerosPastEndOfFile) {
  CallHandler handler(devices_);
  const abi::CallReply reply = Send(handler, Request(abi::Call::kRead, 0, 8, 4));
  EXPECT_EQ(reply.error, 0);
  EXPECT_EQ(reply.value, 4u);
  EXPECT_EQ(last_payload_, (std::vector<uint8_t>{'8', '9', 0, 0}));
  const abi::CallReply size = Send(handler, Request(abi::Call::kSize));
  EXPECT_EQ(size.value, 10u);
}

TEST_F(CallHandlerTest, RejectsUnknownCallNumbers) {
  CallHandler handler(devices_);
  const uint32_t past_last = static_cast<uint32_t>(abi::kLastCall) + 1;
  for (uint32_t call : {0u, past_last, 0x7fffffffu, 0xffffffffu}) {
    abi::CallRequest r{};
    r.call = call;
    EXPECT_EQ(handler.Check(r), abi::CallError::kBadCall) << call;
    EXPECT_EQ(handler.Handle(r, nullptr).error, Err(abi::CallError::kBadCall)) << call;
  }
}

// kProgress goes to the sink the backend was given, when its numbers make
// sense, and nowhere when there is none.
TEST_F(CallHandlerTest, ProgressReachesTheSinkAlone) {
  DeviceTable devices;
  std::vector<std::pair<uint64_t, uint64_t>> seen;
  CallHandler handler(devices,
                      [&seen](uint64_t done, uint64_t total) { seen.emplace_back(done, total); });
  EXPECT_EQ(Send(handler, Request(abi::Call::kProgress, 0, 5, 10)).error, 0);
  EXPECT_EQ(Send(handler, Request(abi::Call::kProgress, 0, 11, 10)).error, 0);  // ignored
  EXPECT_EQ(Send(handler, Request(abi::Call::kProgress, 0, 0, 0)).error, 0);    // ignored
  EXPECT_EQ(Send(handler, Request(abi::Call::kProgress, 0, 10, 10)).error, 0);
  EXPECT_EQ(seen, (std::vector<std::pair<uint64_t, uint64_t>>{{5, 10}, {10, 10}}));
  CallHandler silent(devices);
  EXPECT_EQ(Send(silent, Request(abi::Call::kProgress, 0, 5, 10)).error, 0);
}

TEST_F(CallHandlerTest, RejectsBadDeviceNumbers) {
  CallHandler handler(devices_);
  for (abi::Call call : {abi::Call::kRead, abi::Call::kSize, abi::Call::kFlush,
                         abi::Call::kSeekData, abi::Call::kSeekHole, abi::Call::kWrite}) {
    for (uint32_t device : {1u, 64u, 0xffffffffu}) {
      EXPECT_EQ(handler.Check(Request(call, device, 0, 1)), abi::CallError::kBadDevice);
    }
  }
}

TEST_F(CallHandlerTest, RejectsOverflowingAndOversizedRanges) {
  CallHandler handler(devices_);
  EXPECT_EQ(handler.Check(Request(abi::Call::kRead, 0, UINT64_MAX, 1)), abi::CallError::kBadRange);
  EXPECT_EQ(handler.Check(Request(abi::Call::kRead, 0, UINT64_MAX - 5, 10)),
            abi::CallError::kBadRange);
  EXPECT_EQ(handler.Check(Request(abi::Call::kRead, 0, 1ull << 63, 1)), abi::CallError::kBadRange);
  EXPECT_EQ(handler.Check(Request(abi::Call::kRead, 0, 0, abi::kMaxTransfer + 1)),
            abi::CallError::kBadRange);
  EXPECT_EQ(handler.Check(Request(abi::Call::kRead, 0, 0, UINT64_MAX)), abi::CallError::kBadRange);
  EXPECT_EQ(handler.Check(Request(abi::Call::kRead, 0, 0, abi::kMaxTransfer)), abi::CallError::kOk);
  EXPECT_EQ(handler.Check(Request(abi::Call::kLog, 0, 0, abi::kMaxLog + 1)),
            abi::CallError::kBadRange);
  EXPECT_EQ(handler.Check(Request(abi::Call::kAbort, 0, 0, UINT64_MAX)), abi::CallError::kBadRange);
  // Devices are read-only.
  EXPECT_EQ(handler.Check(Request(abi::Call::kWrite, 0, 0, 1)), abi::CallError::kDenied);
  EXPECT_EQ(handler.Check(Request(abi::Call::kWrite, 0, UINT64_MAX, 2)), abi::CallError::kBadRange);
}

TEST_F(CallHandlerTest, AcceptsOneEmitWithinTheLimit) {
  CallHandler handler(devices_);
  EXPECT_EQ(handler.Check(Request(abi::Call::kEmit, 0, 0, abi::kMaxResult + 1)),
            abi::CallError::kTooLarge);
  EXPECT_EQ(handler.Check(Request(abi::Call::kEmit, 0, 0, UINT64_MAX)), abi::CallError::kTooLarge);
  EXPECT_EQ(Send(handler, Request(abi::Call::kEmit, 0, 0, 3), Bytes("abc")).error, 0);
  EXPECT_TRUE(handler.emitted());
  EXPECT_EQ(handler.result(), Bytes("abc"));
  EXPECT_EQ(handler.Check(Request(abi::Call::kEmit, 0, 0, 3)), abi::CallError::kBadCall);
  EXPECT_EQ(handler.result(), Bytes("abc"));
}

TEST_F(CallHandlerTest, OpensNamesRelativeToTheImage) {
  CallHandler handler(devices_);
  const abi::CallReply reply =
      Send(handler, Request(abi::Call::kOpen, 0, 0, 10), Bytes("extent.raw"));
  ASSERT_EQ(reply.error, 0);
  EXPECT_EQ(reply.value, 1u);
  EXPECT_EQ(devices_.path(1), (dir_ / "extent.raw").string());
  EXPECT_EQ(Send(handler, Request(abi::Call::kSize, 1)).value, 3u);
}

// qemu opens a qcow2's data file by the name as given: from the working
// directory, not the image's.
TEST_F(CallHandlerTest, OpensNamesAsGivenFromTheWorkingDirectory) {
  CallHandler handler(devices_);
  const auto as_given = static_cast<uint64_t>(abi::OpenBase::kWorkingDirectory);
  // The working directory is not the image's: the name is not found there.
  ASSERT_NE(fs::current_path(), dir_);
  EXPECT_EQ(Send(handler, Request(abi::Call::kOpen, 0, as_given, 10), Bytes("extent.raw")).error,
            Err(abi::CallError::kNotFound));
  const std::string absolute = (dir_ / "extent.raw").string();
  const abi::CallReply reply =
      Send(handler, Request(abi::Call::kOpen, 0, as_given, absolute.size()), Bytes(absolute));
  ASSERT_EQ(reply.error, 0);
  EXPECT_EQ(devices_.path(reply.value), absolute);
  // No fourth base (the third, kOutput, finds only outputs: none here).
  EXPECT_EQ(handler.Check(Request(abi::Call::kOpen, 0, 3, 10)), abi::CallError::kBadRange);
  EXPECT_EQ(Send(handler, Request(abi::Call::kOpen, 0, 2, 10), Bytes("extent.raw")).error,
            static_cast<int32_t>(abi::CallError::kNotFound));
  // A file is opened for a root: the user's one image here, device 0. The
  // extent the guest opened above is no root, nor is a device not there.
  EXPECT_EQ(handler.Check(Request(abi::Call::kOpen, 1, 0, 10)), abi::CallError::kBadDevice);
  EXPECT_EQ(handler.Check(Request(abi::Call::kOpen, 63, 0, 10)), abi::CallError::kBadDevice);
}

TEST_F(CallHandlerTest, RefusesAbsurdNames) {
  CallHandler handler(devices_);
  EXPECT_EQ(handler.Check(Request(abi::Call::kOpen, 0, 0, 0)), abi::CallError::kBadRange);
  EXPECT_EQ(handler.Check(Request(abi::Call::kOpen, 0, 0, abi::kMaxName + 1)),
            abi::CallError::kBadRange);
  EXPECT_EQ(handler.Check(Request(abi::Call::kOpen, 0, 0, UINT64_MAX)), abi::CallError::kBadRange);
  std::vector<uint8_t> with_nul = Bytes("extent.raw");
  with_nul.insert(with_nul.begin() + 3, 0);
  EXPECT_EQ(Send(handler, Request(abi::Call::kOpen, 0, 0, with_nul.size()), with_nul).error,
            Err(abi::CallError::kDenied));
  EXPECT_EQ(Send(handler, Request(abi::Call::kOpen, 0, 0, 7), Bytes("missing")).error,
            Err(abi::CallError::kNotFound));
  // A directory, or a FIFO that would block a reader, is never an extent.
  EXPECT_EQ(Send(handler, Request(abi::Call::kOpen, 0, 0, 1), Bytes(".")).error,
            Err(abi::CallError::kDenied));
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0600), 0);
  EXPECT_EQ(Send(handler, Request(abi::Call::kOpen, 0, 0, 4), Bytes("fifo")).error,
            Err(abi::CallError::kDenied));
  EXPECT_EQ(devices_.count(), 1u);
}

TEST_F(CallHandlerTest, RefusesTooManyDevices) {
  CallHandler handler(devices_);
  for (uint32_t i = 1; i < abi::kMaxDevices; ++i) {
    ASSERT_EQ(Send(handler, Request(abi::Call::kOpen, 0, 0, 10), Bytes("extent.raw")).error, 0);
  }
  EXPECT_EQ(devices_.count(), abi::kMaxDevices);
  EXPECT_EQ(handler.Check(Request(abi::Call::kOpen, 0, 0, 10)), abi::CallError::kDenied);
}

TEST_F(CallHandlerTest, RefusesEverythingAfterExit) {
  CallHandler handler(devices_);
  Send(handler, Request(abi::Call::kExit, 0, 0, 0));
  EXPECT_TRUE(handler.exited());
  for (abi::Call call : {abi::Call::kRead, abi::Call::kSize, abi::Call::kEmit, abi::Call::kLog,
                         abi::Call::kExit, abi::Call::kOpen}) {
    EXPECT_EQ(handler.Check(Request(call, 0, 0, 1)), abi::CallError::kBadCall);
  }
  EXPECT_FALSE(handler.emitted());
}

TEST_F(CallHandlerTest, KeepsAbortAndLogTextPrintable) {
  CallHandler handler(devices_);
  Send(handler, Request(abi::Call::kLog, 0, 0, 6), Bytes("a\x1b[2Jb"));
  ASSERT_EQ(handler.log().size(), 1u);
  EXPECT_EQ(handler.log()[0], "a?[2Jb");
  Send(handler, Request(abi::Call::kAbort, 0, 0, 5), Bytes("boom\n"));
  EXPECT_TRUE(handler.aborted());
  EXPECT_EQ(handler.abort_message(), "boom");
  EXPECT_EQ(handler.Check(Request(abi::Call::kSize)), abi::CallError::kBadCall);
}

TEST(DeviceTableTest, ReportsOpenFailuresAsQemuDoes) {
  DeviceTable devices;
  std::string error;
  EXPECT_FALSE(devices.OpenPath("/nonexistent/instar-image", &error));
  EXPECT_EQ(error, "Could not open '/nonexistent/instar-image': No such file or directory");
  EXPECT_EQ(devices.count(), 0u);
  uint32_t device = 0;
  // Nothing to resolve a name against yet: there is no root.
  EXPECT_EQ(devices.OpenByName("x", abi::OpenBase::kImageDirectory, 0, &device),
            abi::CallError::kBadDevice);
}

// compare's two images are both roots; a name is resolved against the
// directory of the root it is opened for, and only a root may be named.
TEST(DeviceTableTest, ResolvesNamesAgainstTheirOwnRoot) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("instar-roots-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "a");
  std::filesystem::create_directories(dir / "b");
  for (const char* name : {"a/top", "b/top", "b/base"}) {
    std::ofstream(dir / name) << "x";
  }
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenPath((dir / "a/top").string(), &error)) << error;
  ASSERT_TRUE(devices.OpenPath((dir / "b/top").string(), &error)) << error;
  EXPECT_EQ(devices.roots(), 2u);
  uint32_t device = 0;
  // "base" is beside b/top, not a/top.
  EXPECT_EQ(devices.OpenByName("base", abi::OpenBase::kImageDirectory, 0, &device),
            abi::CallError::kNotFound);
  ASSERT_EQ(devices.OpenByName("base", abi::OpenBase::kImageDirectory, 1, &device),
            abi::CallError::kOk);
  EXPECT_EQ(device, 2u);
  EXPECT_EQ(devices.path(2), (dir / "b/base").string());
  EXPECT_EQ(devices.roots(), 2u);
  // A device the guest opened is no root.
  EXPECT_EQ(devices.OpenByName("top", abi::OpenBase::kImageDirectory, 2, &device),
            abi::CallError::kBadDevice);
  std::filesystem::remove_all(dir);
}

// A file with data at [0, 4096) and [1 MiB, 1 MiB + 4096), holes elsewhere
// (where the file system makes holes; tmpfs and ext4 do).
TEST_F(CallHandlerTest, ListsDataExtentsInOneCall) {
  const std::string sparse = (dir_ / "sparse.raw").string();
  {
    std::ofstream out(sparse, std::ios::binary);
    out << std::string(4096, 'a');
    out.seekp(1 << 20);
    out << std::string(4096, 'b');
  }
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenPath(sparse, &error)) << error;
  uint64_t probe = 0;
  ASSERT_EQ(devices.SeekHole(0, 0, &probe), abi::CallError::kOk);
  if (probe != 4096)
    GTEST_SKIP() << "this file system makes no holes (SEEK_HOLE gave " << probe << ")";
  CallHandler handler(devices);
  const abi::CallReply all = Send(handler, Request(abi::Call::kDataExtents, 0, 0, 64));
  ASSERT_EQ(all.error, 0);
  ASSERT_EQ(all.value, 2u);
  abi::DataExtent runs[4];
  std::memcpy(runs, last_payload_.data(), sizeof(runs));
  EXPECT_EQ(runs[0].start, 0u);
  EXPECT_EQ(runs[0].end, 4096u);
  EXPECT_EQ(runs[1].start, 1u << 20);
  EXPECT_EQ(runs[1].end, (1u << 20) + 4096);
  EXPECT_EQ(runs[2].start, 0u);  // the rest of the buffer is zeroed
  // From inside a run: the run from there. A full buffer: the first ones.
  const abi::CallReply from = Send(handler, Request(abi::Call::kDataExtents, 0, 100, 16));
  ASSERT_EQ(from.value, 1u);
  std::memcpy(runs, last_payload_.data(), sizeof(runs[0]));
  EXPECT_EQ(runs[0].start, 100u);
  EXPECT_EQ(runs[0].end, 4096u);
  const abi::CallReply past = Send(handler, Request(abi::Call::kDataExtents, 0, 2 << 20, 16));
  EXPECT_EQ(past.error, 0);
  EXPECT_EQ(past.value, 0u);
}

// Why: qcow2 allocates clusters with fallocate, which lseek reports as
// holes, so an estimate from the data extents said "preallocated" where
// qemu, reading st_blocks, did not (and measured a partly written large
// cluster smaller than qemu-img).
TEST_F(CallHandlerTest, AllocatedSizeIsStBlocksFallocatedRangesIncluded) {
  const std::string path = (dir_ / "fallocated.raw").string();
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string(4096, 'a');
  }
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenPath(path, &error)) << error;
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  if (::fallocate(fd, 0, 1 << 20, 1 << 20) != 0) {
    ::close(fd);
    GTEST_SKIP() << "this file system has no fallocate: " << std::strerror(errno);
  }
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  ::close(fd);
  ASSERT_GE(static_cast<uint64_t>(st.st_blocks) * 512, (1u << 20) + 4096);
  CallHandler handler(devices);
  const abi::CallReply reply = Send(handler, Request(abi::Call::kAllocatedSize));
  ASSERT_EQ(reply.error, 0);
  EXPECT_EQ(reply.value, static_cast<uint64_t>(st.st_blocks) * 512);
  EXPECT_EQ(Send(handler, Request(abi::Call::kAllocatedSize, 9)).error,
            Err(abi::CallError::kBadDevice));
}

TEST_F(CallHandlerTest, RefusesExtentBuffersOfTheWrongSize) {
  CallHandler handler(devices_);
  for (uint64_t length : {uint64_t{0}, uint64_t{15}, uint64_t{17}, abi::kMaxTransfer + 16}) {
    SCOPED_TRACE(length);
    EXPECT_EQ(Send(handler, Request(abi::Call::kDataExtents, 0, 0, length)).error,
              Err(abi::CallError::kBadRange));
  }
  EXPECT_EQ(Send(handler, Request(abi::Call::kDataExtents, 9, 0, 16)).error,
            Err(abi::CallError::kBadDevice));
  EXPECT_TRUE(CallHandler::PayloadIsOutput(Request(abi::Call::kDataExtents, 0, 0, 16)));
}

TEST(DeviceTableTest, SeeksLikeLseek) {
  const fs::path path = fs::temp_directory_path() / ("instar-seek-" + std::to_string(::getpid()));
  {
    std::ofstream out(path, std::ios::binary);
    out << "data";
  }
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenPath(path.string(), &error)) << error;
  uint64_t result = 0;
  EXPECT_EQ(devices.SeekData(0, 0, &result), abi::CallError::kOk);
  EXPECT_EQ(result, 0u);
  EXPECT_EQ(devices.SeekData(0, 4, &result), abi::CallError::kOk);
  EXPECT_EQ(result, abi::kNoData);
  EXPECT_EQ(devices.SeekData(0, UINT64_MAX, &result), abi::CallError::kOk);
  EXPECT_EQ(result, abi::kNoData);
  EXPECT_EQ(devices.SeekHole(0, 0, &result), abi::CallError::kOk);
  EXPECT_EQ(result, 4u);
  EXPECT_EQ(devices.SeekHole(0, 100, &result), abi::CallError::kOk);
  EXPECT_EQ(result, 100u);
  EXPECT_EQ(devices.Read(0, UINT64_MAX, nullptr, 2), abi::CallError::kBadRange);
  fs::remove(path);
}

}  // namespace
}  // namespace instar::vmm
