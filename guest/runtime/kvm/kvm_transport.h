// KvmTransport: the call table over the port-I/O hypercall of the flat guest
// image (kvm_layout.h), the same under KVM and under the emulator.
//
// One call at a time: the request goes to the mailbox with `buffer` pointing
// at the caller's payload, `out kHypercallPort` hands control to the host,
// and the reply is read back from kReplyAddress. Payloads are used in place
// (identity-mapped memory), so they must live where the host accepts them:
// on the stack, in the image's data or bss, or in the arena.
#ifndef INSTAR_GUEST_RUNTIME_KVM_KVM_TRANSPORT_H_
#define INSTAR_GUEST_RUNTIME_KVM_KVM_TRANSPORT_H_

#include <cstddef>
#include <cstdint>

#include "instar/guest/abi.h"
#include "instar/guest/transport.h"

namespace instar::guest {

class KvmTransport final : public Transport {
 public:
  constexpr KvmTransport() = default;

  abi::CallReply Call(const abi::CallRequest& request, const void* out, void* in) override;

  // kExit with `status`; never returns.
  [[noreturn]] void Exit(uint64_t status);
  // kAbort with `message` (NUL-terminated, from the image or the stack),
  // then kExit(1).
  [[noreturn]] void Abort(const char* message);
};

// Stops the vCPU for good: the host never resumes a guest after kExit, but
// if it did, the guest must not run on.
[[noreturn]] void HaltForever();

}  // namespace instar::guest

#endif  // INSTAR_GUEST_RUNTIME_KVM_KVM_TRANSPORT_H_
