#include "instar/engine/version.h"

#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace instar {
namespace {

QemuVersion Parse(const std::string& s) {
  auto r = ParseQemuVersion(s.data(), s.size());
  EXPECT_TRUE(r.ok()) << s;
  return r.ok() ? *r : QemuVersion{};
}

TEST(VersionTest, ParsesThreeComponents) {
  QemuVersion v = Parse("10.0.13");
  EXPECT_EQ(v.major, 10);
  EXPECT_EQ(v.minor, 0);
  EXPECT_EQ(v.micro, 13);
}

TEST(VersionTest, RejectsMalformed) {
  for (const char* bad :
       {"", "7", "7.2", "7.2.", "7..2", "a.b.c", "7.2.22x", "1.2.3.4", "70000.0.0"}) {
    EXPECT_FALSE(ParseQemuVersion(bad, std::strlen(bad)).ok()) << bad;
  }
}

TEST(VersionTest, OrdersNumericallyNotLexically) {
  EXPECT_LT(Parse("7.2.22"), Parse("10.0.2"));
  EXPECT_LT(Parse("7.2.18"), Parse("7.2.22"));
  EXPECT_LT(Parse("5.2.0"), Parse("7.2.18"));
  EXPECT_LT(Parse("10.0.2"), Parse("10.0.13"));
  EXPECT_FALSE(Parse("11.1.3") < Parse("11.1.3"));
  EXPECT_TRUE(Parse("10.0.2").AtLeast(10, 0));
  EXPECT_FALSE(Parse("7.2.22").AtLeast(10, 0));
}

TEST(VersionTest, ReadsTheBannerOfEveryMatrixBuild) {
  const std::string banner =
      "qemu-img version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\n"
      "Copyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n";
  auto v = ParseVersionBanner(banner.data(), banner.size());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, (QemuVersion{7, 2, 22}));
  const std::string bare = "qemu-io version 11.1.3\n";
  auto w = ParseVersionBanner(bare.data(), bare.size());
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, (QemuVersion{11, 1, 3}));
  const std::string other = "qemu-system-x86_64 version 7.2.22\n";
  EXPECT_FALSE(ParseVersionBanner(other.data(), other.size()).ok());
}

TEST(VersionTest, FormatsBack) {
  char buf[18];
  EXPECT_EQ(FormatQemuVersion(QemuVersion{10, 0, 13}, buf), 7u);
  EXPECT_STREQ(buf, "10.0.13");
}

}  // namespace
}  // namespace instar
