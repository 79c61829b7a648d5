// The kvm backend against the test guest (test_guest_suite.h). Where
// /dev/kvm is not usable every test reports itself skipped, with the reason.
#include "vmm/sandbox/kvm/kvm_sandbox.h"

#include "vmm/sandbox/backends.h"
#include "vmm/sandbox/kvm/test_guest_suite.h"

namespace instar::vmm::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(Kvm, FlatGuestTest,
                         ::testing::Values(FlatBackend{"kvm", &MakeKvmSandboxForImage,
                                                       SandboxKind::kKvm, false}),
                         FlatBackendName);

// Without /dev/kvm the backend must say why in one line a user can act on.
TEST(KvmSandboxTest, ExplainsWhyItCannotRun) {
  std::string why;
  const bool usable = CheckKvm(&why);
  EXPECT_EQ(usable, KvmUsable());
  if (usable) GTEST_SKIP() << "/dev/kvm is usable here";
  EXPECT_EQ(why.rfind("/dev/kvm: ", 0), 0u) << why;
  EXPECT_EQ(why.find('\n'), std::string::npos);
  std::string make_why;
  EXPECT_EQ(MakeKvmSandbox(&make_why), nullptr);
  EXPECT_EQ(make_why, why);
}

}  // namespace
}  // namespace instar::vmm::testing
