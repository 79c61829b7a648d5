// instar-sandbox-helper: the process backend's guest. A static program with
// no C library and its own _start. The host starts it with the two pipes of
// the call table on fds 0 and 1 and nothing else: no other fd, an empty
// environment, rlimits already set.
//
// Before it reads a single byte from the host (the config, then image bytes)
// it sets no_new_privs and enters SECCOMP_MODE_STRICT, leaving only read,
// write, exit and rt_sigreturn. Memory is the arena in the memory the host
// shares on fd 2, mapped before that: the helper never asks the kernel for
// more.
#include <cstdint>

#include "helper.h"
#include "instar/engine/arena.h"
#include "instar/guest/abi.h"
#include "pipe_transport.h"
#include "syscalls.h"

// The kernel enters here with the stack pointer at argc; hand it to C++ with
// the stack aligned as the ABI wants for a call.
asm(R"(
  .text
  .global _start
  .type _start, @function
_start:
  xor %ebp, %ebp
  mov %rsp, %rdi
  and $-16, %rsp
  call InstarHelperMain
  ud2
)");

namespace instar::guest {

StartInfo g_start_info;

namespace {

// Exit statuses the host sees when the helper cannot even report an error.
constexpr int kExitNoSeccomp = 120;
constexpr int kExitNoConfig = 121;
constexpr int kExitNoWindow = 122;

void Abort(uint8_t* window, const char* message) {
  size_t length = 0;
  while (message[length] != '\0') ++length;
  PipeTransport transport(window);
  transport.Call(abi::MakeRequest(abi::Call::kAbort, 0, 0, length), message, nullptr);
}

}  // namespace

}  // namespace instar::guest

extern "C" [[noreturn]] void InstarHelperMain(const uint64_t* initial_stack);

extern "C" [[noreturn]] void InstarHelperMain(const uint64_t* initial_stack) {
  using namespace instar;
  using namespace instar::guest;

  // argc, argv[0..argc-1], NULL, envp[...], NULL.
  g_start_info.argc = initial_stack[0];
  const uint64_t* envp = initial_stack + 1 + g_start_info.argc + 1;
  while (envp[g_start_info.envc] != 0) ++g_start_info.envc;

  // The memory the host shares on fd 2 (abi.h, "process"): the data
  // window, then the arena. Mapped while mmap is still allowed.
  const long shared = sys::MapShared(2, abi::kProcessSharedBytes);
  if (shared < 0) sys::Exit(kExitNoWindow);
  (void)sys::Close(2);

  if (sys::Prctl(sys::kPrSetNoNewPrivs, 1) != 0 ||
      sys::Prctl(sys::kPrSetSeccomp, sys::kSeccompModeStrict) != 0) {
    Abort(reinterpret_cast<uint8_t*>(shared),
          "the sandbox helper could not enter seccomp strict mode");
    sys::Exit(kExitNoSeccomp);
  }

  static abi::OperationConfig config;
  if (!sys::ReadFull(0, &config, sizeof(config))) sys::Exit(kExitNoConfig);

  g_start_info.shared = reinterpret_cast<uint8_t*>(shared);
  Arena arena(reinterpret_cast<uint8_t*>(shared) + abi::kProcessWindowBytes,
              abi::kProcessArenaBytes);
  PipeTransport transport(reinterpret_cast<uint8_t*>(shared));
  const int status = DispatchOperation(config, transport, arena);

  transport.Call(abi::MakeRequest(abi::Call::kExit, 0, static_cast<uint64_t>(status)), nullptr,
                 nullptr);
  sys::Exit(status);
}
