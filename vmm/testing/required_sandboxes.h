// Which sandbox backends this machine must run: ci/test puts in
// $INSTAR_REQUIRED_SANDBOXES the backends the machine supports (process and
// emulated always, since ci/setup installs Unicorn; kvm wherever /dev/kvm
// exists), so a test that cannot start one of them fails instead of skipping
// quietly. Outside ci/test the variable is unset and such a test skips, with
// its reason.
#ifndef INSTAR_VMM_TESTING_REQUIRED_SANDBOXES_H_
#define INSTAR_VMM_TESTING_REQUIRED_SANDBOXES_H_

#include <cstdlib>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace instar::vmm::testing {

// Whether `backend` ("kvm", "process", "emulated") is listed.
inline bool SandboxRequired(const std::string& backend) {
  const char* env = std::getenv("INSTAR_REQUIRED_SANDBOXES");
  std::istringstream words(env == nullptr ? "" : env);
  for (std::string word; words >> word;) {
    if (word == backend) return true;
  }
  return false;
}

}  // namespace instar::vmm::testing

// Ends the current test: a failure when `backend` is required here, else a
// skip; `why` says what kept the backend from running.
#define INSTAR_SKIP_OR_FAIL_BACKEND(backend, why)                                 \
  do {                                                                            \
    if (::instar::vmm::testing::SandboxRequired(backend)) {                       \
      GTEST_FAIL() << "the " << (backend) << " backend is required here "         \
                   << "($INSTAR_REQUIRED_SANDBOXES) but cannot run: " << (why);   \
    }                                                                             \
    GTEST_SKIP() << "the " << (backend) << " backend cannot run here: " << (why); \
  } while (0)

#endif  // INSTAR_VMM_TESTING_REQUIRED_SANDBOXES_H_
