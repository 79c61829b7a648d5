// PipeTransport: the call table over the helper's two pipes and its data
// window (abi.h, "process"): requests go out on fd 1 and replies come back
// on fd 0, the payloads both ways through the window the host shares. A broken pipe or a reply that
// contradicts its request ends the helper at once: the host has gone or is lying, and there is
// nobody left to report to.
#ifndef INSTAR_GUEST_RUNTIME_PROCESS_PIPE_TRANSPORT_H_
#define INSTAR_GUEST_RUNTIME_PROCESS_PIPE_TRANSPORT_H_

#include "instar/guest/transport.h"

namespace instar::guest {

class PipeTransport final : public Transport {
 public:
  // `window`: the host's data window, abi::kProcessWindowBytes.
  explicit PipeTransport(uint8_t* window) : window_(window) {}
  abi::CallReply Call(const abi::CallRequest& request, const void* out, void* in) override;

 private:
  uint8_t* window_;
};

}  // namespace instar::guest

#endif  // INSTAR_GUEST_RUNTIME_PROCESS_PIPE_TRANSPORT_H_
