#include "kvm_transport.h"

#include "instar/guest/kvm_layout.h"

namespace instar::guest {
namespace {

// A pointer to a fixed guest-physical address. The empty asm hides the
// constant from the compiler, which otherwise treats a dereference of a
// small integer as an out-of-bounds access (-Warray-bounds).
template <typename T>
T* AtAddress(uint64_t address) {
  T* pointer = reinterpret_cast<T*>(address);
  asm("" : "+r"(pointer));
  return pointer;
}

void Hypercall() {
  // One 4-byte store, the only access the host accepts on the hypercall
  // page. The "memory" clobber orders the mailbox writes before the exit and
  // every read of the reply or of a kRead buffer after it.
  asm volatile("movl %%eax, (%0)" : : "r"(kvm_layout::kHypercallAddress), "a"(0u) : "memory");
}

}  // namespace

abi::CallReply KvmTransport::Call(const abi::CallRequest& request, const void* out, void* in) {
  abi::CallRequest* mailbox = AtAddress<abi::CallRequest>(kvm_layout::kMailboxAddress);
  *mailbox = request;
  if (out != nullptr) {
    mailbox->buffer = reinterpret_cast<uintptr_t>(out);
  } else if (in != nullptr) {
    mailbox->buffer = reinterpret_cast<uintptr_t>(in);
  }
  Hypercall();
  if (request.call == static_cast<uint32_t>(abi::Call::kExit)) StopForever();
  return *AtAddress<abi::CallReply>(kvm_layout::kReplyAddress);
}

void KvmTransport::Exit(uint64_t status) {
  Call(abi::MakeRequest(abi::Call::kExit, 0, status), nullptr, nullptr);
  StopForever();
}

void KvmTransport::Abort(const char* message) {
  uint64_t length = 0;
  while (length < abi::kMaxLog && message[length] != '\0') ++length;
  Call(abi::MakeRequest(abi::Call::kAbort, 0, 0, length), message, nullptr);
  Exit(1);
}

void StopForever() { __builtin_trap(); }

}  // namespace instar::guest
