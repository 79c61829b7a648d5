// The test guest's main (test_guest.h): the flat image's runtime with a
// misbehaving operation in place of RunOperation. Not shipped; built only
// for the host tests.
#include <cstddef>
#include <cstdint>

#include "instar/engine/bytes.h"
#include "instar/guest/abi.h"
#include "instar/guest/kvm_layout.h"
#include "kvm_transport.h"
#include "test_guest.h"

namespace instar::test_guest {
namespace {

namespace layout = kvm_layout;
using guest::KvmTransport;

abi::OperationConfig g_config;
uint8_t g_bss_buffer[kEchoBytes];

// The result stream, built in the arena: no dependency on guest/common.
class Result {
 public:
  Result(uint8_t* buffer, uint32_t operation) : buffer_(buffer) {
    abi::ResultHeader header{abi::kResultMagic, operation, 0, 0};
    CopyBytes(buffer_, &header, sizeof(header));
    used_ = sizeof(header);
  }
  void Add(uint16_t tag, abi::RecordType type, const void* data, uint32_t length) {
    abi::RecordHeader record{tag, static_cast<uint8_t>(type), 0, length};
    CopyBytes(buffer_ + used_, &record, sizeof(record));
    CopyBytes(buffer_ + used_ + sizeof(record), data, length);
    const uint64_t padded = AlignUp(length, 8);
    FillBytes(buffer_ + used_ + sizeof(record) + length, 0, padded - length);
    used_ += sizeof(record) + padded;
  }
  void AddU64(uint16_t tag, uint64_t value) { Add(tag, abi::RecordType::kU64, &value, 8); }
  void AddI64(uint16_t tag, int64_t value) { Add(tag, abi::RecordType::kI64, &value, 8); }
  void AddBytes(uint16_t tag, const void* data, uint32_t length) {
    Add(tag, abi::RecordType::kBytes, data, length);
  }
  abi::CallError Emit(KvmTransport& transport) {
    const uint32_t records = static_cast<uint32_t>(used_ - sizeof(abi::ResultHeader));
    CopyBytes(buffer_ + offsetof(abi::ResultHeader, length), &records, sizeof(records));
    const abi::CallRequest request = abi::MakeRequest(abi::Call::kEmit, 0, 0, used_);
    return static_cast<abi::CallError>(transport.Call(request, buffer_, nullptr).error);
  }

 private:
  uint8_t* buffer_;
  uint64_t used_;
};

abi::CallReply Read(KvmTransport& transport, uint64_t offset, void* buffer, uint64_t length) {
  return transport.Call(abi::MakeRequest(abi::Call::kRead, 0, offset, length), nullptr, buffer);
}

// A request whose buffer is exactly `buffer` (the transport only fills it in
// for non-null payload pointers).
abi::CallError Raw(KvmTransport& transport, abi::Call call, uint32_t device, uint64_t offset,
                   uint64_t length, uint64_t buffer) {
  const abi::CallRequest request = abi::MakeRequest(call, device, offset, length, buffer);
  return static_cast<abi::CallError>(transport.Call(request, nullptr, nullptr).error);
}

void Echo(KvmTransport& transport, const layout::BootInfo& boot, uint8_t* arena) {
  Result result(arena, kEcho);
  uint64_t name_length = 0;
  while (name_length < sizeof(g_config.filename) && g_config.filename[name_length] != '\0') {
    ++name_length;
  }
  result.AddBytes(kTagFilename, g_config.filename, static_cast<uint32_t>(name_length));

  const abi::CallReply size = transport.Call(abi::MakeRequest(abi::Call::kSize), nullptr, nullptr);
  if (size.error != 0) transport.Abort("test guest: kSize failed");
  result.AddU64(kTagSize, size.value);

  if (Read(transport, 0, g_bss_buffer, kEchoBytes).error != 0) {
    transport.Abort("test guest: kRead into the bss failed");
  }
  result.AddBytes(kTagBss, g_bss_buffer, kEchoBytes);

  uint8_t* arena_end = reinterpret_cast<uint8_t*>(boot.memory_bytes - kEchoBytes);
  if (Read(transport, 0, arena_end, kEchoBytes).error != 0) {
    transport.Abort("test guest: kRead into the end of the arena failed");
  }
  result.AddBytes(kTagArenaEnd, arena_end, kEchoBytes);

  uint8_t on_stack[kEchoBytes];
  if (Read(transport, 0, on_stack, kEchoBytes).error != 0) {
    transport.Abort("test guest: kRead onto the stack failed");
  }
  result.AddBytes(kTagStack, on_stack, kEchoBytes);

  uint64_t cs = 0;
  asm volatile("movq %%cs, %0" : "=r"(cs));
  result.AddU64(kTagCpl, cs & 3);

  if (result.Emit(transport) != abi::CallError::kOk) transport.Abort("test guest: kEmit failed");
}

void HostileCalls(KvmTransport& transport, const layout::BootInfo& boot, uint8_t* arena) {
  Result result(arena, kHostileCalls);
  const uint64_t end = boot.memory_bytes;
  const uint64_t valid = boot.arena_address + 4096;  // a valid buffer, for non-buffer checks
  abi::CallError errors[kHostileRequestCount];
  errors[kReadIntoPageTables] = Raw(transport, abi::Call::kRead, 0, 0, 16, layout::kPml4Address);
  errors[kReadIntoCode] = Raw(transport, abi::Call::kRead, 0, 0, 16, layout::kImageAddress + 64);
  errors[kReadIntoMailbox] = Raw(transport, abi::Call::kRead, 0, 0, 16, layout::kMailboxAddress);
  errors[kReadIntoGuardPage] =
      Raw(transport, abi::Call::kRead, 0, 0, 16, layout::kStackBottom - 16);
  errors[kReadPastMemoryEnd] = Raw(transport, abi::Call::kRead, 0, 0, 16, end - 8);
  errors[kReadBufferWraps] = Raw(transport, abi::Call::kRead, 0, 0, 16, UINT64_MAX - 7);
  errors[kReadOffsetWraps] = Raw(transport, abi::Call::kRead, 0, UINT64_MAX - 4, 16, valid);
  errors[kReadTooLong] = Raw(transport, abi::Call::kRead, 0, 0, abi::kMaxTransfer + 1, valid);
  errors[kUnknownCall] = Raw(transport, static_cast<abi::Call>(99), 0, 0, 0, 0);
  errors[kBadDeviceNumber] = Raw(transport, abi::Call::kSize, 7, 0, 0, 0);
  errors[kLogFromConfigPage] = Raw(transport, abi::Call::kLog, 0, 0, 16, layout::kConfigAddress);
  errors[kEmitTooLarge] = Raw(transport, abi::Call::kEmit, 0, 0, abi::kMaxResult + 1, valid);
  errors[kReadIntoArenaEnd] = Raw(transport, abi::Call::kRead, 0, 0, 16, end - 16);
  for (uint32_t i = 0; i < kHostileRequestCount; ++i) {
    result.AddI64(kTagReplyError, static_cast<int64_t>(errors[i]));
  }
  if (result.Emit(transport) != abi::CallError::kOk) transport.Abort("test guest: kEmit failed");
}

void WritePastLimit(KvmTransport& transport, const layout::BootInfo& boot, uint8_t* arena) {
  Result result(arena, kWritePastLimit);
  const uint64_t limit = g_config.resize.size;
  const uint64_t payload = boot.arena_address + 4096;  // two bytes of a valid buffer
  abi::CallError errors[kWriteRequestCount];
  errors[kWriteUpToLimit] = Raw(transport, abi::Call::kWrite, 0, limit - 1, 1, payload);
  errors[kWriteAcrossLimit] = Raw(transport, abi::Call::kWrite, 0, limit - 1, 2, payload);
  errors[kWriteAtLimit] = Raw(transport, abi::Call::kWrite, 0, limit, 1, payload);
  errors[kTruncatePastLimit] = Raw(transport, abi::Call::kTruncate, 0, limit + 1, 0, 0);
  errors[kAllocatePastLimit] = Raw(transport, abi::Call::kAllocate, 0, 0, limit + 1, 0);
  for (uint32_t i = 0; i < kWriteRequestCount; ++i) {
    result.AddI64(kTagReplyError, static_cast<int64_t>(errors[i]));
  }
  if (result.Emit(transport) != abi::CallError::kOk) transport.Abort("test guest: kEmit failed");
}

// Always true; volatile so the compiler sees a way out of the recursion.
volatile bool g_recurse = true;

// The behaviour config.filename names (its part after the last '/'), or
// 0 for none.
uint32_t BehaviourFromFilename() {
  const char* name = g_config.filename;
  for (size_t i = 0; i < sizeof(g_config.filename) && g_config.filename[i] != '\0'; ++i) {
    if (g_config.filename[i] == '/') name = g_config.filename + i + 1;
  }
  for (const BehaviourName& entry : kBehaviourNames) {
    size_t i = 0;
    while (entry.name[i] != '\0' && entry.name[i] == name[i]) ++i;
    if (entry.name[i] == '\0' && name[i] == '\0') return entry.behaviour;
  }
  return 0;
}

[[gnu::noinline]] uint64_t Recurse(uint64_t depth) {
  volatile uint8_t frame[256];
  frame[0] = static_cast<uint8_t>(depth);
  return (g_recurse ? Recurse(depth + 1) : 0) + frame[0];
}

}  // namespace
}  // namespace instar::test_guest

extern "C" [[noreturn]] void InstarGuestMain(const instar::kvm_layout::BootInfo* boot);

extern "C" void InstarGuestMain(const instar::kvm_layout::BootInfo* boot) {
  using namespace instar;
  using namespace instar::test_guest;
  guest::KvmTransport transport;
  if (boot->magic != kvm_layout::kBootInfoMagic) transport.Abort("test guest: bad boot info");
  CopyBytes(&g_config, reinterpret_cast<const void*>(boot->config_address), sizeof(g_config));
  uint8_t* arena = reinterpret_cast<uint8_t*>(boot->arena_address);

  g_config.filename[sizeof(g_config.filename) - 1] = '\0';
  const uint32_t behaviour =
      g_config.operation >= kEcho ? g_config.operation : BehaviourFromFilename();
  switch (behaviour) {
    case kEcho:
      Echo(transport, *boot, arena);
      break;
    case kSpin:
      for (;;) asm volatile("");
    case kNullWrite:
      asm volatile("movq $1, 0" ::: "memory");
      break;
    case kInvalidOpcode:
      asm volatile("ud2");
      break;
    case kHalt:
      asm volatile("hlt");
      break;
    case kPortIo:
      asm volatile("outb %%al, $0x80" : : "a"(0) : "memory");
      break;
    case kReadGdt: {
      uint64_t entry;
      asm volatile("movq (%1), %0" : "=r"(entry) : "r"(kvm_layout::kGdtAddress) : "memory");
      break;
    }
    case kHypercallLoad: {
      uint32_t value;
      asm volatile("movl (%1), %0" : "=r"(value) : "r"(kvm_layout::kHypercallAddress) : "memory");
      break;
    }
    case kHypercallByte:
      asm volatile("movb $0, (%0)" : : "r"(kvm_layout::kHypercallAddress) : "memory");
      break;
    case kWriteCode:
      asm volatile("movb $0xcc, (%0)" : : "r"(kvm_layout::kImageAddress + 64) : "memory");
      break;
    case kStackOverflow:
      Recurse(0);
      break;
    case kHostileCalls:
      HostileCalls(transport, *boot, arena);
      break;
    case kWritePastLimit:
      WritePastLimit(transport, *boot, arena);
      break;
    case kExitWithoutEmit:
      break;
    case kAbort:
      transport.Abort(kAbortMessage);
    case kExitStatus: {
      Result result(arena, kExitStatus);
      if (result.Emit(transport) != abi::CallError::kOk) transport.Abort("kEmit failed");
      transport.Exit(3);
    }
    default:
      transport.Abort("test guest: unknown behaviour");
  }
  transport.Exit(0);
}
