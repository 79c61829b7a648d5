// DeviceTable's audited open of the files a guest names (its kOpen): a
// regular file only, never in /proc, /sys or /dev whatever symlinks lead
// there, while the user may still name such a file.
#include "vmm/sandbox/device_table.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace instar::vmm {
namespace {

namespace fs = std::filesystem;

class GuestNamedOpenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("instar-audited-open-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    image_ = (dir_ / "image.vmdk").string();
    std::ofstream(image_) << "not parsed here";
    std::ofstream(dir_ / "extent.raw") << "extent";
    std::string error;
    ASSERT_TRUE(devices_.OpenPath(image_, &error)) << error;
  }
  void TearDown() override { fs::remove_all(dir_); }

  abi::CallError Open(const std::string& name) {
    uint32_t device = 0;
    return devices_.OpenByName(name, abi::OpenBase::kImageDirectory, /*root=*/0, &device);
  }

  fs::path dir_;
  std::string image_;
  DeviceTable devices_;
};

TEST_F(GuestNamedOpenTest, OpensARegularFileBesideTheImage) {
  EXPECT_EQ(Open("extent.raw"), abi::CallError::kOk);
  EXPECT_EQ(Open((dir_ / "extent.raw").string()), abi::CallError::kOk);
  // A symlink that stays out of the kernel's trees is followed, as qemu does.
  fs::create_symlink(dir_ / "extent.raw", dir_ / "link.raw");
  EXPECT_EQ(Open("link.raw"), abi::CallError::kOk);
  EXPECT_EQ(devices_.count(), 4u);
  EXPECT_EQ(Open("missing.raw"), abi::CallError::kNotFound);
}

TEST_F(GuestNamedOpenTest, NeverReachesProcSysOrDev) {
  for (const char* name : {"/proc/self/status", "/proc/self/fd/0", "/proc/self/exe",
                           "/sys/kernel/mm/transparent_hugepage/enabled", "/dev/zero", "/dev/null",
                           "../../../../../../../proc/self/environ"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(Open(name), abi::CallError::kDenied);
  }
  // Nor by a symlink the image's directory holds, nor through /proc's magic
  // links (refused by openat2's RESOLVE_NO_MAGICLINKS, which this kernel
  // has; where it lands, a regular file outside /proc, is not what is
  // checked here).
  fs::create_symlink("/proc/self/status", dir_ / "status.raw");
  fs::create_symlink("/dev/zero", dir_ / "zero.raw");
  fs::create_symlink("/proc/self/fd/" + std::to_string(devices_.fd(0)), dir_ / "fd.raw");
  fs::create_symlink("/proc/self/root" + (dir_ / "extent.raw").string(), dir_ / "root.raw");
  for (const char* name : {"status.raw", "zero.raw", "fd.raw", "root.raw"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(Open(name), abi::CallError::kDenied);
  }
  EXPECT_EQ(devices_.count(), 1u);
}

// instar-harness's scratch corpus lives in /dev/shm, a tmpfs of users'
// files: its backing files must open (conform_measure_* found this).
TEST_F(GuestNamedOpenTest, OpensARegularFileInDevShm) {
  if (!fs::is_directory("/dev/shm")) GTEST_SKIP() << "this machine has no /dev/shm";
  const fs::path shm = fs::path("/dev/shm") / ("instar-audited-open-" + std::to_string(::getpid()));
  std::ofstream(shm) << "backing";
  if (!fs::exists(shm)) GTEST_SKIP() << "/dev/shm is not writable here";
  EXPECT_EQ(Open(shm.string()), abi::CallError::kOk);
  fs::remove(shm);
  EXPECT_EQ(Open("/dev/shm"), abi::CallError::kDenied);
}

TEST_F(GuestNamedOpenTest, RefusesWhatIsNoRegularFile) {
  fs::create_directories(dir_ / "directory");
  EXPECT_EQ(Open("directory"), abi::CallError::kDenied);
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0600), 0);
  EXPECT_EQ(Open("fifo"), abi::CallError::kDenied);
  EXPECT_EQ(devices_.count(), 1u);
}

TEST(UserNamedOpenTest, TheUserMayNameADevice) {
  DeviceTable devices;
  std::string error;
  EXPECT_TRUE(devices.OpenPath("/dev/null", &error)) << error;
  EXPECT_EQ(devices.count(), 1u);
}

}  // namespace
}  // namespace instar::vmm
