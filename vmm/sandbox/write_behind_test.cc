// WriteBehind, and DeviceTable's output through it: the writes land in the
// order they were posted, from copies (the caller's buffer is free at
// once) or from lent memory (free once the write is waited for, which the
// CallHandler does before it answers the guest's next call), the table
// waits for them before anything else looks at the output, and a write
// that failed fails the commit.
#include "vmm/sandbox/write_behind.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "vmm/sandbox/call_handler.h"
#include "vmm/sandbox/device_table.h"

namespace instar::vmm {
namespace {

namespace fs = std::filesystem;

class WriteBehindTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("instar-write-behind-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    path_ = (dir_ / "out.img").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Contents(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(WriteBehindTest, WritesLandInOrderFromCopies) {
  const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  {
    WriteBehind writes;
    std::vector<uint8_t> buffer(4096);
    // Each write overwrites most of the one before: only the order of
    // the writes makes the last byte of every position right.
    for (int i = 0; i < 64; ++i) {
      std::fill(buffer.begin(), buffer.end(), static_cast<uint8_t>('a' + i % 26));
      uint64_t ticket = 0;
      ASSERT_EQ(writes.Post(fd, static_cast<uint64_t>(i) * 16, buffer.data(), buffer.size(), false,
                            &ticket),
                abi::CallError::kOk);
      EXPECT_EQ(ticket, static_cast<uint64_t>(i) + 1);
      // The caller's buffer is its own again as soon as Post returns.
      std::fill(buffer.begin(), buffer.end(), '!');
    }
    EXPECT_EQ(writes.Drain(), abi::CallError::kOk);
  }
  ::close(fd);
  const std::string file = Contents(path_);
  ASSERT_EQ(file.size(), 63u * 16 + 4096);
  for (size_t at = 0; at < file.size(); ++at) {
    const size_t last = std::min<size_t>(at / 16, 63);
    ASSERT_EQ(file[at], static_cast<char>('a' + last % 26)) << "at " << at;
  }
}

TEST_F(WriteBehindTest, AFailedWriteIsReportedByDrainAndEveryPostAfter) {
  std::ofstream(path_) << "read-only";
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  WriteBehind writes;
  const uint8_t byte = 1;
  uint64_t ticket = 0;
  // Answered before it is done: the failure shows at the next wait.
  EXPECT_EQ(writes.Post(fd, 0, &byte, 1, false, &ticket), abi::CallError::kOk);
  EXPECT_EQ(writes.Drain(), abi::CallError::kIOError);
  EXPECT_EQ(writes.Post(fd, 0, &byte, 1, true, &ticket), abi::CallError::kIOError);
  EXPECT_EQ(writes.Drain(), abi::CallError::kIOError);
  ::close(fd);
}

TEST_F(WriteBehindTest, ALentWriteIsWrittenFromTheLentMemoryOnceWaitedFor) {
  const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> lent(1 << 20, 'L');
  {
    WriteBehind writes;
    uint64_t ticket = 0;
    ASSERT_EQ(writes.Post(fd, 0, lent.data(), lent.size(), true, &ticket), abi::CallError::kOk);
    writes.WaitFor(ticket);
    // Written: the memory is the caller's again.
    std::fill(lent.begin(), lent.end(), '!');
    EXPECT_EQ(writes.Drain(), abi::CallError::kOk);
  }
  ::close(fd);
  EXPECT_EQ(Contents(path_), std::string(1 << 20, 'L'));
}

// The guest's side of abi::kCallLent: the host reads a lent write's memory
// until it answers the guest's next call that is not a kRead, whether it
// serves that call or refuses it, and a backend's run that ends leaves no
// lent write reading.
TEST_F(WriteBehindTest, ALentWriteIsDoneWhenTheNextCallIsAnswered) {
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenOutput(path_, 4 << 20, &error)) << error;
  const std::string source = (dir_ / "source.raw").string();
  std::ofstream(source, std::ios::binary) << "src!";
  ASSERT_TRUE(devices.OpenPath(source, &error)) << error;
  CallHandler handler(devices);
  std::vector<uint8_t> guest(1 << 20);
  const auto lend = [&](uint64_t offset, uint8_t fill) {
    std::fill(guest.begin(), guest.end(), fill);
    const abi::CallRequest write =
        abi::MakeRequest(abi::Call::kWrite, 0, offset, guest.size(), 0, abi::kCallLent);
    ASSERT_EQ(handler.Check(write), abi::CallError::kOk);
    ASSERT_EQ(handler.Handle(write, guest.data()).error, 0);
    EXPECT_NE(devices.lent_write(), 0u);
  };
  const std::string line = "next";
  std::vector<uint8_t> text(line.begin(), line.end());

  lend(0, 'a');
  // A read (of the source, device 1) runs beside the lent write.
  const uint64_t first = devices.lent_write();
  std::vector<uint8_t> read(4);
  ASSERT_EQ(
      handler.Handle(abi::MakeRequest(abi::Call::kRead, 1, 0, read.size()), read.data()).error, 0);
  EXPECT_EQ(read, (std::vector<uint8_t>{'s', 'r', 'c', '!'}));
  EXPECT_EQ(devices.lent_write(), first);
  ASSERT_EQ(handler.Handle(abi::MakeRequest(abi::Call::kLog, 0, 0, text.size()), text.data()).error,
            0);
  EXPECT_EQ(devices.lent_write(), 0u);
  lend(1 << 20, 'b');
  EXPECT_EQ(handler.Refuse(abi::CallError::kBadBuffer).error,
            static_cast<int32_t>(abi::CallError::kBadBuffer));
  EXPECT_EQ(devices.lent_write(), 0u);
  lend(2 << 20, 'c');
  { LentWritesReleased released(devices); }
  EXPECT_EQ(devices.lent_write(), 0u);
  std::fill(guest.begin(), guest.end(), '!');

  ASSERT_TRUE(devices.CommitOutput(&error)) << error;
  EXPECT_EQ(Contents(path_),
            std::string(1 << 20, 'a') + std::string(1 << 20, 'b') + std::string(1 << 20, 'c'));
}

// A flag on any call but kWrite, or another flag on it, is a bad call.
TEST_F(WriteBehindTest, OnlyAWriteMayBeLent) {
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenOutput(path_, 1 << 20, &error)) << error;
  CallHandler handler(devices);
  EXPECT_EQ(handler.Check(abi::MakeRequest(abi::Call::kWrite, 0, 0, 1, 0, abi::kCallLent)),
            abi::CallError::kOk);
  EXPECT_EQ(handler.Check(abi::MakeRequest(abi::Call::kWrite, 0, 0, 1, 0, 2)),
            abi::CallError::kBadCall);
  EXPECT_EQ(handler.Check(abi::MakeRequest(abi::Call::kRead, 0, 0, 1, 0, abi::kCallLent)),
            abi::CallError::kBadCall);
  EXPECT_EQ(handler.Check(abi::MakeRequest(abi::Call::kSize, 0, 0, 0, 0, abi::kCallLent)),
            abi::CallError::kBadCall);
  devices.DiscardOutput();
}

TEST_F(WriteBehindTest, TheOutputReadsBackWhatWasJustWritten) {
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenOutput(path_, 1 << 20, &error)) << error;
  std::vector<uint8_t> data(256 << 10, 0x5a);
  ASSERT_EQ(devices.Write(0, 4096, data.data(), data.size()), abi::CallError::kOk);
  uint64_t size = 0;
  ASSERT_EQ(devices.Size(0, &size), abi::CallError::kOk);
  EXPECT_EQ(size, 4096 + data.size());
  std::vector<uint8_t> back(data.size());
  ASSERT_EQ(devices.Read(0, 4096, back.data(), back.size()), abi::CallError::kOk);
  EXPECT_EQ(back, data);
  ASSERT_TRUE(devices.CommitOutput(&error)) << error;
  EXPECT_EQ(Contents(path_).size(), 4096 + data.size());
}

TEST_F(WriteBehindTest, AWriteThatFailedFailsTheCommitAndLeavesNothing) {
  // A file size limit makes the write past it fail (EFBIG; SIGXFSZ is
  // ignored here and blocked on the writer's thread).
  struct sigaction ignore {};
  struct sigaction saved {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGXFSZ, &ignore, &saved);
  struct rlimit old_limit {};
  ::getrlimit(RLIMIT_FSIZE, &old_limit);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 8192;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);

  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenOutput(path_, 1 << 20, &error)) << error;
  std::vector<uint8_t> data(4096, 1);
  EXPECT_EQ(devices.Write(0, 1 << 20, data.data(), data.size()), abi::CallError::kOk);
  EXPECT_FALSE(devices.CommitOutput(&error));
  EXPECT_EQ(error, "Could not write '" + path_ + "': Input/output error");

  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ::sigaction(SIGXFSZ, &saved, nullptr);
  EXPECT_FALSE(fs::exists(path_));
  EXPECT_TRUE(fs::is_empty(dir_));
}

// A truncation to the size the output has already is not made (on ext4
// one to 0 bytes would have the file's close flush all that was written
// to it): the file's times stay, where ftruncate(2) would set them.
TEST_F(WriteBehindTest, ATruncationToTheSizeTheOutputHasIsNotMade) {
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenOutput(path_, 1 << 20, &error)) << error;
  const std::string temp = devices.output_temp_path();
  const auto changed = [&temp] {
    struct stat st {};
    EXPECT_EQ(::stat(temp.c_str(), &st), 0);
    return std::pair(st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
  };
  for (const uint64_t size : {uint64_t{0}, uint64_t{4096}}) {
    SCOPED_TRACE(size);
    ASSERT_EQ(devices.Truncate(0, size), abi::CallError::kOk);
    const auto before = changed();
    ::usleep(20000);  // past the file system's clock tick
    ASSERT_EQ(devices.Truncate(0, size), abi::CallError::kOk);
    EXPECT_EQ(changed(), before);
    EXPECT_EQ(fs::file_size(temp), size);
  }
  devices.DiscardOutput();
}

}  // namespace
}  // namespace instar::vmm
