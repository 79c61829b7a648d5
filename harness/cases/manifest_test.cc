#include "harness/cases/manifest.h"

#include <gtest/gtest.h>

#include "harness/core/error.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

using testing::TempDir;
using testing::WriteText;

TEST(ManifestTest, LoadsTheCorpusManifest) {
  Manifest manifest = LoadManifest(testing::kSourceRoot / "cases/images/manifest.json");
  ASSERT_FALSE(manifest.images.empty());
  auto flat = std::find_if(manifest.images.begin(), manifest.images.end(),
                           [](const ManifestImage& image) { return image.id == "vmdk-flat"; });
  ASSERT_NE(flat, manifest.images.end());
  EXPECT_EQ(flat->format, "vmdk");
  ASSERT_EQ(flat->files.size(), 2u);  // descriptor first, then its extent
  EXPECT_EQ(flat->files[0].name, "vmdk-flat.vmdk");
}

TEST(ManifestTest, RejectsABadEntry) {
  TempDir dir;
  WriteText(dir.path() / "manifest.json",
            R"({"images": [{"id": "x", "format": "raw", "tier": "safe", "files": [)"
            R"({"name": "x.raw", "stored": "x.raw", "size": 1, "sha256": "00"}]}]})");
  try {
    LoadManifest(dir.path() / "manifest.json");
    FAIL() << "accepted a short sha256";
  } catch (const HarnessError& error) {
    EXPECT_EQ(std::string(error.what()), (dir.path() / "manifest.json").string() +
                                             R"(: images[0] "x" files[0]: sha256 is not 64 )"
                                             "lowercase hex digits");
  }
}

}  // namespace
}  // namespace instar::harness
