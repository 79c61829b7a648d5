// Operations that only the test build of the helper
// (instar-sandbox-helper-test) knows. Each misbehaves on purpose so the
// tests can check what the host makes of it. The production helper has no
// code for them: it answers these numbers with an error result.
#ifndef INSTAR_GUEST_RUNTIME_PROCESS_TESTING_TEST_OPERATIONS_H_
#define INSTAR_GUEST_RUNTIME_PROCESS_TESTING_TEST_OPERATIONS_H_

#include <cstdint>

namespace instar::guest::testing {

enum TestOperation : uint32_t {
  kTestForbiddenSyscall = 0x7e570001,   // calls getpid() after seccomp
  kTestLoop = 0x7e570002,               // spins forever
  kTestProbeEnvironment = 0x7e570003,   // reports open fds, argc and envc
  kTestCrash = 0x7e570004,              // writes through a null pointer
  kTestBadRequest = 0x7e570005,         // a 2^40-byte kEmit, a kLog outside shared memory
  kTestExitWithoutResult = 0x7e570006,  // kExit(0) without a kEmit
  // Writes device 0 around the write limit the host set, passed as
  // config.resize.size: the requests of the kvm test guest's
  // kWritePastLimit (guest/runtime/kvm/test_guest.h), in its order; emits
  // each reply's error (kTagReplyError).
  kTestWritePastLimit = 0x7e570007,
  // A kLog "in-arena" from an arena buffer, then "on-stack" from the
  // stack: exit 42 when the first left the window untouched (its payload
  // named in place) and the second crossed through it.
  kTestPayloadsInPlace = 0x7e570008,
};

// Tags of kTestProbeEnvironment's result.
constexpr uint16_t kTagOpenFd = 16;  // u64, once per open fd in 0..1023
constexpr uint16_t kTagArgc = 17;    // u64
constexpr uint16_t kTagEnvc = 18;    // u64
// Tag of kTestWritePastLimit's result.
constexpr uint16_t kTagReplyError = 19;  // i64, one per request

}  // namespace instar::guest::testing

#endif  // INSTAR_GUEST_RUNTIME_PROCESS_TESTING_TEST_OPERATIONS_H_
