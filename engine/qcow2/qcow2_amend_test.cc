// The qcow2 amend hook (qcow2_amend.cc) against the real qemu-img: every
// qcow2 case of cases/amend.json (and more) creates an image with qemu-img
// (a backing file first where the case has one), copies it, runs
// `qemu-img amend -o ...` on one copy and the hook (compat = that release)
// over a MemoryDevice holding the other, and the two files must be equal
// byte for byte. Where qemu-img refuses, the hook's Status is what it
// printed ("qemu-img: " and the hint line included). Every image the hook
// changes is opened and checked by the engine: no corruption, no leak.
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

struct AmendCase {
  std::string name;
  std::string size;
  std::string options;  // create -o, "" for none
  std::string amend;    // the -o texts joined with ','
  bool backing = false;
  // qemu-io commands run on the created image before the amend.
  std::vector<std::string> writes;
};

std::vector<AmendCase> CasesFromAmendJson() {
  std::ifstream in(std::string(INSTAR_SOURCE_ROOT) + "/cases/amend.json");
  const std::regex line_re(
      R"re(\{"case": "([^"]+)", "target": "qcow2", "size": "([^"]+)", "options": \[([^\]]*)\], "amend": \[([^\]]*)\](.*)\})re");
  const std::regex backing_re(R"re("backing": true)re");
  std::vector<AmendCase> cases;
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, line_re)) continue;
    AmendCase c;
    c.name = m[1];
    c.size = m[2];
    c.options = JoinOptions(m[3]);
    c.amend = JoinOptions(m[4]);
    const std::string rest = m[5];
    c.backing = std::regex_search(rest, backing_re);
    cases.push_back(c);
  }
  return cases;
}

std::vector<AmendCase> ExtraCases() {
  return {
      {"backing-file-change", "1M", "", "backing_file=other.img", true, {}},
      {"backing-same", "1M", "", "backing_file=a.qcow2.base,backing_fmt=qcow2", true, {}},
      {"lazy-on-v2", "1M", "compat=0.10", "lazy_refcounts=on", false, {}},
      {"rb-v2", "1M", "compat=0.10", "refcount_bits=8", false, {}},
      {"rb-1-with-data", "4M", "", "refcount_bits=1", false, {"write -P 1 0 1M"}},
      {"rb-64-with-data-cs-512",
       "4M",
       "cluster_size=512",
       "refcount_bits=64",
       false,
       {"write -P 1 0 1M", "write -P 2 3M 64k"}},
      {"rb-2-cs-4k", "64M", "cluster_size=4k", "refcount_bits=2", false, {"write -P 3 0 512k"}},
      {"rb-64-to-16", "1M", "refcount_bits=64", "refcount_bits=16", false, {"write -P 1 0 64k"}},
      {"rb-and-size", "1M", "", "refcount_bits=4,size=8M", false, {}},
      {"downgrade-with-data", "4M", "", "compat=0.10", false, {"write -P 1 0 1M"}},
      {"downgrade-rb-and-compat",
       "1M",
       "refcount_bits=8",
       "refcount_bits=16,compat=0.10",
       false,
       {}},
      {"upgrade-v2-with-data", "4M", "compat=0.10", "compat=1.1", false, {"write -P 1 0 1M"}},
      {"size-shrink-with-data", "64M", "", "size=1M", false, {"write -P 1 0 2M"}},
      {"unknown-compat", "1M", "", "compat=2.0", false, {}},
      {"data-file", "1M", "", "data_file=x.raw", false, {}},
      {"data-file-raw", "1M", "", "data_file_raw=on", false, {}},
      {"encrypt-iter-time", "1M", "", "encrypt.iter-time=10", false, {}},
      {"bad-refcount-bits", "1M", "", "refcount_bits=3", false, {}},
      {"create-only-two", "1M", "", "cluster_size=4k,extended_l2=on", false, {}},
      {"compat-v2-name", "1M", "", "compat=v2", false, {}},
      {"lazy-off-noop", "1M", "", "lazy_refcounts=off", false, {}},
      // A snapshot makes refcounts of 2, which one bit cannot hold.
      {"rb-1-with-snapshot",
       "1M",
       "",
       "refcount_bits=1",
       false,
       {"write -P 1 0 128k", "snapshot s1"}},
      {"rb-4-with-snapshot",
       "1M",
       "",
       "refcount_bits=4",
       false,
       {"write -P 1 0 128k", "snapshot s1"}},
      {"lazy-on-rb-1", "1M", "refcount_bits=1", "lazy_refcounts=on", false, {}},
  };
}

std::string StatusText(const Status& status) {
  char text[1024];
  FormatStatusMessage(status, text, sizeof(text));
  return text;
}

void CompareWithQemu(const std::string& version, const AmendCase& c) {
  if (!HaveQemuImg(version)) {
    GTEST_SKIP() << "no qemu-img " << version << " at " << QemuImgFor(version)
                 << " (ci/fetch-qemu-matrix fetches it)";
  }
  const std::string qemu_img = QemuImgFor(version);
  SCOPED_TRACE(version + " " + c.name + " -o " + c.options + " amend -o " + c.amend);
  const QemuVersion compat = VersionOf(version);
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::vector<std::string> create = {qemu_img, "create", "-q", "-f", "qcow2"};
  if (c.backing) {
    const Run base =
        RunIn(dir.path(), {qemu_img, "create", "-q", "-f", "qcow2", "a.qcow2.base", c.size});
    ASSERT_EQ(base.exit_code, 0) << base.stderr_text;
    create.insert(create.end(), {"-b", "a.qcow2.base", "-F", "qcow2"});
  }
  if (!c.options.empty()) {
    create.push_back("-o");
    create.push_back(c.options);
  }
  create.push_back("a.qcow2");
  create.push_back(c.size);
  const Run created = RunIn(dir.path(), create);
  if (created.exit_code != 0) {
    // This release cannot make the image (5.2 without zstd): the engine's
    // create hook must refuse it too, and there is nothing to amend.
    std::vector<uint8_t> memory(8u << 20);
    Arena arena(memory.data(), memory.size());
    ParsedMeasureOptions parsed;
    MeasureError error;
    Status status = ParseMeasureOptions(ImageFormat::kQcow2, c.options.data(), c.options.size(),
                                        compat, arena, &parsed, &error);
    if (status.ok()) {
      CreateRequest request;
      request.options = &parsed;
      request.size = 1 << 20;
      MemoryDevice scratch;
      status =
          FindFormatDriver(ImageFormat::kQcow2)->create(request, scratch, compat, arena, &error);
    }
    EXPECT_FALSE(status.ok()) << "qemu-img create refused: " << created.stderr_text;
    return;
  }
  for (const std::string& write : c.writes) {
    // "snapshot NAME" is qemu-img snapshot -c; anything else a qemu-io command.
    const Run io =
        write.compare(0, 9, "snapshot ") == 0
            ? RunIn(dir.path(), {qemu_img, "snapshot", "-c", write.substr(9), "a.qcow2"})
            : RunIn(dir.path(), {QemuIoFor(version), "-f", "qcow2", "-c", write, "a.qcow2"});
    ASSERT_EQ(io.exit_code, 0) << io.stderr_text;
  }
  MemoryDevice device(ReadFile(dir.path() + "/a.qcow2"));
  const Run run = RunIn(dir.path(), {qemu_img, "amend", "-f", "qcow2", "-o", c.amend, "a.qcow2"});

  std::vector<uint8_t> memory(8u << 20);
  Arena option_arena(memory.data(), memory.size());
  ParsedMeasureOptions parsed;
  MeasureError error;
  ASSERT_TRUE(ParseMeasureOptions(ImageFormat::kQcow2, c.amend.data(), c.amend.size(), compat,
                                  option_arena, &parsed, &error)
                  .ok());
  AmendRequest request;
  request.options = &parsed;
  const Status status = RunHook(device, compat, [&](Image& image, Arena& arena) {
    return FindFormatDriver(ImageFormat::kQcow2)->amend(image, device, request, compat, arena);
  });
  if (run.exit_code != 0) {
    ASSERT_FALSE(status.ok()) << "qemu-img refused: " << run.stderr_text;
    EXPECT_EQ(run.stderr_text, "qemu-img: " + StatusText(status) + "\n");
    ExpectSameBytes(ReadFile(dir.path() + "/a.qcow2"), device.bytes());
    return;
  }
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ExpectSameBytes(ReadFile(dir.path() + "/a.qcow2"), device.bytes());
  ExpectCleanCheck(device, compat, c.name);
}

class Qcow2AmendTest : public ::testing::TestWithParam<std::string> {};

TEST_P(Qcow2AmendTest, AmendJsonCasesMatchQemuImg) {
  const std::vector<AmendCase> cases = CasesFromAmendJson();
  ASSERT_GE(cases.size(), 15u);
  for (const AmendCase& c : cases) {
    CompareWithQemu(GetParam(), c);
    if (::testing::Test::IsSkipped()) return;
  }
}

TEST_P(Qcow2AmendTest, ExtraCasesMatchQemuImg) {
  for (const AmendCase& c : ExtraCases()) {
    CompareWithQemu(GetParam(), c);
    if (::testing::Test::IsSkipped()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Versions, Qcow2AmendTest,
                         ::testing::Values("5.2.0", "7.2.22", "10.0.13", "11.1.3"),
                         VersionTestName);

}  // namespace
}  // namespace instar
