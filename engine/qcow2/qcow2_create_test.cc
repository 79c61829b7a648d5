// The qcow2 create hook (qcow2_create.cc) against the real qemu-img: every
// case creates an image with qemu-img into a temporary directory and with
// the hook into a MemoryDevice, and the two files must be equal byte for
// byte, length included (cmp). The system qemu-img (7.2) always runs; 5.2,
// 10.0 and 11.1 of the matrix (qemu-img-binaries/x86_64/V/qemu-img) run
// when present. Where qemu-img refuses, the hook must refuse with the same
// line. Every image made is then opened by the engine's qcow2 reader and
// checked: no corruption, no leak.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include "instar/engine/check.h"
#include "instar/engine/create.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/image.h"
#include "instar/engine/measure.h"
#include "testing/corpus.h"
#include "testing/memory_device.h"
#include "testing/qemu_img.h"

namespace instar {
namespace {

using testing::MapOpener;
using testing::MemoryDevice;

struct CreateCase {
  std::string name;
  std::string size;
  std::string options;  // the -o text, "" for none
};

// The qcow2 cases of cases/create.json (one case per line there).
std::vector<CreateCase> CasesFromCreateJson() {
  std::ifstream in(std::string(INSTAR_SOURCE_ROOT) + "/cases/create.json");
  const std::regex line_re(
      R"re(\{"case": "([^"]+)", "size": "([^"]+)", "target": "qcow2", "options": \[(.*)\]\})re");
  const std::regex option_re(R"re("([^"]*)")re");
  std::vector<CreateCase> cases;
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, line_re)) continue;
    CreateCase c{m[1], m[2], ""};
    const std::string options = m[3];
    for (auto it = std::sregex_iterator(options.begin(), options.end(), option_re);
         it != std::sregex_iterator(); ++it) {
      if (!c.options.empty()) c.options += ',';
      c.options += (*it)[1];
    }
    cases.push_back(c);
  }
  return cases;
}

// Cases beyond create.json: backing files, preallocation with extended L2,
// refcount blocks that overflow one cluster, an L1 table of several
// clusters, moved refcount tables, refusals.
std::vector<CreateCase> ExtraCases() {
  return {
      {"0-default", "0", ""},
      {"unaligned-size", "1000000", ""},
      {"compat-v2-qapi-name", "1M", "compat=v2"},
      {"16T-default", "16T", ""},
      {"2P-default", "2P", ""},
      {"16G-cs-512", "16G", "cluster_size=512"},
      {"1G-cs-512-rb-64", "1G", "cluster_size=512,refcount_bits=64"},
      {"1G-cs-512-rb-1", "1G", "cluster_size=512,refcount_bits=1"},
      {"1G-rb-2", "1G", "refcount_bits=2,cluster_size=4k"},
      {"prealloc-metadata-rb-4", "4M", "preallocation=metadata,refcount_bits=4,cluster_size=1k"},
      {"prealloc-falloc-rb-32", "4M", "preallocation=falloc,refcount_bits=32,cluster_size=1k"},
      {"backing", "1M", "backing_file=base.img,backing_fmt=raw"},
      {"backing-v2", "1M", "backing_file=base.img,backing_fmt=qcow2,compat=0.10"},
      {"backing-cs-512", "1M", "backing_file=base.img,backing_fmt=raw,cluster_size=512"},
      {"backing-prealloc-extl2", "4M",
       "backing_file=base.img,backing_fmt=raw,extended_l2=on,preallocation=metadata"},
      {"prealloc-metadata-extl2", "16M", "preallocation=metadata,extended_l2=on"},
      {"prealloc-metadata-unaligned", "1000000", "preallocation=metadata"},
      {"prealloc-metadata-v2", "8M", "preallocation=metadata,compat=0.10"},
      {"prealloc-metadata-lazy", "8M", "preallocation=metadata,lazy_refcounts=on"},
      {"prealloc-metadata-cs-512-rb-1", "4M",
       "preallocation=metadata,cluster_size=512,refcount_bits=1"},
      {"prealloc-metadata-cs-512-rb-64", "1M",
       "preallocation=metadata,cluster_size=512,refcount_bits=64"},
      {"prealloc-metadata-cs-512", "8M", "preallocation=metadata,cluster_size=512"},
      {"prealloc-metadata-cs-2M", "64M", "preallocation=metadata,cluster_size=2M"},
      {"prealloc-metadata-100M", "100M", "preallocation=metadata"},
      {"prealloc-falloc-cs-512", "2M", "preallocation=falloc,cluster_size=512"},
      {"prealloc-full-cs-4k-rb-8", "8M", "preallocation=full,cluster_size=4k,refcount_bits=8"},
      {"prealloc-falloc-extl2", "4M", "preallocation=falloc,extended_l2=on,cluster_size=16k"},
      {"prealloc-full-unaligned", "1000000", "preallocation=full"},
      {"bad-compat", "1M", "compat=foo"},
      {"bad-prealloc", "1M", "preallocation=foo"},
      {"bad-cluster-size", "1M", "cluster_size=1000"},
      {"extl2-v2", "1M", "extended_l2=on,compat=0.10"},
      {"lazy-v2", "1M", "lazy_refcounts=on,compat=0.10"},
      {"rb-v2", "1M", "refcount_bits=8,compat=0.10"},
      {"zstd-v2", "1M", "compression_type=zstd,compat=0.10"},
      {"bad-compression", "1M", "compression_type=lz4"},
      {"backing-fmt-alone", "1M", "backing_fmt=raw"},
      {"backing-prealloc", "1M", "backing_file=base.img,backing_fmt=raw,preallocation=metadata"},
      {"data-file-raw-alone", "1M", "data_file_raw=on"},
      {"too-large", "4P", ""},
      {"too-large-cs-512", "1T", "cluster_size=512"},
  };
}

std::string QemuImgFor(const std::string& version) {
  if (version == "7.2.22") return "qemu-img";
  return std::string(INSTAR_SOURCE_ROOT) + "/qemu-img-binaries/x86_64/" + version + "/qemu-img";
}

struct Run {
  int exit_code = -1;
  std::string stderr_text;
};

// Runs argv in `dir` (no shell), stdin on /dev/null, stderr captured.
Run RunIn(const std::string& dir, const std::vector<std::string>& argv) {
  const std::string err_path = dir + "/stderr.txt";
  const pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(126);
    const int null_fd = open("/dev/null", O_RDONLY);
    const int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (null_fd < 0 || err_fd < 0) _exit(126);
    dup2(null_fd, 0);
    dup2(err_fd, 2);
    dup2(err_fd, 1);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  Run run;
  int status = 0;
  waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(err_path);
  run.stderr_text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return run;
}

std::vector<uint8_t> ReadFile(const std::string& path) { return testing::ReadWholeFile(path); }

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/instar-qcow2-create-XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() {
    const std::string command = "rm -rf '" + path_ + "'";
    (void)std::system(command.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The hook's answer for one case.
struct Created {
  Status status;
  std::string error_line;  // FormatMeasureError() without the "qemu-img: " prefix
  MemoryDevice device;
  size_t arena_high_water = 0;
};

Created CreateWithHook(const CreateCase& c, const QemuVersion& compat) {
  Created created;
  std::vector<uint8_t> memory(64u << 20);
  Arena arena(memory.data(), memory.size());
  MeasureError error;
  uint64_t size = 0;
  bool warning = false;
  Status status = ParseMeasureSize(c.size.data(), c.size.size(), compat, &size, &warning, &error);
  ParsedMeasureOptions options;
  if (status.ok()) {
    status = ParseMeasureOptions(ImageFormat::kQcow2, c.options.data(), c.options.size(), compat,
                                 arena, &options, &error);
  }
  if (status.ok()) {
    CreateRequest request;
    request.options = &options;
    request.size = size;
    const size_t before = arena.used();
    status = FindFormatDriver(ImageFormat::kQcow2)
                 ->create(request, created.device, compat, arena, &error);
    created.arena_high_water = arena.high_water() - before;
  }
  created.status = status;
  if (!status.ok()) {
    std::string text(FormatMeasureError(error, nullptr, 0), '\0');
    FormatMeasureError(error, text.data(), text.size() + 1);
    created.error_line = text;
  }
  return created;
}

// What `qemu-img check` of the engine says of the image.
void ExpectCleanCheck(MemoryDevice& device, const QemuVersion& compat, const std::string& what) {
  std::vector<uint8_t> memory(64u << 20);
  Arena arena(memory.data(), memory.size());
  MapOpener opener;
  OpenOptions options;
  options.compat = compat;
  options.check = true;
  Result<Image*> image = OpenImage(ImageFormat::kQcow2, device, opener, arena, options);
  ASSERT_TRUE(image.ok()) << what << ": " << image.status().message();
  class NullLog final : public CheckLog {
   public:
    void Line(const char*, size_t) override {}
  } log;
  CheckResult result;
  Result<CheckSupport> support = CheckImage(**image, compat, arena, log, &result);
  ASSERT_TRUE(support.ok()) << what << ": " << support.status().message();
  EXPECT_EQ(result.corruptions, 0u) << what;
  EXPECT_EQ(result.leaks, 0u) << what;
  EXPECT_EQ(result.check_errors, 0u) << what;
}

void CompareWithQemu(const std::string& version, const CreateCase& c) {
  const std::string qemu_img = QemuImgFor(version);
  if (version != "7.2.22" && access(qemu_img.c_str(), X_OK) != 0) {
    GTEST_SKIP() << "no qemu-img " << version << " at " << qemu_img
                 << " (ci/fetch-qemu-matrix fetches it)";
  }
  SCOPED_TRACE(version + " " + c.name + " -o " + c.options + " " + c.size);
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::vector<std::string> argv = {qemu_img, "create", "-q", "-f", "qcow2", "-u"};
  if (!c.options.empty()) {
    argv.push_back("-o");
    argv.push_back(c.options);
  }
  argv.push_back("new.qcow2");
  argv.push_back(c.size);
  const Run run = RunIn(dir.path(), argv);
  QemuVersion compat = *ParseQemuVersion(version.data(), version.size());
  Created created = CreateWithHook(c, compat);

  if (run.exit_code != 0) {
    ASSERT_FALSE(created.status.ok()) << "qemu-img refused: " << run.stderr_text;
    // "qemu-img: new.qcow2: MESSAGE": the file name is the command's part.
    const std::string prefix = "qemu-img: new.qcow2: ";
    ASSERT_EQ(run.stderr_text.compare(0, prefix.size(), prefix), 0) << run.stderr_text;
    EXPECT_EQ("qemu-img: " + run.stderr_text.substr(prefix.size()), created.error_line);
    return;
  }
  ASSERT_TRUE(created.status.ok()) << created.status.message() << ": " << created.error_line;
  const std::vector<uint8_t> expected = ReadFile(dir.path() + "/new.qcow2");
  const std::vector<uint8_t>& actual = created.device.bytes();
  size_t first_difference = 0;
  while (first_difference < expected.size() && first_difference < actual.size() &&
         expected[first_difference] == actual[first_difference]) {
    ++first_difference;
  }
  EXPECT_EQ(actual.size(), expected.size()) << "file length";
  EXPECT_EQ(first_difference, std::min(expected.size(), actual.size()))
      << "first differing byte at offset " << first_difference;
  ExpectCleanCheck(created.device, compat, c.name);
}

class Qcow2CreateTest : public ::testing::TestWithParam<std::string> {};

TEST_P(Qcow2CreateTest, CreateJsonCasesMatchQemuImg) {
  const std::vector<CreateCase> cases = CasesFromCreateJson();
  ASSERT_GE(cases.size(), 10u);
  for (const CreateCase& c : cases) {
    CompareWithQemu(GetParam(), c);
    if (::testing::Test::IsSkipped()) return;
  }
}

TEST_P(Qcow2CreateTest, ExtraCasesMatchQemuImg) {
  for (const CreateCase& c : ExtraCases()) {
    CompareWithQemu(GetParam(), c);
    if (::testing::Test::IsSkipped()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Versions, Qcow2CreateTest,
                         ::testing::Values("5.2.0", "7.2.22", "10.0.13", "11.1.3"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = "v" + param.param;
                           for (char& ch : name) {
                             if (ch == '.') ch = '_';
                           }
                           return name;
                         });

// The writer's memory does not grow with the virtual size: a 2 PiB image
// takes its metadata buffers and nothing in proportion to the disk.
TEST(Qcow2CreateMemoryTest, ArenaUseIsBoundedByMetadata) {
  const QemuVersion compat = *ParseQemuVersion("10.0.13", 7);
  Created created = CreateWithHook({"2P", "2P", ""}, compat);
  ASSERT_TRUE(created.status.ok()) << created.error_line;
  EXPECT_LT(created.arena_high_water, 1u << 20);
}

}  // namespace
}  // namespace instar
