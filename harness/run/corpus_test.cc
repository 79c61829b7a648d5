#include "harness/run/corpus.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "harness/core/error.h"
#include "harness/core/sha256.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

uint64_t AllocatedBytes(const fs::path& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

TEST(CorpusTest, ZeroBlocksBecomeHoles) {
  TempDir dir;
  std::string data(16 * 4096 + 100, '\0');
  data[5 * 4096] = 'x';        // one data block
  data[16 * 4096 + 99] = 'y';  // and the short tail
  WriteSparseFile(dir.path() / "f", data);
  EXPECT_EQ(testing::ReadText(dir.path() / "f"), data);
  EXPECT_EQ(fs::file_size(dir.path() / "f"), data.size());
  EXPECT_LE(AllocatedBytes(dir.path() / "f"), 2u * 4096);

  std::string zeros(1 << 20, '\0');
  WriteSparseFile(dir.path() / "z", zeros);
  EXPECT_EQ(fs::file_size(dir.path() / "z"), zeros.size());
  EXPECT_EQ(AllocatedBytes(dir.path() / "z"), 0u);
}

TEST(CorpusTest, MaterialisesTheCorpusUnderItsNames) {
  const fs::path images = testing::kSourceRoot / "cases/images";
  Manifest manifest = LoadManifest(images / "manifest.json");
  TempDir dir;
  MaterialiseCorpus(manifest, images, dir.path(), 2, nullptr);
  for (const auto& image : manifest.images) {
    for (const auto& file : image.files) {
      const fs::path path = dir.path() / file.name;
      ASSERT_TRUE(fs::exists(path)) << file.name;
      EXPECT_EQ(fs::file_size(path), file.size);
      // Read-only: no case may change the corpus.
      EXPECT_EQ(fs::status(path).permissions() & fs::perms::owner_write, fs::perms::none);
    }
  }
  // The stored .xz files come out decompressed, checked and sparse.
  auto vhdx =
      std::find_if(manifest.images.begin(), manifest.images.end(),
                   [](const ManifestImage& i) { return i.files[0].stored.ends_with(".xz"); });
  ASSERT_NE(vhdx, manifest.images.end());
  const fs::path big = dir.path() / vhdx->files[0].name;
  Sha256 sha;
  std::string bytes = testing::ReadText(big);
  sha.Update(bytes.data(), bytes.size());
  EXPECT_EQ(sha.FinishHex(), vhdx->files[0].sha256);
  EXPECT_LT(AllocatedBytes(big), vhdx->files[0].size);
}

TEST(CorpusTest, ChecksumMismatchIsAnError) {
  const fs::path images = testing::kSourceRoot / "cases/images";
  Manifest manifest = LoadManifest(images / "manifest.json");
  manifest.images.resize(1);
  manifest.images[0].files[0].sha256 = std::string(64, '0');
  TempDir dir;
  try {
    MaterialiseCorpus(manifest, images, dir.path(), 1, nullptr);
    FAIL() << "accepted a wrong sha256";
  } catch (const HarnessError& error) {
    EXPECT_NE(std::string(error.what()).find("differs from the manifest's"), std::string::npos);
  }
}

}  // namespace
}  // namespace instar::harness
