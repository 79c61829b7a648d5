// Hostile qcow2 headers through the real `instar` binary and the process
// backend. Each ends as qemu-img 11.1.3 ends on the same file (exit status
// from `qemu-img-binaries/x86_64/11.1.3/qemu-img info -f qcow2 FILE` and
// `... measure -O qcow2 FILE`, recorded per case below): a refusal is exit 1
// with exactly one "instar: ..." line on stderr and nothing on stdout. Never
// a crash, a hang or unbounded memory: the helper's address space is capped
// by RLIMIT_AS, and a crash, a seccomp kill or a time-out would show as exit
// 70-74 here. The wording of each message is the qcow2 reader's business
// and is asserted by its own tests; here only the shape is.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vmm/testing/subprocess.h"

namespace instar::vmm {
namespace {

namespace fs = std::filesystem;

void PutBE32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
void PutBE64(std::vector<uint8_t>& b, size_t at, uint64_t v) {
  PutBE32(b, at, static_cast<uint32_t>(v >> 32));
  PutBE32(b, at + 4, static_cast<uint32_t>(v));
}

// qcow2 header field offsets (docs/interop/qcow2.txt).
constexpr size_t kClusterBits = 20;
constexpr size_t kSize = 24;
constexpr size_t kL1Size = 36;
constexpr size_t kL1TableOffset = 40;
constexpr size_t kRefcountTableOffset = 48;
constexpr size_t kRefcountTableClusters = 56;
constexpr size_t kSnapshotCount = 60;
constexpr size_t kSnapshotsOffset = 64;
constexpr size_t kHeaderLength = 100;

// A valid empty image made by qemu-img (cases/images/make-corpus).
std::vector<uint8_t> BaseImage() {
  std::ifstream in(std::string(INSTAR_SOURCE_ROOT) + "/cases/images/qcow2-empty.qcow2",
                   std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

struct HostileCase {
  const char* name;
  void (*mutate)(std::vector<uint8_t>& image);
  int info_exit;     // qemu-img 11.1.3 info -f qcow2
  int measure_exit;  // qemu-img 11.1.3 measure -O qcow2 (format probed)
};

const HostileCase kCases[] = {
    {"l1-size-2^32-1", [](std::vector<uint8_t>& b) { PutBE32(b, kL1Size, 0xffffffff); }, 1, 1},
    {"l1-table-past-eof", [](std::vector<uint8_t>& b) { PutBE64(b, kL1TableOffset, 1ull << 50); },
     0, 0},
    {"refcount-table-past-eof",
     [](std::vector<uint8_t>& b) { PutBE64(b, kRefcountTableOffset, 1ull << 55); }, 0, 0},
    {"refcount-table-huge",
     [](std::vector<uint8_t>& b) { PutBE32(b, kRefcountTableClusters, 0xffffffff); }, 1, 1},
    {"refcount-loop",
     [](std::vector<uint8_t>& b) {
       // The refcount table's first entry names the table itself as a block.
       const uint64_t table = 0x10000;
       PutBE64(b, kRefcountTableOffset, table);
       if (b.size() < table + 8) b.resize(table + 0x10000);
       PutBE64(b, table, table);
     },
     0, 0},
    {"cluster-bits-63", [](std::vector<uint8_t>& b) { PutBE32(b, kClusterBits, 63); }, 1, 1},
    {"cluster-bits-0", [](std::vector<uint8_t>& b) { PutBE32(b, kClusterBits, 0); }, 1, 1},
    {"virtual-size-1EiB", [](std::vector<uint8_t>& b) { PutBE64(b, kSize, 1ull << 60); }, 1, 1},
    {"virtual-size-max", [](std::vector<uint8_t>& b) { PutBE64(b, kSize, UINT64_MAX); }, 1, 1},
    {"snapshots-past-eof",
     [](std::vector<uint8_t>& b) {
       PutBE32(b, kSnapshotCount, 65536);
       PutBE64(b, kSnapshotsOffset, 1ull << 56);
     },
     0, 0},
    {"header-length-huge", [](std::vector<uint8_t>& b) { PutBE32(b, kHeaderLength, 0xfffffff0); },
     1, 1},
    {"truncated-header", [](std::vector<uint8_t>& b) { b.resize(50); }, 1, 1},
    {"magic-only", [](std::vector<uint8_t>& b) { b.resize(4); }, 1, 0},
};

class HostileQcow2Test : public ::testing::TestWithParam<HostileCase> {};

TEST_P(HostileQcow2Test, FailsWithOneErrorLine) {
  std::vector<uint8_t> image = BaseImage();
  ASSERT_GE(image.size(), 104u) << "corpus image missing";
  GetParam().mutate(image);
  const fs::path path = fs::temp_directory_path() /
                        ("instar-hostile-" + std::to_string(::getpid()) + "-" + GetParam().name);
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(image.data()), static_cast<long>(image.size()));
  }
  const struct {
    std::vector<std::string> args;
    int expected_exit;
  } commands[] = {{{"info", "-f", "qcow2"}, GetParam().info_exit},
                  {{"measure", "-O", "qcow2"}, GetParam().measure_exit}};
  for (const auto& command : commands) {
    std::vector<std::string> argv = {INSTAR_BINARY_PATH, "--sandbox=process"};
    argv.insert(argv.end(), command.args.begin(), command.args.end());
    argv.push_back(path.string());
    const testing::ProgramResult r = testing::RunProgram(argv);
    SCOPED_TRACE(command.args[0] + ": " + r.err);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, command.expected_exit);
    if (command.expected_exit == 0) {
      EXPECT_EQ(r.err, "");
      EXPECT_NE(r.out, "");
    } else {
      EXPECT_EQ(r.out, "");
      ASSERT_FALSE(r.err.empty());
      EXPECT_EQ(r.err.rfind("instar: ", 0), 0u);
      EXPECT_EQ(r.err.find('\n'), r.err.size() - 1);
    }
  }
  fs::remove(path);
}

INSTANTIATE_TEST_SUITE_P(Headers, HostileQcow2Test, ::testing::ValuesIn(kCases),
                         [](const auto& param_info) {
                           std::string name = param_info.param.name;
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace instar::vmm
