// UnifiedDiff: the lines that differ between two texts, in the unified
// format of `diff -u` (three lines of context, "\ No newline at end of file"
// where a text does not end in one). Empty when the texts are equal.
//
// The line matching is a longest common subsequence over what is left after
// the common head and tail are cut off; when that middle is too large for
// the quadratic table (over about four million line pairs, far beyond any
// qemu-img output the cases produce) it is shown as removed and added whole,
// which is still a correct diff, only not a minimal one.
#ifndef INSTAR_HARNESS_CONFORM_UNIFIED_DIFF_H_
#define INSTAR_HARNESS_CONFORM_UNIFIED_DIFF_H_

#include <string>
#include <string_view>

namespace instar::harness {

std::string UnifiedDiff(std::string_view expected, std::string_view actual,
                        std::string_view expected_label, std::string_view actual_label);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CONFORM_UNIFIED_DIFF_H_
