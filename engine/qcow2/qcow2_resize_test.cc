// The qcow2 resize hook (qcow2_resize.cc) against the real qemu-img: every
// qcow2 case of cases/resize.json (and a few more) creates an image with
// qemu-img, copies it, runs `qemu-img resize` on one copy and the hook
// (compat = that release) over a MemoryDevice holding the other, and the
// two files must be equal byte for byte. Where qemu-img refuses, the
// hook's Status is its first stderr line. Every image the hook makes is
// then opened and checked by the engine: no corruption, no leak. The
// system qemu-img (7.2) always runs; the matrix's 5.2, 10.0 and 11.1 run
// when present.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "instar/engine/format_driver.h"
#include "instar/engine/measure.h"
#include "qcow2/qcow2_modify_test_util.h"

namespace instar {
namespace {

using namespace qcow2_modify_testing;  // NOLINT(google-build-using-namespace)

struct ResizeCase {
  std::string name;
  std::string options;  // create -o, "" for none
  std::string start;
  std::string end;  // "4M", "+63M", "-32M"
  bool shrink_flag = true;
  std::string preallocation;  // "" for none
  // qemu-io commands run on the created image before the resize.
  std::vector<std::string> writes;
};

std::vector<ResizeCase> CasesFromResizeJson() {
  std::ifstream in(std::string(INSTAR_SOURCE_ROOT) + "/cases/resize.json");
  const std::regex line_re(
      R"re(\{"case": "([^"]+)", "target": "qcow2", "start": "([^"]+)", "end": "([^"]+)", "options": \[([^\]]*)\](.*)\})re");
  const std::regex shrink_re(R"re("shrink-flag": false)re");
  const std::regex prealloc_re(R"re("preallocation": "([^"]+)")re");
  std::vector<ResizeCase> cases;
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, line_re)) continue;
    ResizeCase c;
    c.name = m[1];
    c.start = m[2];
    c.end = m[3];
    c.options = JoinOptions(m[4]);
    const std::string rest = m[5];
    c.shrink_flag = !std::regex_search(rest, shrink_re);
    std::smatch p;
    if (std::regex_search(rest, p, prealloc_re)) c.preallocation = p[1];
    cases.push_back(c);
  }
  return cases;
}

std::vector<ResizeCase> ExtraCases() {
  return {
      // The L1 table outgrows its cluster: a new one of several clusters.
      {"cs-512-1M-to-1G", "cluster_size=512", "1M", "1G", true, "", {}},
      // Data past the new end: its clusters and L2 table freed, the file cut.
      {"shrink-with-data", "", "64M", "1M", true, "", {"write -P 1 0 1M", "write -P 2 32M 2M"}},
      {"shrink-with-data-cs-4k",
       "cluster_size=4k",
       "16M",
       "3M",
       true,
       "",
       {"write -P 1 0 1M", "write -P 2 2M 4M", "write -P 3 12M 64k"}},
      {"grow-after-data", "", "4M", "1G", true, "", {"write -P 1 0 1M"}},
      {"prealloc-metadata-after-data", "", "1M", "8M", true, "metadata", {"write -P 1 0 512k"}},
      {"prealloc-falloc-cs-4k-rb-1",
       "cluster_size=4k,refcount_bits=1",
       "1M",
       "4M",
       true,
       "falloc",
       {}},
      {"prealloc-metadata-extl2", "extended_l2=on", "1M", "8M", true, "metadata", {}},
      {"prealloc-full-extl2", "extended_l2=on", "1M", "4M", true, "full", {}},
      {"shrink-unaligned", "", "64M", "1000000", true, "", {"write -P 1 0 2M"}},
      {"shrink-with-prealloc", "", "64M", "1M", true, "metadata", {}},
      {"unaligned-size", "", "1M", "1000001", true, "", {}},
      {"prealloc-metadata-lazy", "lazy_refcounts=on", "1M", "8M", true, "metadata", {}},
      {"grow-with-snapshot", "", "1M", "1G", true, "", {"write -P 1 0 64k", "snapshot s1"}},
      {"v2-with-snapshot", "compat=0.10", "1M", "4M", true, "", {"snapshot s1"}},
      // Found by qcow2_modify_fuzz: a preallocated image whose refcount
      // blocks follow its data, shrunk.
      {"shrink-prealloc-falloc-cs-1k",
       "cluster_size=1k,preallocation=falloc",
       "7M",
       "1M",
       true,
       "",
       {}},
  };
}

uint64_t ParseSize(const std::string& text, const QemuVersion& compat) {
  uint64_t size = 0;
  bool warning = false;
  MeasureError error;
  if (!ParseMeasureSize(text.data(), text.size(), compat, &size, &warning, &error).ok()) {
    return ~uint64_t{0};
  }
  return size;
}

void CompareWithQemu(const std::string& version, const ResizeCase& c) {
  if (!HaveQemuImg(version)) {
    GTEST_SKIP() << "no qemu-img " << version << " at " << QemuImgFor(version)
                 << " (ci/fetch-qemu-matrix fetches it)";
  }
  const std::string qemu_img = QemuImgFor(version);
  SCOPED_TRACE(version + " " + c.name + " -o " + c.options + " " + c.start + " -> " + c.end);
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::vector<std::string> create = {qemu_img, "create", "-q", "-f", "qcow2"};
  if (!c.options.empty()) {
    create.push_back("-o");
    create.push_back(c.options);
  }
  create.push_back("a.qcow2");
  create.push_back(c.start);
  const Run created = RunIn(dir.path(), create);
  ASSERT_EQ(created.exit_code, 0) << created.stderr_text;
  for (const std::string& write : c.writes) {
    // "snapshot NAME" is qemu-img snapshot -c; anything else a qemu-io command.
    const Run io =
        write.compare(0, 9, "snapshot ") == 0
            ? RunIn(dir.path(), {qemu_img, "snapshot", "-c", write.substr(9), "a.qcow2"})
            : RunIn(dir.path(), {QemuIoFor(version), "-f", "qcow2", "-c", write, "a.qcow2"});
    ASSERT_EQ(io.exit_code, 0) << io.stderr_text;
  }
  MemoryDevice device(ReadFile(dir.path() + "/a.qcow2"));

  std::vector<std::string> resize = {qemu_img, "resize", "-q", "-f", "qcow2"};
  if (c.shrink_flag) resize.push_back("--shrink");
  if (!c.preallocation.empty()) resize.push_back("--preallocation=" + c.preallocation);
  resize.push_back("a.qcow2");
  // "--" keeps a "-32M" from being read as an option.
  if (c.end[0] == '-') resize.push_back("--");
  resize.push_back(c.end);
  const Run run = RunIn(dir.path(), resize);

  const QemuVersion compat = VersionOf(version);
  const uint64_t start = ParseSize(c.start, compat);
  uint64_t end;
  if (c.end[0] == '+') {
    end = start + ParseSize(c.end.substr(1), compat);
  } else if (c.end[0] == '-') {
    end = start - ParseSize(c.end.substr(1), compat);
  } else {
    end = ParseSize(c.end, compat);
  }
  ResizeRequest request;
  request.size = end;
  request.shrink = c.shrink_flag;
  if (!c.preallocation.empty()) {
    request.has_preallocation = true;
    static const char* const kModes[] = {"off", "metadata", "falloc", "full"};
    for (int i = 0; i < 4; ++i) {
      if (c.preallocation == kModes[i]) request.preallocation = static_cast<Preallocation>(i);
    }
  }
  const Status status = RunHook(device, compat, [&](Image& image, Arena& arena) {
    return FindFormatDriver(ImageFormat::kQcow2)->resize(image, device, request, compat, arena);
  });
  if (run.exit_code != 0) {
    ASSERT_FALSE(status.ok()) << "qemu-img refused: " << run.stderr_text;
    EXPECT_EQ(FirstErrorLine(run.stderr_text), status.message());
    ExpectSameBytes(ReadFile(dir.path() + "/a.qcow2"), device.bytes());
    return;
  }
  ASSERT_TRUE(status.ok()) << status.message();
  ExpectSameBytes(ReadFile(dir.path() + "/a.qcow2"), device.bytes());
  ExpectCleanCheck(device, compat, c.name);
}

class Qcow2ResizeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(Qcow2ResizeTest, ResizeJsonCasesMatchQemuImg) {
  const std::vector<ResizeCase> cases = CasesFromResizeJson();
  ASSERT_GE(cases.size(), 20u);
  for (const ResizeCase& c : cases) {
    CompareWithQemu(GetParam(), c);
    if (::testing::Test::IsSkipped()) return;
  }
}

TEST_P(Qcow2ResizeTest, ExtraCasesMatchQemuImg) {
  for (const ResizeCase& c : ExtraCases()) {
    CompareWithQemu(GetParam(), c);
    if (::testing::Test::IsSkipped()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Versions, Qcow2ResizeTest,
                         ::testing::Values("5.2.0", "7.2.22", "10.0.13", "11.1.3"),
                         VersionTestName);

}  // namespace
}  // namespace instar
