#include "harness/run/normalise.h"

#include <gtest/gtest.h>

namespace instar::harness {
namespace {

TEST(RewritePathsTest, ReplacesEveryOccurrenceLongestFirst) {
  std::vector<PathRewrite> rewrites = {{"/tmp/h.1/corpus", "$TESTDATA_ROOT"},
                                       {"/tmp/h.1/corpus/w0/filename", "$FILENAME"}};
  EXPECT_EQ(RewritePaths("image: /tmp/h.1/corpus/w0/filename\n"
                         "backing file: a.qcow2 (actual path: /tmp/h.1/corpus/a.qcow2)\n"
                         "Formatting '/tmp/h.1/corpus/w0/filename', fmt=raw\n",
                         rewrites),
            "image: $FILENAME\n"
            "backing file: a.qcow2 (actual path: $TESTDATA_ROOT/a.qcow2)\n"
            "Formatting '$FILENAME', fmt=raw\n");
}

TEST(RewritePathsTest, LeavesOtherTextAlone) {
  EXPECT_EQ(RewritePaths("no paths here: /tmp/other\n", {{"/tmp/h.1/w0/filename", "$FILENAME"}}),
            "no paths here: /tmp/other\n");
  EXPECT_EQ(RewritePaths("", {{"/x", "$FILENAME"}}), "");
  EXPECT_EQ(RewritePaths("/x", {{"", "$NOTHING"}}), "/x");
}

// The shapes below are those of `qemu-img info` (7.2.22) on a vmdk that
// `qemu-img create -f vmdk` made; the cid value is random on every create.
TEST(FilterRandomCidTest, JsonField) {
  EXPECT_EQ(FilterRandomCid("        \"data\": {\n"
                            "            \"cid\": 2674622677,\n"
                            "            \"parent-cid\": 4294967295,\n"),
            "        \"data\": {\n"
            "            \"cid\": \"$CID\",\n"
            "            \"parent-cid\": 4294967295,\n");
  EXPECT_EQ(FilterRandomCid("{\"cid\": 7}"), "{\"cid\": 7}");  // not a field line of its own
  EXPECT_EQ(FilterRandomCid("    \"cid\": 12\n"), "    \"cid\": \"$CID\"\n");
}

TEST(FilterRandomCidTest, HumanField) {
  EXPECT_EQ(FilterRandomCid("Format specific information:\n"
                            "    cid: 2674622677\n"
                            "    parent cid: 4294967295\n"
                            "    create type: monolithicSparse\n"),
            "Format specific information:\n"
            "    cid: $CID\n"
            "    parent cid: 4294967295\n"
            "    create type: monolithicSparse\n");
}

TEST(FilterRandomCidTest, NothingElse) {
  const std::string text =
      "    parent cid: 4294967295\n"
      "    \"parent-cid\": 4294967295,\n"
      "    cid: not-a-number\n"
      "    cid: 12 and more\n"
      "    acid: 12\n"
      "no trailing newline";
  EXPECT_EQ(FilterRandomCid(text), text);
}

}  // namespace
}  // namespace instar::harness
