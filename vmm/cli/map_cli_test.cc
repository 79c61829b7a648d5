// `instar map` end to end, through the process backend. Every expected text
// is what qemu-img-binaries/x86_64/<version>/qemu-img map printed for the
// same arguments (run in cases/images), "qemu-img" replaced by instar's
// name; the whole corpus is conform_map_*'s (harness/).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vmm/testing/subprocess.h"

namespace instar::vmm {
namespace {

const std::string kImages = std::string(INSTAR_SOURCE_ROOT) + "/cases/images/";
const std::string kSelf = INSTAR_BINARY_PATH;

testing::ProgramResult Map(const std::string& version, std::vector<std::string> args) {
  args.insert(args.begin(), {kSelf, "--sandbox=process", "--compat", version, "map"});
  return testing::RunProgram(args);
}

// map qcow2-zero.qcow2 (5.2.0 and 11.1.3 alike); the file column is the name
// as given.
TEST(MapCliTest, HumanTable) {
  for (const char* version : {"5.2.0", "11.1.3"}) {
    const testing::ProgramResult r = Map(version, {kImages + "qcow2-zero.qcow2"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out,
              "Offset          Length          Mapped to       File\n"
              "0               0x20000         0x50000         " +
                  kImages + "qcow2-zero.qcow2\n")
        << version;
    EXPECT_EQ(r.err, "");
  }
}

// map --output=json -s 64k -l 300000 qcow2-zero.qcow2
TEST(MapCliTest, StartOffsetAndMaxLength) {
  testing::ProgramResult r =
      Map("5.2.0", {"--output=json", "-s", "64k", "-l", "300000", kImages + "qcow2-zero.qcow2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "[{ \"start\": 65536, \"length\": 65536, \"depth\": 0, \"zero\": false, \"data\": "
            "true, \"offset\": 393216},\n"
            "{ \"start\": 131072, \"length\": 234464, \"depth\": 0, \"zero\": true, \"data\": "
            "false}]\n");
  r = Map("11.1.3", {"--output=json", "--start-offset", "64k", "--max-length", "300000",
                     kImages + "qcow2-zero.qcow2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "[{ \"start\": 65536, \"length\": 65536, \"depth\": 0, \"present\": true, \"zero\": "
            "false, \"data\": true, \"compressed\": false, \"offset\": 393216},\n"
            "{ \"start\": 131072, \"length\": 234464, \"depth\": 0, \"present\": true, \"zero\": "
            "true, \"data\": false, \"compressed\": false}]\n");
}

// map --output=json -s 1G qcow2-zero.qcow2 (a 64 MiB disk), and
// -s 1 -l 9223372036854775807, whose sum wraps in qemu-img (11.1.3; 5.2.0
// refuses that length, its sizes go through a double).
TEST(MapCliTest, NothingToWalkPrintsTheEmptyExtent) {
  testing::ProgramResult r =
      Map("5.2.0", {"--output=json", "-s", "1G", kImages + "qcow2-zero.qcow2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "[{ \"start\": 1073741824, \"length\": 0, \"depth\": 0, \"zero\": false, \"data\": "
            "false}]\n");
  r = Map("11.1.3",
          {"--output=json", "-s", "1", "-l", "9223372036854775807", kImages + "qcow2-zero.qcow2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "[{ \"start\": 1, \"length\": 0, \"depth\": 0, \"present\": false, \"zero\": false, "
            "\"data\": false, \"compressed\": false}]\n");
  r = Map("5.2.0",
          {"--output=json", "-s", "1", "-l", "9223372036854775807", kImages + "qcow2-zero.qcow2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "instar: Invalid max length specified. Must be between 0 and 9223372036854775807.\n");
}

struct ErrorCase {
  const char* version;
  std::vector<std::string> args;
  std::string err;
};

TEST(MapCliTest, ArgumentErrorsAreEachVersionsOwn) {
  const std::string image = kImages + "qcow2-zero.qcow2";
  const std::vector<ErrorCase> cases = {
      {"5.2.0",
       {"-s", "1X", image},
       "instar: Invalid start offset specified. You may use k, M, G, T, P or E suffixes for\n"
       "instar: kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.\n"},
      {"11.1.3", {"-s", "1X", image}, "instar: Invalid start offset specified: '1X'\n"},
      {"5.2.0",
       {"--output=xml", image},
       "instar: --output must be used with human or json as argument.\n"},
      {"11.1.3",
       {"--output=xml", image},
       "instar: --output expects 'human' or 'json', not 'xml'\nTry '" + kSelf +
           " map --help' for more information\n"},
      {"5.2.0",
       {},
       "instar: Expecting one image file name\nTry 'instar --help' for more information\n"},
      {"11.1.3",
       {},
       "instar: Expecting one image file name\nTry '" + kSelf +
           " map --help' for more information\n"},
      {"5.2.0",
       {"-q", image},
       "instar: unrecognized option '-q'\nTry 'instar --help' for more information\n"},
      {"11.1.3",
       {"-q", image},
       kSelf + " map: invalid option -- 'q'\nTry '" + kSelf +
           " map --help' for more information\n"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(std::string(c.version) + " " + (c.args.empty() ? "" : c.args[0]));
    const testing::ProgramResult r = Map(c.version, c.args);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, c.err);
  }
}

// map [--output=json] caution-qcow2-corrupt.qcow2 (10.0.13): what was
// printed before the walk failed stays, then qcow2's corruption line and
// qemu-img's error.
TEST(MapCliTest, AWalkThatFailsKeepsWhatWasPrinted) {
  const std::string image = kImages + "caution-qcow2-corrupt.qcow2";
  const std::string err =
      "qcow2: Image is corrupt: Cluster allocation offset 0x5200 unaligned (L2 offset: 0x4000, "
      "L2 index: 0); further non-fatal corruption events will be suppressed\n"
      "instar: Could not read file metadata: Input/output error\n";
  testing::ProgramResult r = Map("10.0.13", {"--output=json", image});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "[");
  EXPECT_EQ(r.err, err);
  r = Map("10.0.13", {image});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "Offset          Length          Mapped to       File\n");
  EXPECT_EQ(r.err, err);
}

// map qcow2-compressed.qcow2 (10.0.13): the human table refuses
// compressed clusters.
TEST(MapCliTest, HumanRefusesCompressedClusters) {
  const testing::ProgramResult r = Map("10.0.13", {kImages + "qcow2-compressed.qcow2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "Offset          Length          Mapped to       File\n");
  EXPECT_EQ(r.err, "instar: File contains external, encrypted or compressed clusters.\n");
}

// map cases/images/qcow2-datafile.qcow2 from a directory without its data
// file (every version alike): the data file is named as the image gives
// it, relative to the working directory.
TEST(MapCliTest, AMissingDataFileIsNamed) {
  const std::string image = kImages + "qcow2-datafile.qcow2";
  const testing::ProgramResult r = Map("10.0.13", {image});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "instar: Could not open '" + image +
                       "': Could not open 'qcow2-datafile.data': No such file or directory\n");
}

// instar's own bound (map_result.h): a map of more than 16384 extents stops
// there with one line that says where to go on, and going on from there
// gives the rest. The image: a raw file of 4 KiB data blocks with 4 KiB
// holes between them, two extents per 8 KiB.
TEST(MapCliTest, AMapOfTooManyExtentsStopsWithWhereToGoOn) {
  const std::string path = ::testing::TempDir() + "instar-map-many-extents.raw";
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_RDWR, 0600);
  ASSERT_GE(fd, 0);
  constexpr uint64_t kBlocks = 9000;  // data blocks: 18000 extents
  std::vector<char> block(4096, 'x');
  for (uint64_t i = 0; i < kBlocks; ++i) {
    ASSERT_EQ(::pwrite(fd, block.data(), block.size(), static_cast<off_t>(i * 8192)), 4096);
  }
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(kBlocks * 8192)), 0);
  const off_t hole = ::lseek(fd, 0, SEEK_HOLE);
  ::close(fd);
  if (hole != 4096) {
    std::remove(path.c_str());
    GTEST_SKIP() << "this file system makes no 4 KiB holes (SEEK_HOLE gave " << hole << ")";
  }

  const testing::ProgramResult first = Map("11.1.3", {"--output=json", "-f", "raw", path});
  EXPECT_EQ(first.exit_code, 1);
  const uint64_t stop = 16384 * 4096;
  EXPECT_EQ(first.err,
            "instar: the map has more than 16384 extents, more than instar returns at once; map "
            "the rest with --start-offset " +
                std::to_string(stop) + "\n");
  EXPECT_EQ(std::count(first.out.begin(), first.out.end(), '\n'), 16384);
  EXPECT_EQ(first.out.substr(first.out.size() - 2), ",\n");

  const testing::ProgramResult rest =
      Map("11.1.3", {"--output=json", "-f", "raw", "--start-offset", std::to_string(stop), path});
  EXPECT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_EQ(rest.out.rfind("[{ \"start\": " + std::to_string(stop) + ",", 0), 0u);
  EXPECT_EQ(std::count(rest.out.begin(), rest.out.end(), '\n'), 18000 - 16384);
  EXPECT_EQ(rest.out.substr(rest.out.size() - 2), "]\n");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace instar::vmm
