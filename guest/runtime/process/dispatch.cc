#include "helper.h"

namespace instar::guest {

int DispatchOperation(const abi::OperationConfig& config, Transport& transport, Arena& arena) {
  return RunOperation(config, transport, arena);
}

}  // namespace instar::guest
