// The minimiser of instar-harness difffuzz: the fewest steps of a script
// that still show a disagreement, by delta debugging (Zeller's ddmin, in its
// simple complement-only form).
//
// It drops chunks of steps, halves first and then ever smaller down to one
// step at a time, keeping every drop after which `still_fails` holds, and
// repeats the one-step pass until it drops nothing: the result is
// 1-minimal (dropping any one of its steps loses the disagreement), not
// necessarily the smallest of all. `still_fails` is asked only about
// subsets of the steps, by their indexes in ascending order; a subset in
// which a later step cannot run (its image is gone) is simply one where the
// disagreement does not show. At most `max_tries` subsets are tried, so a
// slow predicate bounds the time; the steps kept so far are then returned.
#ifndef INSTAR_HARNESS_DIFFFUZZ_MINIMISER_H_
#define INSTAR_HARNESS_DIFFFUZZ_MINIMISER_H_

#include <cstddef>
#include <functional>
#include <vector>

namespace instar::harness {

struct Minimised {
  std::vector<size_t> kept;  // ascending indexes into the original steps
  size_t tries = 0;          // how many subsets were run
  bool exhausted = false;    // stopped at max_tries, maybe not 1-minimal
};

Minimised MinimiseSteps(size_t count,
                        const std::function<bool(const std::vector<size_t>& kept)>& still_fails,
                        size_t max_tries = 200);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_DIFFFUZZ_MINIMISER_H_
