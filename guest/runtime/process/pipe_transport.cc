#include "pipe_transport.h"

#include "instar/engine/bytes.h"
#include "syscalls.h"

namespace instar::guest {

namespace sys {

namespace {

// Repeats `transfer` (Read or Write) until `length` bytes have moved.
template <typename Byte, typename Transfer>
bool TransferFull(int fd, Byte* p, size_t length, Transfer transfer) {
  while (length > 0) {
    const long n = transfer(fd, p, length);
    if (n == -kEintr) continue;
    if (n <= 0) return false;
    p += n;
    length -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

bool ReadFull(int fd, void* buffer, size_t length) {
  return TransferFull(fd, static_cast<uint8_t*>(buffer), length, Read);
}

bool WriteFull(int fd, const void* buffer, size_t length) {
  return TransferFull(fd, static_cast<const uint8_t*>(buffer), length, Write);
}

}  // namespace sys

namespace {

constexpr int kFromHost = 0;
constexpr int kToHost = 1;
constexpr int kBrokenPipeStatus = 3;

bool SendsPayload(abi::Call call) {
  return call == abi::Call::kWrite || call == abi::Call::kOpen || call == abi::Call::kEmit ||
         call == abi::Call::kLog || call == abi::Call::kAbort;
}

}  // namespace

abi::CallReply PipeTransport::Call(const abi::CallRequest& request, const void* out, void* in) {
  const auto call = static_cast<abi::Call>(request.call);
  const bool sends = SendsPayload(call);
  const bool receives = call == abi::Call::kRead || call == abi::Call::kDataExtents;
  abi::CallRequest sent = request;
  sent.buffer = 0;
  // A payload in the arena is named where it lies; any other goes through
  // the window. One larger than the window is a request the host refuses
  // anyway: only what fits is put there.
  const auto* payload = static_cast<const uint8_t*>(sends ? out : in);
  const bool has_payload = (sends || receives) && request.length > 0;
  const bool bounce = has_payload && !InShared(payload, request.length);
  if (has_payload && !bounce) {
    sent.buffer = static_cast<uint64_t>(payload - shared_);
  } else if (bounce && sends) {
    // The window is the next bounced payload's too: a lent write through
    // it would be read after the guest wrote over it.
    sent.flags &= ~abi::kCallLent;
    const size_t length = request.length < abi::kProcessWindowBytes
                              ? static_cast<size_t>(request.length)
                              : static_cast<size_t>(abi::kProcessWindowBytes);
    CopyBytes(shared_, out, length);
  }
  if (!sys::WriteFull(kToHost, &sent, sizeof(sent))) sys::Exit(kBrokenPipeStatus);
  if (call == abi::Call::kExit) sys::Exit(static_cast<int>(request.offset & 0xff));

  abi::CallReply reply{};
  if (!sys::ReadFull(kFromHost, &reply, sizeof(reply))) sys::Exit(kBrokenPipeStatus);
  // The host moves `length` bytes after a successful kRead or kDataExtents
  // with a non-zero value (abi.h).
  if (call == abi::Call::kRead && reply.error == 0 && reply.value != request.length) {
    sys::Exit(kBrokenPipeStatus);
  }
  if (bounce && receives && reply.error == 0 && reply.value > 0) {
    if (request.length > abi::kProcessWindowBytes) sys::Exit(kBrokenPipeStatus);
    CopyBytes(in, shared_, static_cast<size_t>(request.length));
  }
  return reply;
}

bool PipeTransport::InShared(const uint8_t* p, uint64_t length) const {
  // Only the arena: the window is the bounce buffer itself.
  const uint8_t* arena = shared_ + abi::kProcessWindowBytes;
  const uint8_t* end = shared_ + abi::kProcessSharedBytes;
  return p >= arena && p < end && length <= static_cast<uint64_t>(end - p);
}

}  // namespace instar::guest
