// The kvm backend against the test guest (test_guest_suite.h). Where
// /dev/kvm is not usable every test reports itself skipped, with the reason,
// unless ci/test requires kvm here (vmm/testing/required_sandboxes.h).
#include "vmm/sandbox/kvm/kvm_sandbox.h"

#include <cstdlib>

#include "vmm/sandbox/backends.h"
#include "vmm/sandbox/kvm/test_guest_suite.h"

namespace instar::vmm::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(Kvm, FlatGuestTest,
                         ::testing::Values(FlatBackend{"kvm", &MakeKvmSandboxForImage,
                                                       SandboxKind::kKvm, false}),
                         FlatBackendName);

// Without KVM the backend must say why in one line a user can act on.
// $INSTAR_KVM_DEVICE stands in for a machine without /dev/kvm.
TEST(KvmSandboxTest, ExplainsWhyItCannotRun) {
  ::setenv("INSTAR_KVM_DEVICE", "/nonexistent/kvm", 1);
  std::string why;
  EXPECT_FALSE(CheckKvm(&why));
  EXPECT_FALSE(KvmUsable());
  std::string make_why;
  EXPECT_EQ(MakeKvmSandbox(&make_why), nullptr);
  ::unsetenv("INSTAR_KVM_DEVICE");
  EXPECT_EQ(why,
            "/nonexistent/kvm: No such file or directory (is KVM enabled? load kvm-intel or "
            "kvm-amd, or use --sandbox=process)");
  EXPECT_EQ(make_why, why);
}

TEST(KvmSandboxTest, NotACharacterDeviceIsNotKvm) {
  ::setenv("INSTAR_KVM_DEVICE", "/dev/null", 1);
  std::string why;
  EXPECT_FALSE(CheckKvm(&why));
  ::unsetenv("INSTAR_KVM_DEVICE");
  EXPECT_EQ(why.rfind("/dev/null: KVM API version -1", 0), 0u) << why;
}

}  // namespace
}  // namespace instar::vmm::testing
