// Divergence filters: the named, small substitutions that conform applies to
// both sides (the baseline and instar's output) before comparing them byte
// for byte, in the manner of qemu iotests' common.filter.
//
// A filter replaces the value of one field by a placeholder and touches
// nothing else: the line stays, its indentation and punctuation stay, and a
// line that does not have exactly the field's shape is left alone (so a
// malformed line from instar still shows in the diff). Each filter knows the
// syntax it reads, human text or JSON; cases/divergences.json says where
// each one applies (divergences.h).
//
//   disk-size     human   `<indent>disk size: 84 KiB`    -> `<indent>disk size: $DISK_SIZE`
//   actual-size   json    `<indent>"actual-size": 86016` -> `<indent>"actual-size": "$ACTUAL_SIZE"`
//                         (a trailing comma is kept; the document stays valid JSON)
#ifndef INSTAR_HARNESS_CONFORM_FILTERS_H_
#define INSTAR_HARNESS_CONFORM_FILTERS_H_

#include <string>
#include <string_view>
#include <vector>

namespace instar::harness {

enum class OutputSyntax { kHuman, kJson };

// "info-json", "create-info-json" -> kJson; "info-human" -> kHuman.
OutputSyntax SyntaxOfOutputType(std::string_view output_type);
const char* SyntaxName(OutputSyntax syntax);

struct NamedFilter {
  std::string_view name;
  OutputSyntax syntax;
  std::string_view field;  // what it replaces, for messages and docs
  std::string (*apply)(std::string_view text);
};

const std::vector<NamedFilter>& Filters();
const NamedFilter* FindFilter(std::string_view name);

inline constexpr std::string_view kDiskSizePlaceholder = "$DISK_SIZE";
inline constexpr std::string_view kActualSizePlaceholder = "$ACTUAL_SIZE";

// The value after "disk size: " must be a size as qemu prints it: a number
// with at most a few decimals, a space and a unit (B, KiB ... EiB).
std::string FilterDiskSize(std::string_view text);
// The value must be decimal digits.
std::string FilterActualSize(std::string_view text);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CONFORM_FILTERS_H_
