// DispatchOperation of the test helper: the misbehaving operations of
// test_operations.h, then everything RunOperation knows.
#include "helper.h"
#include "instar/engine/bytes.h"
#include "instar/guest/result_codec.h"
#include "syscalls.h"
#include "testing/test_operations.h"

namespace instar::guest {

namespace {

constexpr long kGetpid = 39;

// Whether `fd` is open: read or write of zero bytes fails with EBADF only
// on a closed fd (or one open for the other direction alone).
bool FdIsOpen(int fd) {
  uint8_t byte = 0;
  return sys::Read(fd, &byte, 0) != -sys::kEbadf || sys::Write(fd, &byte, 0) != -sys::kEbadf;
}

int Emit(Transport& transport, ByteView stream) {
  const abi::CallRequest request = abi::MakeRequest(abi::Call::kEmit, 0, 0, stream.size);
  return transport.Call(request, stream.data, nullptr).error == 0 ? 0 : 2;
}

int ProbeEnvironment(const abi::OperationConfig& config, Transport& transport, Arena& arena) {
  uint8_t* buffer = arena.AllocateArray<uint8_t>(64 * 1024);
  if (buffer == nullptr) return 2;
  ResultWriter writer(buffer, 64 * 1024);
  writer.Start(config.operation);
  for (int fd = 0; fd < 1024; ++fd) {
    if (FdIsOpen(fd)) (void)writer.U64(testing::kTagOpenFd, static_cast<uint64_t>(fd));
  }
  (void)writer.U64(testing::kTagArgc, g_start_info.argc);
  (void)writer.U64(testing::kTagEnvc, g_start_info.envc);
  Result<ByteView> stream = writer.Finish();
  return stream.ok() ? Emit(transport, *stream) : 2;
}

// The kvm test guest's kWritePastLimit, over the pipe.
int WritePastLimit(const abi::OperationConfig& config, Transport& transport, Arena& arena) {
  const uint64_t limit = config.resize.size;
  const uint8_t bytes[2] = {'X', 'Y'};
  const abi::CallRequest requests[] = {
      abi::MakeRequest(abi::Call::kWrite, 0, limit - 1, 1),
      abi::MakeRequest(abi::Call::kWrite, 0, limit - 1, 2),
      abi::MakeRequest(abi::Call::kWrite, 0, limit, 1),
      abi::MakeRequest(abi::Call::kTruncate, 0, limit + 1),
      abi::MakeRequest(abi::Call::kAllocate, 0, 0, limit + 1),
  };
  uint8_t* buffer = arena.AllocateArray<uint8_t>(4096);
  if (buffer == nullptr) return 2;
  ResultWriter writer(buffer, 4096);
  writer.Start(config.operation);
  for (const abi::CallRequest& request : requests) {
    const bool has_payload = request.call == static_cast<uint32_t>(abi::Call::kWrite);
    const abi::CallReply reply = transport.Call(request, has_payload ? bytes : nullptr, nullptr);
    (void)writer.I64(testing::kTagReplyError, reply.error);
  }
  Result<ByteView> stream = writer.Finish();
  return stream.ok() ? Emit(transport, *stream) : 2;
}

int PayloadsInPlace(Transport& transport, Arena& arena) {
  uint8_t* window = g_start_info.shared;
  constexpr size_t kLength = 8;
  for (size_t i = 0; i < kLength; ++i) window[i] = '#';
  char* in_arena = arena.AllocateArray<char>(kLength);
  if (in_arena == nullptr) return 2;
  CopyBytes(in_arena, "in-arena", kLength);
  (void)transport.Call(abi::MakeRequest(abi::Call::kLog, 0, 0, kLength), in_arena, nullptr);
  bool untouched = true;
  for (size_t i = 0; i < kLength; ++i) untouched = untouched && window[i] == '#';
  const char on_stack[kLength + 1] = "on-stack";
  (void)transport.Call(abi::MakeRequest(abi::Call::kLog, 0, 0, kLength), on_stack, nullptr);
  bool bounced = true;
  for (size_t i = 0; i < kLength; ++i) bounced = bounced && window[i] == on_stack[i];
  return untouched && bounced ? 42 : 1;
}

}  // namespace

int DispatchOperation(const abi::OperationConfig& config, Transport& transport, Arena& arena) {
  switch (config.operation) {
    case testing::kTestForbiddenSyscall:
      sys::Syscall1(kGetpid, 0);
      return 0;
    case testing::kTestLoop:
      for (;;) asm volatile("" ::: "memory");
    case testing::kTestProbeEnvironment:
      return ProbeEnvironment(config, transport, arena);
    case testing::kTestCrash:
      *static_cast<volatile uint64_t*>(nullptr) = 1;
      return 0;
    case testing::kTestBadRequest: {
      // A payload larger than any call allows, and one outside the shared
      // memory, straight on the pipe: each gets its error reply (the host
      // neither waits for 2^40 bytes nor touches memory it does not share).
      // Exit status 42 says both replies were right.
      abi::CallReply reply{};
      abi::CallRequest request = abi::MakeRequest(abi::Call::kEmit, 0, 0, 1ull << 40);
      sys::WriteFull(1, &request, sizeof(request));
      sys::ReadFull(0, &reply, sizeof(reply));
      const bool too_large = reply.error == static_cast<int32_t>(abi::CallError::kTooLarge);
      request = abi::MakeRequest(abi::Call::kLog, 0, 0, 16);
      request.buffer = abi::kProcessSharedBytes - 15;
      sys::WriteFull(1, &request, sizeof(request));
      sys::ReadFull(0, &reply, sizeof(reply));
      const bool bad_buffer = reply.error == static_cast<int32_t>(abi::CallError::kBadBuffer);
      return too_large && bad_buffer ? 42 : (too_large ? 1 : 2);
    }
    case testing::kTestExitWithoutResult:
      return 0;
    case testing::kTestPayloadsInPlace:
      return PayloadsInPlace(transport, arena);
    case testing::kTestWritePastLimit:
      return WritePastLimit(config, transport, arena);
    default:
      return RunOperation(config, transport, arena);
  }
}

}  // namespace instar::guest
