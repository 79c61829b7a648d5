#include "harness/conform/unified_diff.h"

#include <gtest/gtest.h>

#include "harness/run/child.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

using testing::TempDir;
using testing::WriteText;

// GNU diff is the reference: `diff -u --label qemu-img --label instar A B`.
std::string GnuDiff(const std::string& a, const std::string& b) {
  TempDir dir;
  WriteText(dir.path() / "a", a);
  WriteText(dir.path() / "b", b);
  ChildRunner runner;
  ChildResult result = runner.Run({FindOnPath("diff"),
                                   {"-u", "--label", "qemu-img", "--label", "instar",
                                    (dir.path() / "a").string(), (dir.path() / "b").string()},
                                   MinimalEnvironment()});
  return result.out;
}

std::string Lines(int from, int to, const std::string& prefix = "line ") {
  std::string text;
  for (int i = from; i <= to; ++i) text += prefix + std::to_string(i) + "\n";
  return text;
}

TEST(UnifiedDiffTest, EqualTextsGiveNothing) {
  EXPECT_EQ(UnifiedDiff("a\nb\n", "a\nb\n", "qemu-img", "instar"), "");
  EXPECT_EQ(UnifiedDiff("", "", "qemu-img", "instar"), "");
}

TEST(UnifiedDiffTest, MatchesGnuDiff) {
  ASSERT_FALSE(FindOnPath("diff").empty());
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"a\nb\nc\n", "a\nB\nc\n"},
      {"", "new\n"},
      {"old\n", ""},
      {"same\n", "same"},  // only the final newline differs
      {"x\ny", "x\nz"},    // neither ends in one
      {Lines(1, 20), Lines(1, 9) + "changed\n" + Lines(11, 20)},
      // Two changes far apart: two hunks; near each other: one.
      {Lines(1, 30), Lines(1, 4) + "A\n" + Lines(6, 25) + "B\n" + Lines(27, 30)},
      {Lines(1, 30), Lines(1, 10) + "A\n" + Lines(12, 16) + "B\n" + Lines(18, 30)},
      {Lines(1, 10), Lines(1, 3) + Lines(7, 10)},             // lines removed
      {Lines(1, 10), Lines(1, 5) + "x\ny\n" + Lines(6, 10)},  // lines added
      {"image: a\ndisk size: 4 KiB\n", "image: a\nvirtual size: 1\ndisk size: 4 KiB\nextra\n"},
  };
  for (const auto& [a, b] : pairs) {
    EXPECT_EQ(UnifiedDiff(a, b, "qemu-img", "instar"), GnuDiff(a, b)) << "a:\n" << a << "b:\n" << b;
  }
}

TEST(UnifiedDiffTest, HugeMiddlesStillGiveACorrectDiff) {
  // 3000 x 3000 differing lines is over the table limit: shown removed and
  // added whole, which patch would still apply.
  const std::string a = Lines(1, 3000, "a ");
  const std::string b = Lines(1, 3000, "b ");
  const std::string diff = UnifiedDiff(a, b, "qemu-img", "instar");
  EXPECT_EQ(diff.rfind("--- qemu-img\n+++ instar\n@@ -1,3000 +1,3000 @@\n-a 1\n", 0), 0u);
  EXPECT_NE(diff.find("\n+b 3000\n"), std::string::npos);
}

}  // namespace
}  // namespace instar::harness
