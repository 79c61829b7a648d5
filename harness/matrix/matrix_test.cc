#include "harness/matrix/matrix.h"

#include <gtest/gtest.h>

#include "harness/core/error.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

namespace fs = std::filesystem;
using testing::kSystemQemuImg;
using testing::TempDir;

TEST(MatrixTest, VersionsSortNumerically) {
  std::vector<std::string> versions = {"11.1.3",  "7.2.22", "10.0.2", "5.2.0",
                                       "10.0.13", "7.2.18", "11.1.2"};
  SortVersionTexts(versions);
  EXPECT_EQ(versions, (std::vector<std::string>{"5.2.0", "7.2.18", "7.2.22", "10.0.2", "10.0.13",
                                                "11.1.2", "11.1.3"}));
  std::vector<std::string> mixed = {"notes", "10.0.2", "9.0.0"};
  SortVersionTexts(mixed);
  EXPECT_EQ(mixed, (std::vector<std::string>{"9.0.0", "10.0.2", "notes"}));
}

TEST(MatrixTest, VersionTextRoundTrip) {
  auto version = ParseVersionText("10.0.13");
  ASSERT_TRUE(version);
  EXPECT_EQ(VersionText(*version), "10.0.13");
  EXPECT_FALSE(ParseVersionText("10.0"));
  EXPECT_FALSE(ParseVersionText("v10.0.1"));
}

TEST(MatrixTest, SystemQemuImgIsAMatrixOfOne) {
  ChildRunner runner;
  Matrix matrix = MatrixOfBinary(kSystemQemuImg, true, runner);
  ASSERT_EQ(matrix.entries.size(), 1u);
  const MatrixEntry& entry = matrix.entries[0];
  EXPECT_EQ(entry.qemu_img_banner.rfind("qemu-img version " + entry.version_text, 0), 0u);
  EXPECT_EQ(entry.qemu_io_banner.rfind("qemu-io version " + entry.version_text, 0), 0u);
}

// A matrix directory of the system binary under its own version, and the
// two ways such a directory can be wrong.
TEST(MatrixTest, DirectoryNamedByVersion) {
  ChildRunner runner;
  const std::string version = MatrixOfBinary(kSystemQemuImg, false, runner).entries[0].version_text;
  TempDir dir;
  fs::create_directories(dir.path() / version);
  fs::create_symlink(kSystemQemuImg, dir.path() / version / "qemu-img");
  fs::create_directories(dir.path() / "empty-dir-is-ignored");
  Matrix matrix = MatrixOfDirectory(dir.path(), false, runner);
  ASSERT_EQ(matrix.entries.size(), 1u);
  EXPECT_EQ(matrix.entries[0].version_text, version);
  EXPECT_TRUE(matrix.entries[0].qemu_io.empty());

  fs::create_directories(dir.path() / "0.0.1");
  fs::create_symlink(kSystemQemuImg, dir.path() / "0.0.1" / "qemu-img");
  EXPECT_THROW(MatrixOfDirectory(dir.path(), false, runner), HarnessError);
  fs::remove_all(dir.path() / "0.0.1");

  fs::create_directories(dir.path() / "latest");
  fs::create_symlink(kSystemQemuImg, dir.path() / "latest" / "qemu-img");
  EXPECT_THROW(MatrixOfDirectory(dir.path(), false, runner), HarnessError);
}

TEST(MatrixTest, SelectVersions) {
  ChildRunner runner;
  Matrix matrix = MatrixOfBinary(kSystemQemuImg, false, runner);
  const std::string version = matrix.entries[0].version_text;
  EXPECT_EQ(SelectVersions(matrix, {}).entries.size(), 1u);
  EXPECT_EQ(SelectVersions(matrix, {version, version}).entries.size(), 1u);
  EXPECT_THROW(SelectVersions(matrix, {"0.0.1"}), HarnessError);
}

// The fetched matrix, when present: listed ascending by version, each
// directory agreeing with what its binary prints.
TEST(MatrixTest, FetchedMatrixListsAscending) {
  const fs::path fetched = testing::kSourceRoot / "qemu-img-binaries/x86_64";
  if (!fs::is_directory(fetched)) GTEST_SKIP() << "no fetched matrix (ci/fetch-qemu-matrix)";
  ChildRunner runner;
  Matrix matrix = MatrixOfDirectory(fetched, true, runner);
  ASSERT_GE(matrix.entries.size(), 2u);
  for (size_t i = 1; i < matrix.entries.size(); ++i) {
    EXPECT_TRUE(matrix.entries[i - 1].version < matrix.entries[i].version);
  }
}

}  // namespace
}  // namespace instar::harness
