// The bounded text writer behind every engine and guest message.
#include "instar/engine/text_builder.h"

#include <string>

#include <gtest/gtest.h>

namespace instar {
namespace {

TEST(TextBuilderTest, AppendsPiecesAndNumbers) {
  char buffer[64];
  TextBuilder text(buffer, sizeof(buffer));
  EXPECT_TRUE(text.empty());
  EXPECT_STREQ(text.c_str(), "");
  text.Append("size ").AppendDecimal(0).Append(' ').AppendDecimal(18446744073709551615ull);
  text.Append(", at ").AppendHex(0).Append(' ').AppendHex(0x1f).Append(' ').AppendHex(UINT64_MAX);
  text.Append("!?", 1);
  EXPECT_STREQ(text.c_str(), "size 0 18446744073709551615, at 0 0x1f 0xffffffffffffffff!");
  EXPECT_EQ(text.length(), std::string(text.c_str()).size());
  EXPECT_EQ(text.needed(), text.length());
  text.Clear();
  EXPECT_TRUE(text.empty());
  EXPECT_EQ(text.needed(), 0u);
  EXPECT_STREQ(buffer, "");
}

TEST(TextBuilderTest, CutsAtTheCapacityAndCountsWhatWasCut) {
  char buffer[8];
  for (char& c : buffer) c = '\x7f';
  TextBuilder text(buffer, 6);
  text.Append("abc").AppendDecimal(12345).Append('x');
  EXPECT_STREQ(text.c_str(), "abc12");
  EXPECT_EQ(text.length(), 5u);
  EXPECT_EQ(text.needed(), 9u);
  EXPECT_EQ(buffer[6], '\x7f');  // nothing past the capacity
}

TEST(TextBuilderTest, CapacityZeroOnlyCounts) {
  TextBuilder text(nullptr, 0);
  text.Append("qemu-img: ").AppendHex(0x10);
  EXPECT_EQ(text.length(), 0u);
  EXPECT_EQ(text.needed(), 14u);
  EXPECT_STREQ(text.c_str(), "");

  char one[1] = {'z'};
  TextBuilder empty(one, sizeof(one));
  empty.Append("abc");
  EXPECT_EQ(one[0], '\0');
  EXPECT_EQ(empty.needed(), 3u);
}

TEST(TextBuilderTest, AppendsAStatusWithItsArgument) {
  char buffer[64];
  TextBuilder text(buffer, sizeof(buffer));
  text.Append(Status::NotSupported("cluster size 2^{} in {}").With(30)).Append(';');
  text.Append(Status::Corruption("plain {}"));
  EXPECT_STREQ(text.c_str(), "cluster size 2^30 in {};plain {}");
}

TEST(TextBuilderTest, BoundedLengthStopsAtTheLimit) {
  EXPECT_EQ(BoundedLength("abc", 10), 3u);
  const char unterminated[4] = {'a', 'b', 'c', 'd'};
  EXPECT_EQ(BoundedLength(unterminated, sizeof(unterminated)), 4u);
  EXPECT_EQ(BoundedLength("", 0), 0u);
}

}  // namespace
}  // namespace instar
