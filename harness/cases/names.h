// Small validators for the strings that become file names or command-line
// words: case names, option strings and size strings.
#ifndef INSTAR_HARNESS_CASES_NAMES_H_
#define INSTAR_HARNESS_CASES_NAMES_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace instar::harness {

// [A-Za-z0-9_][A-Za-z0-9._-]* : safe as one path component on any system,
// never "." or "..", never an option-looking "-x", never hidden.
bool IsSafeName(std::string_view name);

// What qemu-img accepts as a size and we use in case files: decimal digits
// with an optional suffix (b for bytes, k M G T P E for 1024^n;
// case-insensitive).
// Returns the size in bytes, or nothing when malformed or above 2^63-1.
std::optional<uint64_t> ParseSizeString(std::string_view text);

// A -o argument: key=value pairs joined by commas; keys [a-z0-9_.-]+,
// values non-empty without whitespace or commas.
bool IsOptionString(std::string_view text);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CASES_NAMES_H_
