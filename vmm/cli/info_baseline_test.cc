// `instar info` where a case needs more than one qemu-img call to state:
// a backing chain printed whole, a loop in it, a full snapshot table, the
// dirty bit, and the options around the image. Each compares with what a
// real qemu-img printed: the committed baselines of the images involved,
// read through the baseline store (harness/store), or the exact lines the
// qemu-img named above a test printed.
//
// Every single-image info case of every version is conformance's work:
// ctest's conform_info_* against the profiles and conform_info_baselines
// against each version's baselines (harness/CMakeLists.txt), with the same
// corpus materialisation and the same filters as here.
//
// One value is not compared: the disk size ("disk size:" lines, JSON
// "actual-size"), the allocated size of the host file, which depends on the
// file system the corpus was materialised on. cases/divergences.json lists
// it for the conformance comparer; instar still computes it as qemu does
// (st_blocks * 512).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/cases/manifest.h"
#include "harness/run/corpus.h"
#include "harness/store/baseline_store.h"
#include "vmm/testing/subprocess.h"

namespace instar::vmm {
namespace {

namespace fs = std::filesystem;

const fs::path kRoot = INSTAR_SOURCE_ROOT;

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

// The corpus, materialised by the harness's own code once per manifest into
// the build tree and shared by every test process (ctest runs each test on
// its own): a process fills a private directory and renames it into place;
// a loser of that race removes its copy.
fs::path MaterialiseCorpus() {
  const fs::path manifest_path = kRoot / "cases/images/manifest.json";
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  const fs::path base = n > 0 ? fs::path(std::string(exe, static_cast<size_t>(n))).parent_path()
                              : fs::temp_directory_path();
  const fs::path dir =
      base / ("info-corpus-" + std::to_string(std::hash<std::string>{}(ReadFile(manifest_path))));
  if (fs::exists(dir / ".complete")) return dir;

  const fs::path scratch = dir.string() + ".tmp." + std::to_string(::getpid());
  fs::remove_all(scratch);
  fs::create_directories(scratch);
  harness::MaterialiseCorpus(harness::LoadManifest(manifest_path), kRoot / "cases/images", scratch,
                             1, nullptr);
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
  std::string out;
};

// What the baseline of `image` printed for `version`, read through the
// store, with $TESTDATA_ROOT resolved to this test's corpus.
Baseline LoadBaseline(const std::string& output_type, const CorpusImage& image,
                      const std::string& version) {
  const harness::StoredCase stored =
      harness::ReadStoredCase(kRoot / "baselines" / output_type / image.format / version / image.id,
                              output_type, image.format);
  return {Replace(stored.ReadStdout(), std::string(harness::kTestdataPlaceholder),
                  CorpusDir().string())};
}

testing::ProgramResult RunInstar(const std::string& sandbox, const std::string& version,
                                 const std::vector<std::string>& args) {
  ::setenv("TZ", "UTC", 1);
  ::setenv("LC_ALL", "C", 1);
  std::vector<std::string> argv = {INSTAR_BINARY_PATH, "--sandbox=" + sandbox, "--compat", version};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::RunProgram(argv);
}

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
