// KvmTransport: the call table over the hypercall of the flat guest image
// (kvm_layout.h), the same under KVM and under the emulator.
//
// One call at a time: the request goes to the mailbox with `buffer` pointing
// at the caller's payload, a store to kHypercallAddress hands control to the
// host (from CPL 3: no privileged instruction is involved), and the reply is
// read back from kReplyAddress. Payloads are used in place
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

// Stops the guest for good: the host never resumes a guest after kExit, but
// if it did, the guest must not run on. At CPL 3 there is no `hlt`; an
// invalid opcode ends the guest as a crash.
[[noreturn]] void StopForever();

}  // namespace instar::guest

#endif  // INSTAR_GUEST_RUNTIME_KVM_KVM_TRANSPORT_H_
