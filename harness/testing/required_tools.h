// Which outside tools this machine must have for the harness tests: ci/test
// puts in $INSTAR_REQUIRED_TOOLS the tools ci/setup installs that a test
// runs (chromium, for the page of `instar-harness report`), so a test that
// cannot find one fails instead of skipping quietly. Outside ci/test the
// variable is unset and such a test skips, with its reason. The harness's
// twin of vmm/testing/required_sandboxes.h.
#ifndef INSTAR_HARNESS_TESTING_REQUIRED_TOOLS_H_
#define INSTAR_HARNESS_TESTING_REQUIRED_TOOLS_H_

#include <cstdlib>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace instar::harness::testing {

// Whether `tool` ("chromium") is listed.
inline bool ToolRequired(const std::string& tool) {
  const char* env = std::getenv("INSTAR_REQUIRED_TOOLS");
  std::istringstream words(env == nullptr ? "" : env);
  for (std::string word; words >> word;) {
    if (word == tool) return true;
  }
  return false;
}

}  // namespace instar::harness::testing

// Ends the current test: a failure when `tool` is required here, else a
// skip; `why` says what is missing.
#define INSTAR_SKIP_OR_FAIL_TOOL(tool, why)                                            \
  do {                                                                                 \
    if (::instar::harness::testing::ToolRequired(tool)) {                              \
      GTEST_FAIL() << (tool) << " is required here ($INSTAR_REQUIRED_TOOLS; ci/setup " \
                   << "installs it) but cannot run: " << (why);                        \
    }                                                                                  \
    GTEST_SKIP() << (tool) << " cannot run here: " << (why);                           \
  } while (0)

#endif  // INSTAR_HARNESS_TESTING_REQUIRED_TOOLS_H_
