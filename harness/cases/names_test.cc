#include "harness/cases/names.h"

#include <gtest/gtest.h>

namespace instar::harness {
namespace {

TEST(NamesTest, SafeNames) {
  EXPECT_TRUE(IsSafeName("1G-qcow2-cs-512"));
  EXPECT_TRUE(IsSafeName("qcow2-v2__raw"));
  EXPECT_TRUE(IsSafeName("_size"));
  EXPECT_FALSE(IsSafeName(""));
  EXPECT_FALSE(IsSafeName("."));
  EXPECT_FALSE(IsSafeName(".."));
  EXPECT_FALSE(IsSafeName(".hidden"));
  EXPECT_FALSE(IsSafeName("-o"));
  EXPECT_FALSE(IsSafeName("a/b"));
  EXPECT_FALSE(IsSafeName("a b"));
}

TEST(NamesTest, SizeStrings) {
  EXPECT_EQ(ParseSizeString("0"), 0u);
  EXPECT_EQ(ParseSizeString("512"), 512u);
  EXPECT_EQ(ParseSizeString("4k"), 4096u);
  EXPECT_EQ(ParseSizeString("1M"), 1048576u);
  EXPECT_EQ(ParseSizeString("1G"), 1073741824u);
  EXPECT_EQ(ParseSizeString("1T"), 1099511627776u);
  EXPECT_EQ(ParseSizeString("7E"), 7ull << 60);
  EXPECT_FALSE(ParseSizeString("8E"));  // above 2^63-1
  EXPECT_FALSE(ParseSizeString(""));
  EXPECT_FALSE(ParseSizeString("G"));
  EXPECT_FALSE(ParseSizeString("1GB"));
  EXPECT_FALSE(ParseSizeString("1.5G"));
  EXPECT_FALSE(ParseSizeString("-1M"));
  EXPECT_FALSE(ParseSizeString("1X"));
  EXPECT_FALSE(ParseSizeString("99999999999999999999"));
}

TEST(NamesTest, OptionStrings) {
  EXPECT_TRUE(IsOptionString("cluster_size=512"));
  EXPECT_TRUE(IsOptionString("extended_l2=on,cluster_size=64k"));
  EXPECT_TRUE(IsOptionString("compat=0.10"));
  EXPECT_FALSE(IsOptionString(""));
  EXPECT_FALSE(IsOptionString("cluster_size"));
  EXPECT_FALSE(IsOptionString("=512"));
  EXPECT_FALSE(IsOptionString("a=1,"));
  EXPECT_FALSE(IsOptionString("a=1,,b=2"));
  EXPECT_FALSE(IsOptionString("a=1 b=2"));
  EXPECT_FALSE(IsOptionString("Cluster=1"));
}

}  // namespace
}  // namespace instar::harness
