// `instar info` against every committed info baseline: each corpus image,
// each qemu-img version of the matrix, human and JSON. The baselines are
// what the real qemu-img printed (baselines/info-{human,json}/<format>/
// <version>/<image>.*, made by instar-harness generate); this test runs
// `instar --compat V info` with the same arguments on the corpus
// materialised the way the harness materialises it, with TZ=UTC and
// LC_ALL=C as the harness runs qemu-img, and compares byte for byte after
// the same $TESTDATA_ROOT substitution.
//
// One value is not compared: the disk size ("disk size:" lines, JSON
// "actual-size"), the allocated size of the host file, which depends on the
// file system the corpus was materialised on. cases/divergences.json lists
// it for the conformance comparer; instar still computes it as qemu does
// (st_blocks * 512).
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json/src.hpp>

#include "vmm/testing/required_sandboxes.h"
#include "vmm/testing/subprocess.h"

namespace instar::vmm {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kRoot = INSTAR_SOURCE_ROOT;
const std::vector<std::string> kVersions = {"5.2.0",   "7.2.18", "7.2.22", "10.0.2",
                                            "10.0.13", "11.1.2", "11.1.3"};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct CorpusImage {
  std::string id;
  std::string format;
};

std::vector<CorpusImage> ManifestImages() {
  std::vector<CorpusImage> images;
  const json::value manifest = json::parse(ReadFile(kRoot / "cases/images/manifest.json"));
  for (const json::value& image : manifest.at("images").as_array()) {
    images.push_back({json::value_to<std::string>(image.at("id")),
                      json::value_to<std::string>(image.at("format"))});
  }
  return images;
}

std::string FindInPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const fs::path candidate = fs::path(dir) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "/usr/bin/" + program;
}

// Writes `data` leaving every all-zero 4 KiB block a hole, as the harness's
// corpus materialisation does (harness/run/corpus.h).
void WriteSparse(const fs::path& path, const std::string& data) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    constexpr size_t kBlock = 4096;
    const std::string zeros(kBlock, '\0');
    for (size_t offset = 0; offset < data.size(); offset += kBlock) {
      const size_t n = std::min(kBlock, data.size() - offset);
      if (n == kBlock && data.compare(offset, n, zeros) == 0) {
        out.seekp(static_cast<std::streamoff>(offset + n));
      } else {
        out.seekp(static_cast<std::streamoff>(offset));
        out.write(data.data() + offset, static_cast<std::streamsize>(n));
      }
    }
  }
  fs::resize_file(path, data.size());
}

// The corpus, materialised once per manifest into the build tree and shared
// by every test process (ctest runs each test on its own): a process fills a
// private directory and renames it into place; a loser of that race removes
// its copy.
fs::path MaterialiseCorpus() {
  const std::string manifest_text = ReadFile(kRoot / "cases/images/manifest.json");
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  const fs::path base = n > 0 ? fs::path(std::string(exe, static_cast<size_t>(n))).parent_path()
                              : fs::temp_directory_path();
  const fs::path dir =
      base / ("info-corpus-" + std::to_string(std::hash<std::string>{}(manifest_text)));
  if (fs::exists(dir / ".complete")) return dir;

  const fs::path scratch = dir.string() + ".tmp." + std::to_string(::getpid());
  fs::remove_all(scratch);
  fs::create_directories(scratch);
  const json::value manifest = json::parse(manifest_text);
  const std::string xz = FindInPath("xz");
  for (const json::value& image : manifest.at("images").as_array()) {
    for (const json::value& file : image.at("files").as_array()) {
      const std::string name = json::value_to<std::string>(file.at("name"));
      const fs::path stored =
          kRoot / "cases/images" / json::value_to<std::string>(file.at("stored"));
      std::string data;
      if (stored.extension() == ".xz") {
        const testing::ProgramResult r = testing::RunProgram({xz, "-dc", stored.string()});
        if (r.exit_code != 0) throw std::runtime_error("xz -dc " + stored.string() + ": " + r.err);
        data = r.out;
      } else {
        data = ReadFile(stored);
      }
      if (data.size() != file.at("size").to_number<uint64_t>()) {
        throw std::runtime_error("corpus file " + name + " has the wrong size");
      }
      WriteSparse(scratch / name, data);
    }
  }
  std::ofstream(scratch / ".complete") << "ok\n";
  std::error_code error;
  fs::rename(scratch, dir, error);
  if (error) fs::remove_all(scratch);
  if (!fs::exists(dir / ".complete")) throw std::runtime_error("could not materialise the corpus");
  return dir;
}

const fs::path& CorpusDir() {
  static const fs::path dir = MaterialiseCorpus();
  return dir;
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// The one host-dependent value, blanked on both sides (see the file comment).
std::string BlankDiskSize(const std::string& text) {
  static const std::regex kHuman("(^|\n)( *disk size: )[^\n]*");
  static const std::regex kJson("(\"actual-size\": )[0-9]+");
  return std::regex_replace(std::regex_replace(text, kHuman, "$1$2<host>"), kJson, "$1<host>");
}

struct Baseline {
  std::vector<std::string> args;  // after "qemu-img"
  int exit_code = 0;
  std::string out;
  std::string err;
};

Baseline LoadBaseline(const std::string& kind, const CorpusImage& image,
                      const std::string& version) {
  const fs::path stem = kRoot / "baselines" / kind / image.format / version / image.id;
  const std::string root = CorpusDir().string();
  Baseline b;
  const json::value meta = json::parse(ReadFile(stem.string() + ".meta.json"));
  const json::value& step = meta.at("steps").as_array().at(0);
  const json::array& argv = step.at("argv").as_array();
  for (size_t i = 1; i < argv.size(); ++i) {
    b.args.push_back(Replace(json::value_to<std::string>(argv[i]), "$TESTDATA_ROOT", root));
  }
  b.exit_code = static_cast<int>(step.at("exit-code").to_number<int64_t>());
  b.out = Replace(ReadFile(stem.string() + ".stdout.txt"), "$TESTDATA_ROOT", root);
  // qemu-img's error lines name their program; instar's name instar.
  b.err = Replace(ReadFile(stem.string() + ".stderr.txt"), "$TESTDATA_ROOT", root);
  if (b.err.rfind("qemu-img: ", 0) == 0) b.err.replace(0, 10, "instar: ");
  b.err = Replace(b.err, "\nqemu-img: ", "\ninstar: ");
  return b;
}

testing::ProgramResult RunInstar(const std::string& sandbox, const std::string& version,
                                 const std::vector<std::string>& args) {
  ::setenv("TZ", "UTC", 1);
  ::setenv("LC_ALL", "C", 1);
  std::vector<std::string> argv = {INSTAR_BINARY_PATH, "--sandbox=" + sandbox, "--compat", version};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::RunProgram(argv);
}

// Runs one baseline case and expects instar to print what qemu-img printed.
void ExpectMatchesBaseline(const std::string& sandbox, const std::string& kind,
                           const CorpusImage& image, const std::string& version) {
  SCOPED_TRACE(kind + "/" + image.format + "/" + version + "/" + image.id + " (" + sandbox + ")");
  const Baseline b = LoadBaseline(kind, image, version);
  ASSERT_FALSE(b.args.empty());
  const testing::ProgramResult r = RunInstar(sandbox, version, b.args);
  EXPECT_EQ(r.exit_code, b.exit_code) << r.err;
  EXPECT_EQ(BlankDiskSize(r.out), BlankDiskSize(b.out));
  EXPECT_EQ(r.err, b.err);
}

class InfoBaselineTest : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(InfoBaselineTest, EveryCorpusImageMatchesQemuImg) {
  const auto& [kind, version] = GetParam();
  for (const CorpusImage& image : ManifestImages()) {
    ExpectMatchesBaseline("process", kind, image, version);
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllVersions, InfoBaselineTest,
    ::testing::Combine(::testing::Values("info-human", "info-json"),
                       ::testing::ValuesIn(kVersions)),
    [](const ::testing::TestParamInfo<InfoBaselineTest::ParamType>& param_info) {
      std::string name = std::get<0>(param_info.param) + "_" + std::get<1>(param_info.param);
      for (char& c : name) {
        if (c == '-' || c == '.') c = '_';
      }
      return name;
    });

// The baselines cover exactly the versions tested above.
TEST(InfoBaselineSetTest, VersionMapListsTheTestedVersions) {
  for (const char* kind : {"info-human", "info-json"}) {
    const json::value map = json::parse(ReadFile(kRoot / "profiles" / kind / "version-map.json"));
    std::vector<std::string> versions;
    for (const auto& entry : map.at("versions").as_object()) {
      versions.push_back(std::string(entry.key()));
    }
    std::sort(versions.begin(), versions.end());
    std::vector<std::string> expected = kVersions;
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(versions, expected) << kind;
  }
}

// The same image the kvm backend would run, on the emulated CPU: the first
// image of every format, plus the vmdk with an extent file and the qcow2
// with snapshots, in each output family.
TEST(InfoEmulatedTest, EmulatedSandboxMatchesQemuImg) {
  const testing::ProgramResult probe =
      RunInstar("emulated", "11.1.3", {"info", (CorpusDir() / "raw-sparse.raw").string()});
  if (probe.exit_code == 73) INSTAR_SKIP_OR_FAIL_BACKEND("emulated", probe.err);
  std::vector<std::string> formats;
  for (const CorpusImage& image : ManifestImages()) {
    const bool first_of_format =
        std::find(formats.begin(), formats.end(), image.format) == formats.end();
    if (!first_of_format && image.id != "vmdk-flat" && image.id != "qcow2-snapshot") continue;
    formats.push_back(image.format);
    for (const char* version : {"5.2.0", "7.2.22", "11.1.3"}) {
      for (const char* kind : {"info-human", "info-json"}) {
        ExpectMatchesBaseline("emulated", kind, image, version);
      }
    }
  }
  EXPECT_GE(formats.size(), 5u);
}

// --backing-chain: `qemu-img-binaries/x86_64/{5.2.0,7.2.22,10.0.13,11.1.3}/
// qemu-img info --backing-chain [--output=json] $TESTDATA_ROOT/qcow2-backing.qcow2`
// prints the two images' single-image outputs (the baselines of
// qcow2-backing and qcow2-v3-64k), separated by a blank line, or as a JSON
// array of the two objects indented one level.
TEST(InfoBackingChainTest, PrintsEachImageOfTheChainLikeQemuImg) {
  const CorpusImage top{"qcow2-backing", "qcow2"};
  const CorpusImage base{"qcow2-v3-64k", "qcow2"};
  const std::string path = (CorpusDir() / "qcow2-backing.qcow2").string();
  for (const std::string version : {"5.2.0", "7.2.22", "10.0.13", "11.1.3"}) {
    SCOPED_TRACE(version);
    const std::string human = LoadBaseline("info-human", top, version).out + "\n" +
                              LoadBaseline("info-human", base, version).out;
    testing::ProgramResult r = RunInstar("process", version, {"info", "--backing-chain", path});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(BlankDiskSize(r.out), BlankDiskSize(human));

    const auto indent = [](const std::string& text) {
      std::string out;
      std::istringstream lines(text);
      std::string line;
      while (std::getline(lines, line)) out += (out.empty() ? "    " : "\n    ") + line;
      return out;
    };
    const std::string json = "[\n" + indent(LoadBaseline("info-json", top, version).out) + ",\n" +
                             indent(LoadBaseline("info-json", base, version).out) + "\n]\n";
    r = RunInstar("process", version, {"info", "--backing-chain", "--output=json", path});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(BlankDiskSize(r.out), BlankDiskSize(json));
  }
}

// An image that names itself as its backing file: qcow2-backing.qcow2 copied
// under the name of its backing file. `qemu-img-binaries/x86_64/{5.2.0,
// 10.0.13,11.1.3}/qemu-img info --backing-chain DIR/qcow2-v3-64k.qcow2` of
// such a copy prints nothing on stdout and exits 1 with this line.
TEST(InfoBackingChainTest, RefusesALoopLikeQemuImg) {
  const fs::path dir =
      fs::temp_directory_path() / ("instar-info-loop-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path loop = dir / "qcow2-v3-64k.qcow2";
  fs::copy_file(CorpusDir() / "qcow2-backing.qcow2", loop, fs::copy_options::overwrite_existing);
  for (const std::string version : {"5.2.0", "11.1.3"}) {
    const testing::ProgramResult r =
        RunInstar("process", version, {"info", "--backing-chain", loop.string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "instar: Backing file '" + loop.string() + "' creates an infinite loop.\n");
  }
  fs::remove_all(dir);
}

// A full snapshot table: cases/images/qcow2-empty.qcow2 with nb_snapshots
// 65536 and the table past the end of the file, so every entry reads as
// zeros. `TZ=UTC qemu-img-binaries/x86_64/11.1.3/qemu-img info -f qcow2 F`
// prints 65555 lines, 65536 of them this row; with --output=json, 65536
// snapshot objects. Such a table does not fit one result unless runs of
// equal snapshots are folded (info_result.h).
TEST(InfoSnapshotTest, PrintsEveryEntryOfAFullTable) {
  std::string image = ReadFile(kRoot / "cases/images/qcow2-empty.qcow2");
  ASSERT_GE(image.size(), 72u);
  const auto put_be = [&](size_t at, uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i)
      image[at + i] = static_cast<char>(value >> (8 * (bytes - 1 - i)));
  };
  put_be(60, 65536, 4);
  put_be(64, uint64_t{1} << 56, 8);
  const fs::path path =
      fs::temp_directory_path() / ("instar-info-snapshots-" + std::to_string(::getpid()));
  std::ofstream(path, std::ios::binary) << image;
  const auto count = [](const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  testing::ProgramResult r = RunInstar("process", "11.1.3", {"info", "-f", "qcow2", path.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count(r.out, "\n"), 65555u);
  EXPECT_EQ(count(r.out,
                  "\n                              0 B 1970-01-01 00:00:00  0000:00:00.000"
                  "         --\n"),
            65536u);
  r = RunInstar("process", "11.1.3", {"info", "-f", "qcow2", "--output=json", path.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count(r.out, "\"vm-state-size\": 0"), 65536u);
  fs::remove(path);
}

// qcow2-v3-64k.qcow2 with the dirty bit set (incompatible feature bit 0):
// `qemu-img-binaries/x86_64/{7.2.22,11.1.3}/qemu-img info [--output=json]`
// prints what the clean image's baseline shows plus "cleanly shut down: no"
// after the cluster size and "dirty-flag": true for the image (the file
// child keeps false); 5.2.0 prints exactly the clean image's output.
TEST(InfoDirtyTest, ReportsTheDirtyBitLikeEachVersion) {
  std::string image = ReadFile(CorpusDir() / "qcow2-v3-64k.qcow2");
  ASSERT_GE(image.size(), 80u);
  image[79] = static_cast<char>(image[79] | 1);
  const fs::path dir =
      fs::temp_directory_path() / ("instar-info-dirty-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path path = dir / "qcow2-v3-64k.qcow2";
  std::ofstream(path, std::ios::binary) << image;
  const CorpusImage clean{"qcow2-v3-64k", "qcow2"};
  for (const std::string version : {"5.2.0", "7.2.22", "11.1.3"}) {
    SCOPED_TRACE(version);
    const bool dirty = version != "5.2.0";
    std::string human =
        Replace(LoadBaseline("info-human", clean, version).out, CorpusDir().string(), dir.string());
    std::string json =
        Replace(LoadBaseline("info-json", clean, version).out, CorpusDir().string(), dir.string());
    if (dirty) {
      human =
          Replace(human, "cluster_size: 65536\n", "cluster_size: 65536\ncleanly shut down: no\n");
      const std::string last = "\n    \"dirty-flag\": false\n}\n";
      ASSERT_EQ(json.substr(json.size() - last.size()), last);
      json.replace(json.size() - last.size(), last.size(), "\n    \"dirty-flag\": true\n}\n");
    }
    EXPECT_EQ(BlankDiskSize(RunInstar("process", version, {"info", path.string()}).out),
              BlankDiskSize(human));
    EXPECT_EQ(
        BlankDiskSize(RunInstar("process", version, {"info", "--output=json", path.string()}).out),
        BlankDiskSize(json));
  }
  fs::remove_all(dir);
}

// qemu-img-binaries/x86_64/{5.2.0,10.0.13,11.1.3}/qemu-img info -U and -f
// on the corpus print what plain info prints; -f with the wrong format and
// a missing file fail with these lines (exit 1).
TEST(InfoOptionsTest, ForceShareAndFormatLikeQemuImg) {
  const CorpusImage raw{"raw-sparse", "raw"};
  const std::string path = (CorpusDir() / "raw-sparse.raw").string();
  for (const std::string version : {"5.2.0", "10.0.13", "11.1.3"}) {
    SCOPED_TRACE(version);
    const std::string expected = BlankDiskSize(LoadBaseline("info-human", raw, version).out);
    EXPECT_EQ(BlankDiskSize(RunInstar("process", version, {"info", "-U", path}).out), expected);
    EXPECT_EQ(BlankDiskSize(RunInstar("process", version, {"info", "-f", "raw", path}).out),
              expected);
    testing::ProgramResult r = RunInstar("process", version, {"info", "-f", "qcow2", path});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "instar: Could not open '" + path + "': Image is not in qcow2 format\n");
    r = RunInstar("process", version, {"info", "/nonexistent"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err,
              "instar: Could not open '/nonexistent': Could not open '/nonexistent': No such file "
              "or directory\n");
  }
}

// `qemu-img-binaries/x86_64/{5.2.0,7.2.22}/qemu-img info ARGS` words its
// own getopt errors; 10.0.13 accepts -b, 11.1.3 no longer does ("invalid
// option -- 'b'" after its own name). "qemu-img" in the Try line is the
// program's name, as instar's other errors have it.
TEST(InfoOptionsTest, GetoptErrorsAreWordedPerVersion) {
  const std::string self = INSTAR_BINARY_PATH;
  const std::string path = (CorpusDir() / "raw-sparse.raw").string();
  for (const std::string version : {"5.2.0", "7.2.22"}) {
    SCOPED_TRACE(version);
    const std::string hint = "Try 'instar --help' for more information\n";
    EXPECT_EQ(RunInstar("process", version, {"info", "--bogus", path}).err,
              "instar: unrecognized option '--bogus'\n" + hint);
    EXPECT_EQ(RunInstar("process", version, {"info", "-b", path}).err,
              "instar: unrecognized option '-b'\n" + hint);
    EXPECT_EQ(RunInstar("process", version, {"info", "-f"}).err,
              "instar: missing argument for option '-f'\n" + hint);
    EXPECT_EQ(RunInstar("process", version, {"info", "--output"}).err,
              "instar: missing argument for option '--output'\n" + hint);
  }
  const CorpusImage raw{"raw-sparse", "raw"};
  EXPECT_EQ(BlankDiskSize(RunInstar("process", "10.0.13", {"info", "-b", path}).out),
            BlankDiskSize(LoadBaseline("info-human", raw, "10.0.13").out));
  const testing::ProgramResult r = RunInstar("process", "11.1.3", {"info", "-b", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, self + " info: invalid option -- 'b'\nTry '" + self +
                       " info --help' for more information\n");
}

TEST(InfoOptionsTest, RefusesImageOptsAndObjectClearly) {
  const std::string path = (CorpusDir() / "raw-sparse.raw").string();
  testing::ProgramResult r = RunInstar("process", "11.1.3", {"info", "--image-opts", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "instar: --image-opts is not supported by instar\n");
  r = RunInstar("process", "11.1.3", {"info", "--object", "secret,id=s,data=x", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "instar: --object is not supported by instar\n");
}

}  // namespace
}  // namespace instar::vmm
