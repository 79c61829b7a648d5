// Transport and RunOperation: the seam between a guest runtime and the
// operations.
//
// A runtime (guest/runtime/process for the seccomp helper, guest/runtime/kvm
// for the flat image run under KVM or the emulator) starts up, obtains the
// OperationConfig, provides a Transport that carries calls to the host, and
// hands both to RunOperation(). Everything above the transport — engine,
// operations, result encoding — is the same code in every backend.
#ifndef INSTAR_GUEST_TRANSPORT_H_
#define INSTAR_GUEST_TRANSPORT_H_

#include <cstdint>

#include "instar/engine/arena.h"
#include "instar/guest/abi.h"

namespace instar::guest {

class Transport {
 public:
  // Carries one call. For calls that send data (kWrite, kOpen, kEmit, kLog,
  // kAbort) `out` holds request.length bytes; for kRead `in` receives
  // request.length bytes. The transport fills request.buffer itself where
  // its backend needs it. kExit does not return.
  virtual abi::CallReply Call(const abi::CallRequest& request, const void* out, void* in) = 0;

 protected:
  ~Transport() = default;
};

// Runs the operation `config` describes, emitting its result with one kEmit
// (an error result when the operation fails), and returns the status to pass
// to kExit: 0 when a result was emitted, non-zero when even that failed.
int RunOperation(const abi::OperationConfig& config, Transport& transport, Arena& arena);

}  // namespace instar::guest

#endif  // INSTAR_GUEST_TRANSPORT_H_
