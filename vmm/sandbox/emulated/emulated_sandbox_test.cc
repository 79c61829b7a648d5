// The emulated backend against the test guest (kvm/test_guest_suite.h).
#include "vmm/sandbox/emulated/emulated_sandbox.h"

#include "vmm/sandbox/kvm/test_guest_suite.h"

namespace instar::vmm::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(Emulated, FlatGuestTest,
                         ::testing::Values(FlatBackend{"emulated", &MakeEmulatedSandboxForImage,
                                                       SandboxKind::kEmulated, true}),
                         FlatBackendName);

}  // namespace
}  // namespace instar::vmm::testing
