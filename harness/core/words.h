// Lists of words, as error messages and reports name them: "(known: raw,
// qcow2, vmdk)".
#ifndef INSTAR_HARNESS_CORE_WORDS_H_
#define INSTAR_HARNESS_CORE_WORDS_H_

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace instar::harness {

inline bool Contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// The words in order, `separator` between each two.
inline std::string JoinWords(const std::vector<std::string>& words,
                             std::string_view separator = ", ") {
  std::string joined;
  for (const auto& word : words) {
    if (!joined.empty()) joined += separator;
    joined += word;
  }
  return joined;
}

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CORE_WORDS_H_
