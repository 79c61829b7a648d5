// The writable device (DeviceTable::OpenOutput) through the CallHandler,
// against hostile requests: writes to read-only devices, past the write
// limit, with overflowing ranges; and the output's life: a temporary name
// beside the target, renamed only by CommitOutput(), removed otherwise. The
// same for the other outputs of a format of several files
// (OpenSiblingOutput): only beside the target, all renamed or all removed,
// within one write limit summed over them.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vmm/sandbox/call_handler.h"
#include "vmm/sandbox/device_table.h"

namespace instar::vmm {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kLimit = 1 << 20;

class WritableDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("instar-writable-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    target_ = (dir_ / "new.img").string();
    backing_ = (dir_ / "backing.raw").string();
    std::ofstream(backing_, std::ios::binary) << "backing bytes";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The files in dir_ but the backing file.
  std::vector<std::string> Others() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      if (entry.path() != backing_) names.push_back(entry.path().filename().string());
    }
    return names;
  }

  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  abi::CallReply Send(CallHandler& handler, const abi::CallRequest& request,
                      std::vector<uint8_t> payload = {}) {
    const abi::CallError check = handler.Check(request);
    if (check != abi::CallError::kOk) return abi::CallReply{static_cast<int32_t>(check), 0, 0};
    payload.resize(static_cast<size_t>(CallHandler::PayloadLength(request)));
    return handler.Handle(request, payload.data());
  }

  fs::path dir_;
  std::string target_;
  std::string backing_;
};

constexpr int32_t Err(abi::CallError e) { return static_cast<int32_t>(e); }

TEST_F(WritableDeviceTest, TheOutputIsATemporaryFileBesideTheTarget) {
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenOutput(target_, kLimit, &error)) << error;
  const std::vector<std::string> names = Others();
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0].rfind(".new.img.instar-", 0), 0u) << names[0];
  EXPECT_EQ(fs::path(devices.output_temp_path()).parent_path(), dir_);
  EXPECT_FALSE(fs::exists(target_));
  EXPECT_EQ(devices.output_fds().size(), 1u);
  EXPECT_GE(devices.output_fds()[0], 0);
  // 0644 less the umask, as qemu creates images.
  struct stat st {};
  ASSERT_EQ(::stat(devices.output_temp_path().c_str(), &st), 0);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  EXPECT_EQ(st.st_mode & 0777, 0644u & ~mask);
}

TEST_F(WritableDeviceTest, WritesTruncatesAndCommits) {
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenOutput(target_, kLimit, &error)) << error;
  CallHandler handler(devices);
  const std::string text = "written";
  EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kWrite, 0, 4, text.size()),
                 std::vector<uint8_t>(text.begin(), text.end()))
                .error,
            0);
  EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kTruncate, 0, 16)).error, 0);
  EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kAllocate, 0, 16, 4096)).error, 0);
  EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kFlush, 0)).error, 0);
  const abi::CallReply size = Send(handler, abi::MakeRequest(abi::Call::kSize, 0));
  EXPECT_EQ(size.value, 16u + 4096u);
  ASSERT_TRUE(devices.CommitOutput(&error)) << error;
  EXPECT_EQ(Read(target_).substr(0, 12), std::string(4, '\0') + "written" + '\0');
  EXPECT_EQ(Others(), std::vector<std::string>{"new.img"});
}

// kZeroRange punches a hole: the range reads as zeros, holds no data
// (SEEK_DATA passes it), and the file keeps its length, also for a range
// past its end.
TEST_F(WritableDeviceTest, ZeroRangePunchesAHoleAndKeepsTheLength) {
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenOutput(target_, kLimit, &error)) << error;
  CallHandler handler(devices);
  const std::vector<uint8_t> data(3 << 16, 0xab);
  EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kWrite, 0, 0, data.size()), data).error, 0);
  EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kZeroRange, 0, 1 << 16, 1 << 16)).error, 0);
  EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kZeroRange, 0, 3 << 16, 1 << 18)).error, 0);
  EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kSize, 0)).value, uint64_t{3} << 16);
  EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kSeekHole, 0, 0)).value, 1u << 16);
  EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kSeekData, 0, 1 << 16)).value, 2u << 16);
  ASSERT_TRUE(devices.CommitOutput(&error)) << error;
  const std::string bytes = Read(target_);
  EXPECT_EQ(bytes, std::string(1 << 16, '\xab') + std::string(1 << 16, '\0') +
                       std::string(1 << 16, '\xab'));
}

TEST_F(WritableDeviceTest, CommitReplacesAnExistingTarget) {
  std::ofstream(target_, std::ios::binary) << "old contents";
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenOutput(target_, kLimit, &error)) << error;
  // Until the commit the old file is untouched.
  EXPECT_EQ(Read(target_), "old contents");
  ASSERT_TRUE(devices.CommitOutput(&error)) << error;
  EXPECT_EQ(Read(target_), "");
}

TEST_F(WritableDeviceTest, AFailedRunLeavesNothingAndTouchesNoExistingFile) {
  std::ofstream(target_, std::ios::binary) << "old contents";
  {
    DeviceTable devices;
    std::string error;
    ASSERT_TRUE(devices.OpenOutput(target_, kLimit, &error)) << error;
    CallHandler handler(devices);
    EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kWrite, 0, 0, 3), {1, 2, 3}).error, 0);
    // No commit: the table goes away as after a guest crash.
  }
  EXPECT_EQ(Read(target_), "old contents");
  EXPECT_EQ(Others(), std::vector<std::string>{"new.img"});
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenOutput(target_, kLimit, &error)) << error;
  devices.DiscardOutput();
  EXPECT_EQ(Others(), std::vector<std::string>{"new.img"});
  EXPECT_FALSE(devices.CommitOutput(&error));
}

TEST_F(WritableDeviceTest, ReadOnlyDevicesStayReadOnly) {
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenOutput(target_, kLimit, &error)) << error;
  uint32_t backing = 0;
  ASSERT_EQ(devices.OpenByName("backing.raw", abi::OpenBase::kImageDirectory, 0, &backing),
            abi::CallError::kOk);
  CallHandler handler(devices);
  EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kWrite, backing, 0, 1), {'X'}).error,
            Err(abi::CallError::kDenied));
  EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kTruncate, backing, 0)).error,
            Err(abi::CallError::kDenied));
  EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kAllocate, backing, 0, 4096)).error,
            Err(abi::CallError::kDenied));
  EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kZeroRange, backing, 0, 4096)).error,
            Err(abi::CallError::kDenied));
  // Flushing a read-only device is harmless and changes nothing.
  EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kFlush, backing)).error, 0);
  EXPECT_EQ(Read(backing_), "backing bytes");
  // And a table without an output has no writable device at all.
  DeviceTable read_only;
  ASSERT_TRUE(read_only.OpenPath(backing_, &error)) << error;
  CallHandler reader(read_only);
  EXPECT_EQ(reader.Check(abi::MakeRequest(abi::Call::kWrite, 0, 0, 1)), abi::CallError::kDenied);
  EXPECT_EQ(reader.Check(abi::MakeRequest(abi::Call::kTruncate, 0, 0)), abi::CallError::kDenied);
  EXPECT_EQ(reader.Check(abi::MakeRequest(abi::Call::kAllocate, 0, 0, 1)), abi::CallError::kDenied);
  EXPECT_EQ(reader.Check(abi::MakeRequest(abi::Call::kZeroRange, 0, 0, 1)),
            abi::CallError::kDenied);
}

TEST_F(WritableDeviceTest, HostileRangesAreRefused) {
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenOutput(target_, kLimit, &error)) << error;
  CallHandler handler(devices);
  using abi::Call;
  using abi::CallError;
  using abi::MakeRequest;
  // Overflow, past an off_t, past kMaxTransfer.
  EXPECT_EQ(handler.Check(MakeRequest(Call::kWrite, 0, UINT64_MAX, 1)), CallError::kBadRange);
  EXPECT_EQ(handler.Check(MakeRequest(Call::kWrite, 0, UINT64_MAX - 5, 10)), CallError::kBadRange);
  EXPECT_EQ(handler.Check(MakeRequest(Call::kWrite, 0, 1ull << 63, 1)), CallError::kBadRange);
  EXPECT_EQ(handler.Check(MakeRequest(Call::kWrite, 0, 0, abi::kMaxTransfer + 1)),
            CallError::kBadRange);
  EXPECT_EQ(handler.Check(MakeRequest(Call::kAllocate, 0, UINT64_MAX, 2)), CallError::kBadRange);
  EXPECT_EQ(handler.Check(MakeRequest(Call::kAllocate, 0, 1ull << 62, 1ull << 62)),
            CallError::kBadRange);
  // The write limit: up to it, and not a byte past it.
  EXPECT_EQ(handler.Check(MakeRequest(Call::kWrite, 0, kLimit - 1, 1)), CallError::kOk);
  EXPECT_EQ(handler.Check(MakeRequest(Call::kWrite, 0, kLimit, 1)), CallError::kBadRange);
  EXPECT_EQ(handler.Check(MakeRequest(Call::kWrite, 0, kLimit - 1, 2)), CallError::kBadRange);
  EXPECT_EQ(handler.Check(MakeRequest(Call::kTruncate, 0, kLimit)), CallError::kOk);
  EXPECT_EQ(handler.Check(MakeRequest(Call::kTruncate, 0, kLimit + 1)), CallError::kBadRange);
  EXPECT_EQ(handler.Check(MakeRequest(Call::kTruncate, 0, UINT64_MAX)), CallError::kBadRange);
  EXPECT_EQ(handler.Check(MakeRequest(Call::kAllocate, 0, 0, kLimit + 1)), CallError::kBadRange);
  EXPECT_EQ(handler.Check(MakeRequest(Call::kZeroRange, 0, UINT64_MAX, 2)), CallError::kBadRange);
  EXPECT_EQ(handler.Check(MakeRequest(Call::kZeroRange, 0, 0, kLimit + 1)), CallError::kBadRange);
  // Handle() checks again, and nothing lands.
  std::vector<uint8_t> byte(1, 'X');
  EXPECT_EQ(handler.Handle(MakeRequest(Call::kWrite, 0, kLimit, 1), byte.data()).error,
            Err(CallError::kBadRange));
  EXPECT_EQ(handler.Handle(MakeRequest(Call::kTruncate, 0, kLimit + 1), nullptr).error,
            Err(CallError::kBadRange));
  EXPECT_EQ(fs::file_size(devices.output_temp_path()), 0u);
  // An unknown device.
  EXPECT_EQ(handler.Check(MakeRequest(Call::kWrite, 7, 0, 1)), CallError::kBadDevice);
  EXPECT_EQ(handler.Check(MakeRequest(Call::kTruncate, 7, 0)), CallError::kBadDevice);
}

TEST_F(WritableDeviceTest, TheOutputMustBeTheFirstDevice) {
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenPath(backing_, &error)) << error;
  EXPECT_FALSE(devices.OpenOutput(target_, kLimit, &error));
  EXPECT_EQ(Others(), std::vector<std::string>{});
}

TEST_F(WritableDeviceTest, AnUncreatableTargetIsQemusError) {
  DeviceTable devices;
  std::string error;
  EXPECT_FALSE(devices.OpenOutput((dir_ / "missing" / "new.img").string(), kLimit, &error));
  EXPECT_EQ(error, "Could not create '" + (dir_ / "missing" / "new.img").string() +
                       "': No such file or directory");
  EXPECT_FALSE(devices.OpenOutput("", kLimit, &error));
  EXPECT_EQ(error, "Could not create '': No such file or directory");
}

// resize and amend: the image itself, opened read-write in place.
TEST_F(WritableDeviceTest, InPlaceWritesTheImageItselfWithinTheLimit) {
  std::ofstream(target_, std::ios::binary) << "old contents";
  {
    DeviceTable devices;
    std::string error;
    ASSERT_TRUE(devices.OpenInPlace(target_, kLimit, &error)) << error;
    ASSERT_EQ(devices.output_fds().size(), 1u);
    EXPECT_TRUE(devices.Writable(0));
    CallHandler handler(devices);
    // It reads as it is: no temporary copy.
    EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kSize, 0)).value, 12u);
    EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kWrite, 0, 0, 3), {'n', 'e', 'w'}).error,
              0);
    EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kWrite, 0, kLimit, 1), {'X'}).error,
              Err(abi::CallError::kBadRange));
    EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kTruncate, 0, kLimit + 1)).error,
              Err(abi::CallError::kBadRange));
    EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kAllocate, 0, 0, kLimit + 1)).error,
              Err(abi::CallError::kBadRange));
    // Nothing to commit or discard: the table goes away and the file stays.
    devices.DiscardOutput();
  }
  EXPECT_EQ(Read(target_), "new contents");
  EXPECT_EQ(Others(), std::vector<std::string>{"new.img"});
}

// convert -n into an image of several files: a file beside the image
// written in place (OpenSiblingInPlace) is written in place too, reached by
// its name or as an output; a missing one opens nothing; a name that
// leaves the directory is refused; only beside an image written in place.
TEST_F(WritableDeviceTest, ASiblingInPlaceIsWrittenInPlace) {
  std::ofstream(target_, std::ios::binary) << "descriptor";
  const std::string extent = (dir_ / "new-flat.img").string();
  std::ofstream(extent, std::ios::binary) << "old extent";
  {
    DeviceTable devices;
    std::string error;
    EXPECT_FALSE(devices.OpenSiblingInPlace("new-flat.img", &error));  // no image yet
    ASSERT_TRUE(devices.OpenInPlace(target_, kLimit, &error)) << error;
    bool found = true;
    ASSERT_TRUE(devices.OpenSiblingInPlace("absent-flat.img", &error, &found)) << error;
    EXPECT_FALSE(found);
    EXPECT_EQ(devices.count(), 1u);
    EXPECT_FALSE(devices.OpenSiblingInPlace("../new-flat.img", &error));
    ASSERT_TRUE(devices.OpenSiblingInPlace("new-flat.img", &error, &found)) << error;
    EXPECT_TRUE(found);
    ASSERT_EQ(devices.count(), 2u);
    EXPECT_EQ(devices.roots(), 1u);
    EXPECT_EQ(devices.output_fds().size(), 2u);
    EXPECT_TRUE(devices.Writable(1));
    uint32_t by_name = 0;
    uint32_t as_output = 0;
    ASSERT_EQ(devices.OpenByName("new-flat.img", abi::OpenBase::kImageDirectory, 0, &by_name),
              abi::CallError::kOk);
    ASSERT_EQ(devices.OpenByName("new-flat.img", abi::OpenBase::kOutput, 0, &as_output),
              abi::CallError::kOk);
    EXPECT_EQ(by_name, 1u);
    EXPECT_EQ(as_output, 1u);
    CallHandler handler(devices);
    EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kWrite, 1, 0, 3), {'n', 'e', 'w'}).error,
              0);
    devices.DiscardOutput();
  }
  EXPECT_EQ(Read(extent), "new extent");
  EXPECT_EQ(Read(target_), "descriptor");
}

TEST_F(WritableDeviceTest, InPlaceRefusesWhatQemuCannotOpen) {
  DeviceTable devices;
  std::string error;
  EXPECT_FALSE(devices.OpenInPlace(target_, kLimit, &error));
  EXPECT_EQ(error, "Could not open '" + target_ + "': No such file or directory");
  EXPECT_FALSE(devices.OpenInPlace(dir_.string(), kLimit, &error));
  EXPECT_EQ(error, "Could not open '" + dir_.string() + "': Is a directory");
  // Never a character device, even one the user names.
  EXPECT_FALSE(devices.OpenInPlace("/dev/null", kLimit, &error));
  EXPECT_EQ(devices.count(), 0u);
  // And only as the first device.
  ASSERT_TRUE(devices.OpenPath(backing_, &error)) << error;
  EXPECT_FALSE(devices.OpenInPlace(backing_, kLimit, &error));
  EXPECT_FALSE(devices.Writable(0));
}

// A vmdk monolithicFlat: the descriptor (device 0) and its extent beside
// it, made before the run after every root, reached by the guest by name,
// and renamed together.
TEST_F(WritableDeviceTest, SiblingOutputsAreCommittedTogether) {
  const std::string extent = (dir_ / "new-flat.img").string();
  std::ofstream(extent, std::ios::binary) << "old extent";
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenOutput(target_, kLimit, &error)) << error;
  ASSERT_TRUE(devices.OpenPath(backing_, &error)) << error;  // a source: a root
  ASSERT_TRUE(devices.OpenSiblingOutput("new-flat.img", &error)) << error;
  EXPECT_EQ(devices.roots(), 2u);
  EXPECT_EQ(devices.count(), 3u);
  EXPECT_EQ(devices.output_fds().size(), 2u);
  EXPECT_TRUE(devices.Writable(2));
  EXPECT_FALSE(devices.Writable(1));
  size_t temporaries = 0;
  for (const std::string& name : Others()) {
    temporaries +=
        name.rfind(".new.img.instar-", 0) == 0 || name.rfind(".new-flat.img.instar-", 0) == 0;
  }
  EXPECT_EQ(temporaries, 2u);
  CallHandler handler(devices);
  const std::string name = "new-flat.img";
  const std::vector<uint8_t> name_bytes(name.begin(), name.end());
  const abi::CallReply opened =
      Send(handler,
           abi::MakeRequest(abi::Call::kOpen, 0, static_cast<uint64_t>(abi::OpenBase::kOutput),
                            name.size()),
           name_bytes);
  ASSERT_EQ(opened.error, 0);
  EXPECT_EQ(opened.value, 2u);
  // A reader of the image opening the extent by its name gets the output,
  // not the file at the target now.
  uint32_t read_back = 0;
  ASSERT_EQ(devices.OpenByName(name, abi::OpenBase::kImageDirectory, 0, &read_back),
            abi::CallError::kOk);
  EXPECT_EQ(read_back, 2u);
  EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kWrite, 2, 0, 3), {'e', 'x', 't'}).error, 0);
  EXPECT_EQ(Send(handler, abi::MakeRequest(abi::Call::kWrite, 0, 0, 3), {'d', 'e', 's'}).error, 0);
  EXPECT_EQ(Read(extent), "old extent");
  ASSERT_TRUE(devices.CommitOutput(&error)) << error;
  EXPECT_EQ(Read(target_), "des");
  EXPECT_EQ(Read(extent), "ext");
  std::vector<std::string> names = Others();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"new-flat.img", "new.img"}));
}

// An output the guest never opened (a monolithicFlat of size 0 has no
// extent) is removed at the commit; a file already at its target stays.
TEST_F(WritableDeviceTest, AnUnusedSiblingIsRemovedAtTheCommit) {
  const std::string extent = (dir_ / "new-flat.img").string();
  std::ofstream(extent, std::ios::binary) << "old extent";
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenOutput(target_, kLimit, &error)) << error;
  ASSERT_TRUE(devices.OpenSiblingOutput("new-flat.img", &error)) << error;
  ASSERT_TRUE(devices.CommitOutput(&error)) << error;
  EXPECT_EQ(Read(extent), "old extent");
  std::vector<std::string> names = Others();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"new-flat.img", "new.img"}));
}

// A failure, the table's end, or a termination signal removes every
// output's temporary file and touches no target.
TEST_F(WritableDeviceTest, AFailureRemovesEveryOutput) {
  std::ofstream(target_, std::ios::binary) << "old contents";
  {
    DeviceTable devices;
    std::string error;
    ASSERT_TRUE(devices.OpenOutput(target_, kLimit, &error)) << error;
    ASSERT_TRUE(devices.OpenSiblingOutput("new-flat.img", &error)) << error;
    EXPECT_EQ(Others().size(), 3u);
    devices.DiscardOutput();
    EXPECT_EQ(Others(), std::vector<std::string>{"new.img"});
    EXPECT_FALSE(devices.CommitOutput(&error));
  }
  {
    DeviceTable devices;
    std::string error;
    ASSERT_TRUE(devices.OpenOutput(target_, kLimit, &error)) << error;
    ASSERT_TRUE(devices.OpenSiblingOutput("new-flat.img", &error)) << error;
    // The table goes away as after a guest crash.
  }
  EXPECT_EQ(Others(), std::vector<std::string>{"new.img"});
  EXPECT_EQ(Read(target_), "old contents");
  // SIGTERM in the middle of a run: the handler removes both.
  const pid_t pid = ::fork();
  if (pid == 0) {
    DeviceTable devices;
    std::string error;
    if (!devices.OpenOutput(target_, kLimit, &error) ||
        !devices.OpenSiblingOutput("new-flat.img", &error)) {
      ::_exit(1);
    }
    ::raise(SIGTERM);
    ::_exit(2);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
  EXPECT_EQ(Others(), std::vector<std::string>{"new.img"});
  EXPECT_EQ(Read(target_), "old contents");
}

// A sibling is a file name in the target's directory, never a path out of
// it; the guest reaches no file by kOutput that the host did not create.
TEST_F(WritableDeviceTest, ASiblingLeavesNotTheTargetsDirectory) {
  DeviceTable devices;
  std::string error;
  EXPECT_FALSE(devices.OpenSiblingOutput("new-flat.img", &error));  // no output yet
  ASSERT_TRUE(devices.OpenOutput(target_, kLimit, &error)) << error;
  const std::vector<std::string> kOutside = {"../escaped.img",
                                             "sub/new-flat.img",
                                             "/tmp/new-flat.img",
                                             ".",
                                             "..",
                                             "",
                                             std::string("nul\0byte", 8),
                                             std::string(300, 'n')};
  for (const std::string& name : kOutside) {
    SCOPED_TRACE(name);
    EXPECT_FALSE(devices.OpenSiblingOutput(name, &error));
  }
  EXPECT_FALSE(devices.OpenSiblingOutput("new.img", &error));  // the target itself
  EXPECT_EQ(devices.output_fds().size(), 1u);
  EXPECT_EQ(Others().size(), 1u);
  EXPECT_FALSE(fs::exists(dir_.parent_path() / "escaped.img"));
  uint32_t device = 0;
  EXPECT_EQ(devices.OpenByName("backing.raw", abi::OpenBase::kOutput, 0, &device),
            abi::CallError::kNotFound);
  EXPECT_EQ(devices.OpenByName("../new-flat.img", abi::OpenBase::kOutput, 0, &device),
            abi::CallError::kNotFound);
  EXPECT_EQ(devices.count(), 1u);
  ASSERT_TRUE(devices.OpenSiblingOutput("new-flat.img", &error)) << error;
  EXPECT_FALSE(devices.OpenSiblingOutput("new-flat.img", &error));  // once
  // kMaxOutputs in all.
  for (size_t i = 2; i < DeviceTable::kMaxOutputs; ++i) {
    ASSERT_TRUE(devices.OpenSiblingOutput("s" + std::to_string(i), &error)) << error;
  }
  EXPECT_FALSE(devices.OpenSiblingOutput("one-more", &error));
  devices.DiscardOutput();
  EXPECT_EQ(Others(), std::vector<std::string>{});
}

// One write limit for all the outputs: each counts as far as it was
// written, truncated or fallocated.
TEST_F(WritableDeviceTest, TheWriteLimitBoundsTheOutputsSummed) {
  DeviceTable devices;
  std::string error;
  ASSERT_TRUE(devices.OpenOutput(target_, kLimit, &error)) << error;
  ASSERT_TRUE(devices.OpenSiblingOutput("new-flat.img", &error)) << error;
  CallHandler handler(devices);
  using abi::Call;
  using abi::CallError;
  using abi::MakeRequest;
  EXPECT_EQ(Send(handler, MakeRequest(Call::kTruncate, 1, kLimit / 2)).error, 0);
  EXPECT_EQ(handler.Check(MakeRequest(Call::kTruncate, 0, kLimit / 2)), CallError::kOk);
  EXPECT_EQ(handler.Check(MakeRequest(Call::kTruncate, 0, kLimit / 2 + 1)), CallError::kBadRange);
  EXPECT_EQ(handler.Check(MakeRequest(Call::kWrite, 0, kLimit / 2 - 1, 1)), CallError::kOk);
  EXPECT_EQ(handler.Check(MakeRequest(Call::kWrite, 0, kLimit / 2 - 1, 2)), CallError::kBadRange);
  EXPECT_EQ(handler.Check(MakeRequest(Call::kAllocate, 0, 0, kLimit / 2 + 1)),
            CallError::kBadRange);
  // Within what the extent already reached, it may be written again.
  EXPECT_EQ(handler.Check(MakeRequest(Call::kWrite, 1, 0, 4096)), CallError::kOk);
  devices.DiscardOutput();
}

}  // namespace
}  // namespace instar::vmm
