#include "harness/conform/filters.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

using testing::kSourceRoot;
using testing::ReadText;

// The shape of `qemu-img info` 10.0.2 on the corpus image qcow2-backing
// (profiles/info-human/profile-03/qcow2/qcow2-backing.stdout.txt): a
// "disk size:" line for the image and one, indented, for its file child.
TEST(FilterDiskSizeTest, ReplacesTheImagesAndTheChildsValue) {
  const std::string text =
      ReadText(kSourceRoot / "profiles/info-human/profile-03/qcow2/qcow2-backing.stdout.txt");
  ASSERT_NE(text.find("\ndisk size: 84 KiB\n"), std::string::npos);
  ASSERT_NE(text.find("\n    disk size: 84 KiB\n"), std::string::npos);
  std::string expected = text;
  expected.replace(expected.find("\ndisk size: 84 KiB\n"), 19, "\ndisk size: $DISK_SIZE\n");
  expected.replace(expected.find("\n    disk size: 84 KiB\n"), 23, "\n    disk size: $DISK_SIZE\n");
  EXPECT_EQ(FilterDiskSize(text), expected);
}

TEST(FilterDiskSizeTest, AcceptsEverySizeQemuPrints) {
  for (const char* value : {"0 B", "512 B", "4 KiB", "1.5 MiB", "2.34 GiB", "16 EiB"}) {
    EXPECT_EQ(FilterDiskSize(std::string("disk size: ") + value + "\n"), "disk size: $DISK_SIZE\n")
        << value;
  }
  EXPECT_EQ(FilterDiskSize("disk size: 84 KiB"), "disk size: $DISK_SIZE");  // no final newline
}

TEST(FilterDiskSizeTest, LeavesEverythingElseAlone) {
  for (const char* line : {"disk size: unavailable\n", "disk size: 84KiB\n", "disk size: 84 kB\n",
                           "disk size: 84 KiB trailing\n", "disk size: -1 B\n", "disk size: 1. B\n",
                           "virtual size: 64 MiB (67108864 bytes)\n", "file length: 384 KiB\n",
                           "\tdisk size: 84 KiB\n", "xdisk size: 84 KiB\n", ""}) {
    EXPECT_EQ(FilterDiskSize(line), line) << line;
  }
}

// profiles/info-json/profile-01/qcow2/qcow2-v2.stdout.txt: qemu-img 5.2.0.
TEST(FilterActualSizeTest, ReplacesTheValueAndKeepsValidJson) {
  const std::string text =
      ReadText(kSourceRoot / "profiles/info-json/profile-01/qcow2/qcow2-v2.stdout.txt");
  ASSERT_NE(text.find("    \"actual-size\": 352256,\n"), std::string::npos);
  const std::string filtered = FilterActualSize(text);
  std::string expected = text;
  expected.replace(expected.find("\"actual-size\": 352256,"), 22,
                   "\"actual-size\": \"$ACTUAL_SIZE\",");
  EXPECT_EQ(filtered, expected);
  EXPECT_EQ(boost::json::parse(filtered).at("actual-size").as_string(), "$ACTUAL_SIZE");
}

// The file children of 10.0.2 (profiles/info-json/profile-03/vmdk/
// vmdk-flat.stdout.txt) carry their own actual-size, as the last member too.
TEST(FilterActualSizeTest, ReplacesEveryChildsValue) {
  const std::string text =
      ReadText(kSourceRoot / "profiles/info-json/profile-03/vmdk/vmdk-flat.stdout.txt");
  const std::string filtered = FilterActualSize(text);
  size_t count = 0;
  for (size_t at = filtered.find("\"actual-size\": \"$ACTUAL_SIZE\""); at != std::string::npos;
       at = filtered.find("\"actual-size\": \"$ACTUAL_SIZE\"", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 3u);
  EXPECT_EQ(filtered.find("\"actual-size\": 1"), std::string::npos);
  EXPECT_NO_THROW(boost::json::parse(filtered));
  EXPECT_EQ(FilterActualSize("    \"actual-size\": 4096\n"),
            "    \"actual-size\": \"$ACTUAL_SIZE\"\n");
}

TEST(FilterActualSizeTest, LeavesEverythingElseAlone) {
  for (const char* line :
       {"\"actual-size\": \"x\",\n", "\"actual-size\": -1,\n", "\"actual-size\": 12 ,\n",
        "{\"actual-size\": 12}\n", "\"virtual-size\": 67108864,\n", "\"actual-size\": ,\n"}) {
    EXPECT_EQ(FilterActualSize(line), line) << line;
  }
}

TEST(FiltersTest, EachIsFoundByNameAndKnowsItsSyntax) {
  ASSERT_NE(FindFilter("disk-size"), nullptr);
  EXPECT_EQ(FindFilter("disk-size")->syntax, OutputSyntax::kHuman);
  ASSERT_NE(FindFilter("actual-size"), nullptr);
  EXPECT_EQ(FindFilter("actual-size")->syntax, OutputSyntax::kJson);
  EXPECT_EQ(FindFilter("disk_size"), nullptr);
  EXPECT_EQ(SyntaxOfOutputType("info-json"), OutputSyntax::kJson);
  EXPECT_EQ(SyntaxOfOutputType("create-info-json"), OutputSyntax::kJson);
  EXPECT_EQ(SyntaxOfOutputType("measure-human"), OutputSyntax::kHuman);
}

}  // namespace
}  // namespace instar::harness
