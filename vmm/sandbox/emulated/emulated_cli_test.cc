// The `instar` binary end to end on the emulated backend: the real flat
// image, run on Unicorn, must print what qemu-img prints and exactly what the
// process backend prints; a misbehaving guest (the test guest, through
// $INSTAR_GUEST_IMAGE) must end with its exit code and one line.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vmm/sandbox/backends.h"
#include "vmm/sandbox/exit_codes.h"
#include "vmm/testing/subprocess.h"

namespace instar::vmm {
namespace {

namespace fs = std::filesystem;
using testing::ProgramResult;

const fs::path kImages = fs::path(INSTAR_SOURCE_ROOT) / "cases" / "images";

ProgramResult Instar(const std::string& sandbox, std::vector<std::string> args) {
  args.insert(args.begin(), {INSTAR_BINARY_PATH, "--sandbox=" + sandbox});
  return testing::RunProgram(args);
}

size_t Lines(const std::string& text) {
  size_t lines = 0;
  for (char c : text) lines += c == '\n' ? 1 : 0;
  return lines;
}

// Sets an environment variable for the children of one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

// The corpus images stored uncompressed (the .xz ones need unpacking first).
std::vector<fs::path> CorpusImages() {
  std::vector<fs::path> images;
  for (const fs::directory_entry& entry : fs::directory_iterator(kImages)) {
    const std::string ext = entry.path().extension().string();
    if (ext == ".qcow2" || ext == ".vmdk" || ext == ".vhd" || ext == ".raw") {
      images.push_back(entry.path());
    }
  }
  std::sort(images.begin(), images.end());
  return images;
}

// qemu-img measure --size 1G -O qcow2, as printed by the system qemu-img
// 7.2.22 and by qemu-img-binaries/x86_64/{5.2.0,7.2.22,11.1.3}/qemu-img.
TEST(EmulatedCliTest, MeasureSizePrintsWhatQemuImgPrints) {
  const ProgramResult r = Instar("emulated", {"measure", "--size", "1G", "-O", "qcow2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "required size: 393216\nfully allocated size: 1074135040\n");
  EXPECT_EQ(r.err, "");
}

TEST(EmulatedCliTest, InfoJsonEqualsTheProcessBackend) {
  const std::vector<fs::path> images = CorpusImages();
  ASSERT_FALSE(images.empty());
  size_t qcow2 = 0;
  for (const fs::path& image : images) {
    SCOPED_TRACE(image.filename().string());
    qcow2 += image.extension() == ".qcow2" ? 1 : 0;
    const ProgramResult emulated = Instar("emulated", {"info", "--output=json", image.string()});
    const ProgramResult process = Instar("process", {"info", "--output=json", image.string()});
    EXPECT_EQ(emulated.exit_code, process.exit_code) << emulated.err;
    EXPECT_EQ(emulated.out, process.out);
    EXPECT_EQ(emulated.err, process.err);
    EXPECT_FALSE(emulated.out.empty());
  }
  EXPECT_GT(qcow2, 0u);
}

TEST(EmulatedCliTest, MeasureOfAnImageEqualsTheProcessBackend) {
  for (const fs::path& image : CorpusImages()) {
    SCOPED_TRACE(image.filename().string());
    const std::vector<std::string> args = {"measure", "--output=json", "-O", "qcow2",
                                           image.string()};
    const ProgramResult emulated = Instar("emulated", args);
    const ProgramResult process = Instar("process", args);
    EXPECT_EQ(emulated.exit_code, process.exit_code) << emulated.err;
    EXPECT_EQ(emulated.out, process.out);
    EXPECT_EQ(emulated.err, process.err);
  }
}

TEST(EmulatedCliTest, KvmWithoutDevKvmFailsWithOneLine) {
  if (KvmUsable()) GTEST_SKIP() << "/dev/kvm is usable here, so --sandbox=kvm runs";
  const ProgramResult r = Instar("kvm", {"measure", "--size", "1G", "-O", "qcow2"});
  EXPECT_EQ(r.exit_code, kExitSandboxUnavailable);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(Lines(r.err), 1u) << r.err;
  EXPECT_EQ(r.err.rfind("instar: cannot use the kvm sandbox: /dev/kvm: ", 0), 0u) << r.err;
}

TEST(EmulatedCliTest, AMissingGuestImageFailsWithOneLine) {
  ScopedEnv image("INSTAR_GUEST_IMAGE", "/nonexistent/instar-guest.bin");
  const ProgramResult r = Instar("emulated", {"measure", "--size", "1G", "-O", "qcow2"});
  EXPECT_EQ(r.exit_code, kExitSandboxUnavailable);
  EXPECT_EQ(Lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("cannot open the guest image '/nonexistent/instar-guest.bin'"),
            std::string::npos)
      << r.err;
}

// The test guest picks its misbehaviour from the image's file name.
TEST(EmulatedCliTest, AMisbehavingGuestEndsWithItsExitCode) {
  ScopedEnv image("INSTAR_GUEST_IMAGE", INSTAR_TEST_GUEST_IMAGE);
  const fs::path dir =
      fs::temp_directory_path() / ("instar-emulated-cli-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const struct {
    const char* name;
    ExitCode exit;
    const char* message_part;
  } cases[] = {
      {"null-write", kExitGuestCrash, "the sandbox guest crashed: page fault"},
      {"invalid-opcode", kExitGuestCrash, "the sandbox guest crashed: invalid opcode"},
      {"stack-overflow", kExitGuestCrash, "the sandbox guest crashed: page fault"},
      {"abort", kExitGuestCrash, "the sandbox guest aborted: test guest: aborting on request"},
      {"halt", kExitBadResult, "halted"},
      {"other-port", kExitBadResult, "port 0x80"},
      {"exit-without-emit", kExitBadResult, "without a result"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const fs::path file = dir / c.name;
    std::ofstream(file).close();
    ASSERT_TRUE(fs::exists(file));
    const ProgramResult r = Instar("emulated", {"info", file.string()});
    EXPECT_EQ(r.exit_code, c.exit) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(Lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find(c.message_part), std::string::npos) << r.err;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace instar::vmm
