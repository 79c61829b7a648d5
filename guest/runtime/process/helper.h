// The seam between the helper's start-up (helper_main.cc) and what it runs:
// production links dispatch.cc (RunOperation), the test variant links
// testing/test_dispatch.cc, which adds operations that misbehave on purpose.
#ifndef INSTAR_GUEST_RUNTIME_PROCESS_HELPER_H_
#define INSTAR_GUEST_RUNTIME_PROCESS_HELPER_H_

#include <cstdint>

#include "instar/engine/arena.h"
#include "instar/guest/abi.h"
#include "instar/guest/transport.h"

namespace instar::guest {

// What the kernel handed to _start, kept for the test operations.
struct StartInfo {
  uint64_t argc = 0;
  uint64_t envc = 0;
  uint8_t* shared = nullptr;  // the memory shared with the host: the window, then the arena
};
extern StartInfo g_start_info;

int DispatchOperation(const abi::OperationConfig& config, Transport& transport, Arena& arena);

}  // namespace instar::guest

#endif  // INSTAR_GUEST_RUNTIME_PROCESS_HELPER_H_
