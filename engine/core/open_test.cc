// OpenImage() in an arena too small for the image: for each format, every
// such arena gives NoSpace, never anything else, and is left as it was; a
// large enough one opens the image.
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "instar/engine/image.h"
#include "testing/corpus.h"
#include "testing/memory_device.h"

namespace instar {
namespace {

using testing::MapOpener;
using testing::MemoryDevice;

struct ExhaustionCase {
  const char* name;
  const char* image;  // in the corpus
  ImageFormat format;
  size_t arena_bytes;  // enough to open it
  size_t step;         // between the arena sizes tried
};

const ExhaustionCase kCases[] = {
    {"VmdkSparse", "vmdk-sparse.vmdk", ImageFormat::kVmdk, 512 * 1024, 1024},
    {"VmdkFlat", "vmdk-flat.vmdk", ImageFormat::kVmdk, 512 * 1024, 1024},
    {"VpcDynamic", "vpc-dynamic.vhd", ImageFormat::kVpc, 256 * 1024, 1024},
    {"VhdxBlock1m", "vhdx-block1m.vhdx", ImageFormat::kVhdx, 512 * 1024, 2048},
};

void PrintTo(const ExhaustionCase& c, std::ostream* os) { *os << c.image; }

class ArenaExhaustionTest : public ::testing::TestWithParam<ExhaustionCase> {};

TEST_P(ArenaExhaustionTest, IsNoSpace) {
  const ExhaustionCase& c = GetParam();
  MemoryDevice device(testing::CorpusBytes(c.image));
  MemoryDevice flat(testing::CorpusBytes("vmdk-flat-flat.vmdk"));  // vmdk-flat's extent
  MapOpener opener;
  opener.Add("vmdk-flat-flat.vmdk", &flat);
  std::vector<uint8_t> buffer(c.arena_bytes);
  bool opened = false;
  for (size_t size = 0; size <= buffer.size(); size += c.step) {
    Arena arena(buffer.data(), size);
    auto image = OpenImage(c.format, device, opener, arena, OpenOptions{QemuVersion{10, 0, 13}});
    if (image.ok()) {
      opened = true;
      break;
    }
    EXPECT_EQ(image.status().code(), StatusCode::kNoSpace) << size;
    EXPECT_EQ(arena.used(), 0u) << size;
  }
  EXPECT_TRUE(opened);
}

INSTANTIATE_TEST_SUITE_P(Formats, ArenaExhaustionTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<ExhaustionCase>& param_info) {
                           return std::string(param_info.param.name);
                         });

}  // namespace
}  // namespace instar
