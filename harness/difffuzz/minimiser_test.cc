// The minimiser on predicates whose minimal sets are known.

#include "harness/difffuzz/minimiser.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace instar::harness {
namespace {

bool Has(const std::vector<size_t>& kept, size_t index) {
  return std::find(kept.begin(), kept.end(), index) != kept.end();
}

TEST(DifffuzzMinimiserTest, KeepsExactlyTheStepsTheFailureNeeds) {
  const Minimised m = MinimiseSteps(
      12, [](const std::vector<size_t>& kept) { return Has(kept, 0) && Has(kept, 7); });
  EXPECT_EQ(m.kept, (std::vector<size_t>{0, 7}));
  EXPECT_FALSE(m.exhausted);
}

TEST(DifffuzzMinimiserTest, OneStepAndNoStep) {
  EXPECT_EQ(MinimiseSteps(1, [](const std::vector<size_t>& kept) { return !kept.empty(); }).kept,
            (std::vector<size_t>{0}));
  // A disagreement that needs no step at all (it cannot happen with an image,
  // but the minimiser does not know that) drops everything.
  EXPECT_TRUE(MinimiseSteps(5, [](const std::vector<size_t>&) { return true; }).kept.empty());
  EXPECT_TRUE(MinimiseSteps(0, [](const std::vector<size_t>&) { return true; }).kept.empty());
}

// A step that only matters after another (a write to the overlay that a
// later step made): the result is 1-minimal, every step in it needed.
TEST(DifffuzzMinimiserTest, ResultIsOneMinimal) {
  auto fails = [](const std::vector<size_t>& kept) {
    return Has(kept, 2) && (Has(kept, 5) || Has(kept, 9)) && Has(kept, 11);
  };
  const Minimised m = MinimiseSteps(14, fails);
  ASSERT_TRUE(fails(m.kept));
  for (size_t i = 0; i < m.kept.size(); ++i) {
    std::vector<size_t> fewer = m.kept;
    fewer.erase(fewer.begin() + static_cast<std::ptrdiff_t>(i));
    EXPECT_FALSE(fails(fewer)) << "step " << m.kept[i] << " is not needed";
  }
  EXPECT_TRUE(std::is_sorted(m.kept.begin(), m.kept.end()));
}

TEST(DifffuzzMinimiserTest, StopsAtMaxTries) {
  size_t calls = 0;
  const Minimised m = MinimiseSteps(
      64,
      [&](const std::vector<size_t>& kept) {
        ++calls;
        return Has(kept, 3) && Has(kept, 60);
      },
      5);
  EXPECT_EQ(calls, 5u);
  EXPECT_EQ(m.tries, 5u);
  EXPECT_TRUE(m.exhausted);
  EXPECT_TRUE(Has(m.kept, 3) && Has(m.kept, 60));
}

}  // namespace
}  // namespace instar::harness
