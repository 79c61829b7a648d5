// PipeTransport: the call table over the helper's two pipes and the memory
// it shares with the host (abi.h, "process"): requests go out on fd 1 and
// replies come back on fd 0; a payload in the arena is named by its offset,
// any other is copied through the window. A broken pipe or a reply that
// contradicts its request ends the helper at once: the host has gone or is
// lying, and there is nobody left to report to.
#ifndef INSTAR_GUEST_RUNTIME_PROCESS_PIPE_TRANSPORT_H_
#define INSTAR_GUEST_RUNTIME_PROCESS_PIPE_TRANSPORT_H_

#include "instar/guest/transport.h"

namespace instar::guest {

class PipeTransport final : public Transport {
 public:
  // `shared`: the memory the host shares, abi::kProcessSharedBytes: the
  // window, then the arena.
  explicit PipeTransport(uint8_t* shared) : shared_(shared) {}
  abi::CallReply Call(const abi::CallRequest& request, const void* out, void* in) override;

 private:
  // Whether [p, p + length) lies in the arena.
  bool InShared(const uint8_t* p, uint64_t length) const;

  uint8_t* shared_;
};

}  // namespace instar::guest

#endif  // INSTAR_GUEST_RUNTIME_PROCESS_PIPE_TRANSPORT_H_
