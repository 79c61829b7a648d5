// PipeTransport: the call table over the helper's two pipes (abi.h,
// "process"): requests and their payload go out on fd 1, replies (and kRead
// data) come back on fd 0. A broken pipe or a reply that contradicts its
// request ends the helper at once: the host has gone or is lying, and there
// is nobody left to report to.
#ifndef INSTAR_GUEST_RUNTIME_PROCESS_PIPE_TRANSPORT_H_
#define INSTAR_GUEST_RUNTIME_PROCESS_PIPE_TRANSPORT_H_

#include "instar/guest/transport.h"

namespace instar::guest {

class PipeTransport final : public Transport {
 public:
  abi::CallReply Call(const abi::CallRequest& request, const void* out, void* in) override;
};

}  // namespace instar::guest

#endif  // INSTAR_GUEST_RUNTIME_PROCESS_PIPE_TRANSPORT_H_
