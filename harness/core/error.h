// HarnessError: the one exception type of instar-harness.
//
// Its message is a single line a user can act on, already naming the file
// and entry it is about ("cases/measure.json: size-cases[3] \"1M-raw\":
// unknown key \"optoins\""). Library code throws it; only main() and the
// worker threads catch it, and main() prints it and exits non-zero. Nothing
// else is thrown across harness interfaces on purpose: callers need to catch
// exactly one type.
#ifndef INSTAR_HARNESS_CORE_ERROR_H_
#define INSTAR_HARNESS_CORE_ERROR_H_

#include <stdexcept>
#include <string>

namespace instar::harness {

class HarnessError : public std::runtime_error {
 public:
  explicit HarnessError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CORE_ERROR_H_
