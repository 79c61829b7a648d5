// InstarGuestMain of the flat image: checks what the host left at
// kBootInfoAddress, copies the OperationConfig into the image's own memory
// (the config page is read-only and not a valid payload buffer), and runs the
// operation over the hypercall transport, as the process helper does over
// its pipe.
#include <cstdint>

#include "instar/engine/arena.h"
#include "instar/engine/bytes.h"
#include "instar/guest/abi.h"
#include "instar/guest/kvm_layout.h"
#include "instar/guest/transport.h"
#include "kvm_transport.h"

namespace {

instar::abi::OperationConfig g_config;

}  // namespace

extern "C" [[noreturn]] void InstarGuestMain(const instar::kvm_layout::BootInfo* boot);

extern "C" void InstarGuestMain(const instar::kvm_layout::BootInfo* boot) {
  namespace layout = instar::kvm_layout;
  instar::guest::KvmTransport transport;
  if (reinterpret_cast<uintptr_t>(boot) != layout::kBootInfoAddress ||
      boot->magic != layout::kBootInfoMagic || boot->layout_version != layout::kLayoutVersion ||
      boot->config_address != layout::kConfigAddress ||
      boot->config_bytes != sizeof(instar::abi::OperationConfig) ||
      boot->memory_bytes < layout::kMinMemoryBytes ||
      boot->memory_bytes > layout::kMaxMemoryBytes ||
      boot->arena_address != layout::kArenaAddress ||
      boot->arena_bytes != boot->memory_bytes - layout::kArenaAddress) {
    transport.Abort("guest: the boot information does not match this image's memory layout");
  }
  instar::CopyBytes(&g_config, reinterpret_cast<const void*>(boot->config_address),
                    sizeof(g_config));
  instar::Arena arena(reinterpret_cast<void*>(boot->arena_address), boot->arena_bytes);
  const int status = instar::guest::RunOperation(g_config, transport, arena);
  transport.Exit(static_cast<uint64_t>(status));
}
