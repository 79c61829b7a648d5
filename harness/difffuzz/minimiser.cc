#include "harness/difffuzz/minimiser.h"

#include <numeric>

namespace instar::harness {

Minimised MinimiseSteps(size_t count,
                        const std::function<bool(const std::vector<size_t>& kept)>& still_fails,
                        size_t max_tries) {
  Minimised result;
  result.kept.resize(count);
  std::iota(result.kept.begin(), result.kept.end(), size_t{0});
  size_t chunk = result.kept.size() / 2;
  if (chunk == 0) chunk = 1;
  while (!result.kept.empty()) {
    bool dropped = false;
    for (size_t start = 0; start < result.kept.size();) {
      if (result.tries >= max_tries) {
        result.exhausted = true;
        return result;
      }
      const size_t end = std::min(result.kept.size(), start + chunk);
      std::vector<size_t> candidate;
      candidate.reserve(result.kept.size() - (end - start));
      for (size_t i = 0; i < result.kept.size(); ++i) {
        if (i < start || i >= end) candidate.push_back(result.kept[i]);
      }
      ++result.tries;
      if (still_fails(candidate)) {
        result.kept = std::move(candidate);
        dropped = true;  // the next chunk now starts where this one did
      } else {
        start = end;
      }
    }
    if (chunk > 1) {
      chunk /= 2;
    } else if (!dropped) {
      break;  // a whole one-step pass dropped nothing: 1-minimal
    }
  }
  return result;
}

}  // namespace instar::harness
