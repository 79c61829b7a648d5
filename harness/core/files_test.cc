#include "harness/core/files.h"

#include <gtest/gtest.h>

#include "harness/core/error.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

namespace fs = std::filesystem;

TEST(FilesTest, AtomicWriteReplacesAndLeavesNoTemporary) {
  testing::TempDir dir;
  const fs::path path = dir.path() / "a.txt";
  WriteFileAtomic(path, "first");
  WriteFileAtomic(path, "second, longer");
  EXPECT_EQ(ReadFile(path), "second, longer");
  EXPECT_EQ(testing::ReadTree(dir.path()).size(), 1u);
  WriteFileAtomic(path, "");
  EXPECT_EQ(ReadFile(path), "");
}

TEST(FilesTest, ErrorsNameThePath) {
  testing::TempDir dir;
  try {
    WriteFileAtomic(dir.path() / "missing-dir" / "a.txt", "x");
    FAIL();
  } catch (const HarnessError& error) {
    EXPECT_NE(std::string(error.what()).find("missing-dir/a.txt.tmp: cannot create"),
              std::string::npos);
  }
  EXPECT_THROW(ReadFile(dir.path() / "nothing"), HarnessError);
}

}  // namespace
}  // namespace instar::harness
