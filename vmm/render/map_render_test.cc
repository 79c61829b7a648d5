// RenderMap against qemu-img's own output: the extents of the corpus's
// three-image chain (baselines/map-json/qcow2/<version>/qcow2-chain3, which
// every version walks alike) rendered as each version prints them must be
// byte for byte the baseline of that version.
#include "vmm/render/map_render.h"

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "instar/engine/version.h"

namespace instar::vmm {
namespace {

QemuVersion Version(const std::string& text) {
  Result<QemuVersion> v = ParseQemuVersion(text.data(), text.size());
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *v : QemuVersion{};
}

std::string Baseline(const std::string& type, const std::string& version, const std::string& name) {
  std::ifstream in(std::string(INSTAR_SOURCE_ROOT) + "/baselines/" + type + "/qcow2/" + version +
                   "/" + name);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

MapExtentView Extent(uint64_t start, uint64_t length, uint32_t depth, bool zero, bool data,
                     uint64_t offset) {
  MapExtentView e;
  e.start = start;
  e.length = length;
  e.depth = depth;
  e.present = true;
  e.zero = zero;
  e.data = data;
  e.has_offset = true;
  e.offset = offset;
  e.device = 2 - depth;  // the files below: top, mid, base
  return e;
}

// The extents of qemu-img map --output=json chain-top.qcow2 (10.0.13).
MapView Chain3() {
  MapView view;
  view.extents = {
      Extent(0, 524288, 2, false, true, 0),
      Extent(524288, 65536, 1, false, true, 327680),
      Extent(589824, 65536, 0, false, true, 327680),
      Extent(655360, 393216, 2, false, true, 655360),
      Extent(1048576, 11534336, 2, true, false, 1048576),
      Extent(12582912, 65536, 2, false, true, 12582912),
      Extent(12648448, 3080192, 2, true, false, 12648448),
      Extent(15728640, 65536, 0, false, true, 393216),
      Extent(15794176, 983040, 2, true, false, 15794176),
  };
  return view;
}

const std::vector<std::string> kFiles = {"$TESTDATA_ROOT/chain-base.raw",
                                         "$TESTDATA_ROOT/chain-mid.qcow2",
                                         "$TESTDATA_ROOT/chain-top.qcow2"};

TEST(MapRenderTest, JsonIsEachVersionsOwn) {
  for (const char* version : {"5.2.0", "7.2.22", "10.0.13", "11.1.3"}) {
    SCOPED_TRACE(version);
    const std::string expected = Baseline("map-json", version, "qcow2-chain3.stdout.txt");
    ASSERT_FALSE(expected.empty());
    const MapOutput out =
        RenderMap(Chain3(), kFiles, OutputFormat::kJson, MapDialectFor(Version(version)));
    EXPECT_EQ(out.out, expected);
    EXPECT_EQ(out.err, "");
    EXPECT_FALSE(out.failed);
  }
}

TEST(MapRenderTest, HumanPrintsTheDataExtentsWithTheirFiles) {
  for (const char* version : {"5.2.0", "10.0.13"}) {
    const std::string expected = Baseline("map-human", version, "qcow2-chain3.stdout.txt");
    ASSERT_FALSE(expected.empty());
    const MapOutput out =
        RenderMap(Chain3(), kFiles, OutputFormat::kHuman, MapDialectFor(Version(version)));
    EXPECT_EQ(out.out, expected) << version;
    EXPECT_FALSE(out.failed);
  }
}

// baselines/map-{human,json}/qcow2/10.0.13/qcow2-compressed: the human
// table stops at the first compressed extent; JSON prints it.
TEST(MapRenderTest, HumanRefusesCompressedExtents) {
  MapView view;
  MapExtentView compressed;
  compressed.length = 262144;
  compressed.present = true;
  compressed.data = true;
  compressed.compressed = true;
  view.extents = {compressed};
  const MapOutput human =
      RenderMap(view, kFiles, OutputFormat::kHuman, MapDialectFor(Version("10.0.13")));
  EXPECT_EQ(human.out, Baseline("map-human", "10.0.13", "qcow2-compressed.stdout.txt"));
  EXPECT_EQ(human.err, Baseline("map-human", "10.0.13", "qcow2-compressed.stderr.txt"));
  EXPECT_TRUE(human.failed);
  const MapOutput json =
      RenderMap(view, kFiles, OutputFormat::kJson, MapDialectFor(Version("10.0.13")));
  EXPECT_EQ(json.out,
            "[{ \"start\": 0, \"length\": 262144, \"depth\": 0, \"present\": true, \"zero\": "
            "false, \"data\": true, \"compressed\": true}]\n");
  EXPECT_FALSE(json.failed);
}

// After the first extent, an extent of data and zeros without an offset
// reached qemu-img's human dump folded into zeros: no error, no line.
TEST(MapRenderTest, HumanFoldsZeroDataAfterTheFirstExtent) {
  MapView view = Chain3();
  view.extents.resize(1);
  MapExtentView zero_data;
  zero_data.start = 524288;
  zero_data.length = 4096;
  zero_data.zero = true;
  zero_data.data = true;
  view.extents.push_back(zero_data);
  MapOutput out = RenderMap(view, kFiles, OutputFormat::kHuman, MapDialectFor(Version("10.0.13")));
  EXPECT_FALSE(out.failed);
  // As the first extent it is dumped as it is, and refused.
  view.extents = {zero_data};
  view.extents[0].start = 0;
  out = RenderMap(view, kFiles, OutputFormat::kHuman, MapDialectFor(Version("10.0.13")));
  EXPECT_TRUE(out.failed);
}

// baselines/map-{human,json}/qcow2/10.0.13/caution-qcow2-corrupt: the walk
// failed at once; what was printed stays, and the failure follows.
TEST(MapRenderTest, AFailedWalkKeepsWhatWasPrinted) {
  MapView view;
  view.failure =
      "qcow2: Image is corrupt: Cluster allocation offset 0x5200 unaligned (L2 offset: 0x4000, "
      "L2 index: 0); further non-fatal corruption events will be suppressed\n"
      "qemu-img: Could not read file metadata: Input/output error";
  for (OutputFormat format : {OutputFormat::kHuman, OutputFormat::kJson}) {
    const std::string type = format == OutputFormat::kHuman ? "map-human" : "map-json";
    const MapOutput out = RenderMap(view, kFiles, format, MapDialectFor(Version("10.0.13")));
    EXPECT_EQ(out.out, Baseline(type, "10.0.13", "caution-qcow2-corrupt.stdout.txt")) << type;
    EXPECT_EQ(out.err, Baseline(type, "10.0.13", "caution-qcow2-corrupt.stderr.txt")) << type;
    EXPECT_TRUE(out.failed);
  }
  // Extents printed before the failure end with the comma of one that has
  // a next, and no "]" follows.
  view.extents = {Chain3().extents[0]};
  const MapOutput out =
      RenderMap(view, kFiles, OutputFormat::kJson, MapDialectFor(Version("5.2.0")));
  EXPECT_EQ(out.out,
            "[{ \"start\": 0, \"length\": 524288, \"depth\": 2, \"zero\": false, \"data\": true, "
            "\"offset\": 0},\n");
}

}  // namespace
}  // namespace instar::vmm
