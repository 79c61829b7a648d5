// The test guest: a flat image built from the same runtime as the real one
// (entry stub, linker script, KvmTransport) whose main misbehaves on demand,
// so the kvm and emulated hosts can be tested against a guest that loops,
// faults, breaks the protocol or sends hostile hypercalls.
//
// OperationConfig.operation selects the behaviour. For a real operation
// (info, measure: what the `instar` CLI sends), the last part of
// config.filename selects it by name (kBehaviourNames), so the CLI can be
// tested against a misbehaving guest too: `INSTAR_GUEST_IMAGE=<test guest>
// instar --sandbox=emulated info /tmp/x/null-write`. Shared by the test guest
// (test_guest_main.cc) and the host tests (vmm/sandbox/emulated,
// vmm/sandbox/kvm).
#ifndef INSTAR_GUEST_RUNTIME_KVM_TEST_GUEST_H_
#define INSTAR_GUEST_RUNTIME_KVM_TEST_GUEST_H_

#include <cstdint>

namespace instar::test_guest {

enum Behaviour : uint32_t {
  // Emits a result (ResultHeader, operation kEcho) with: kTagFilename
  // (config.filename), kTagSize (kSize of device 0), and the first
  // kEchoBytes of device 0 read into the bss (kTagBss), the last bytes of the
  // arena (kTagArenaEnd) and the stack (kTagStack), and the privilege level
  // it runs at (kTagCpl, from cs).
  kEcho = 100,
  kSpin = 101,             // loops forever
  kNullWrite = 102,        // writes to address 0 (not mapped)
  kInvalidOpcode = 103,    // ud2
  kHalt = 104,             // hlt: privileged, a fault at CPL 3
  kPortIo = 105,           // out to port 0x80: privileged, a fault at CPL 3
  kWriteCode = 106,        // writes into its own (read-only) code
  kStackOverflow = 107,    // recursion into the guard page
  kHostileCalls = 108,     // the kHostile* requests; emits each reply's error
  kReadGdt = 109,          // reads the GDT: a kernel page, a fault at CPL 3
  kExitWithoutEmit = 110,  // kExit(0) with no kEmit
  kAbort = 111,            // kAbort(kAbortMessage)
  kExitStatus = 112,       // emits a result, then kExit(3)
  kHypercallLoad = 113,    // a 4-byte load from the hypercall page
  kHypercallByte = 114,    // a 1-byte store to the hypercall page
  // Writes device 0 around the write limit the host set, which the test
  // passes as config.resize.size (abi.h, "Writable devices"); emits each
  // reply's error (kTagReplyError), in kWriteRequest order.
  kWritePastLimit = 115,
};

struct BehaviourName {
  const char* name;
  Behaviour behaviour;
};
constexpr BehaviourName kBehaviourNames[] = {
    {"spin", kSpin},
    {"null-write", kNullWrite},
    {"invalid-opcode", kInvalidOpcode},
    {"halt", kHalt},
    {"port-io", kPortIo},
    {"read-gdt", kReadGdt},
    {"hypercall-load", kHypercallLoad},
    {"hypercall-byte", kHypercallByte},
    {"write-code", kWriteCode},
    {"stack-overflow", kStackOverflow},
    {"exit-without-emit", kExitWithoutEmit},
    {"abort", kAbort},
};

constexpr uint16_t kTagFilename = 10;
constexpr uint16_t kTagSize = 11;
constexpr uint16_t kTagBss = 12;
constexpr uint16_t kTagArenaEnd = 13;
constexpr uint16_t kTagStack = 14;
constexpr uint16_t kTagReplyError = 15;  // i64, one per hostile request, in order
constexpr uint16_t kTagCpl = 16;         // u64
constexpr uint32_t kEchoBytes = 64;
constexpr char kAbortMessage[] = "test guest: aborting on request";

// The requests of kHostileCalls, in order; the comment is the error the host
// must answer.
enum HostileRequest : uint32_t {
  kReadIntoPageTables,  // kBadBuffer
  kReadIntoCode,        // kBadBuffer
  kReadIntoMailbox,     // kBadBuffer
  kReadIntoGuardPage,   // kBadBuffer
  kReadPastMemoryEnd,   // kBadBuffer: buffer = memory end - 8, length 16
  kReadBufferWraps,     // kBadBuffer: buffer = UINT64_MAX - 7, length 16
  kReadOffsetWraps,     // kBadRange: offset = UINT64_MAX - 4, length 16
  kReadTooLong,         // kBadRange: length = kMaxTransfer + 1
  kUnknownCall,         // kBadCall: call = 99
  kBadDeviceNumber,     // kBadDevice: kSize of device 7
  kLogFromConfigPage,   // kBadBuffer: payload in the config page
  kEmitTooLarge,        // kTooLarge: length = kMaxResult + 1
  kReadIntoArenaEnd,    // kOk: the last 16 bytes of memory
  kHostileRequestCount,
};

// The requests of kWritePastLimit, in order; the comment is the error the
// host must answer on an in-place writable device of that limit.
enum WriteRequest : uint32_t {
  kWriteUpToLimit,     // kOk: the last byte below the limit
  kWriteAcrossLimit,   // kBadRange: two bytes, the second at the limit
  kWriteAtLimit,       // kBadRange: one byte at the limit
  kTruncatePastLimit,  // kBadRange: a length of limit + 1
  kAllocatePastLimit,  // kBadRange: [0, limit + 1)
  kWriteRequestCount,
};

}  // namespace instar::test_guest

#endif  // INSTAR_GUEST_RUNTIME_KVM_TEST_GUEST_H_
