#include "vmm/sandbox/emulated/emulated_sandbox.h"

#include <cstdio>
#include <string>

#include <dlfcn.h>
#include <unicorn/unicorn.h>

#include "instar/guest/kvm_layout.h"
#include "vmm/sandbox/backends.h"
#include "vmm/sandbox/call_handler.h"
#include "vmm/sandbox/guest_memory.h"
#include "vmm/sandbox/host_confinement.h"

namespace instar::vmm {

namespace {

namespace layout = kvm_layout;

// Why LoadUnicorn() failed, kept for every later call.
std::string g_unicorn_error;

// Unicorn's shared library, loaded on first use: linking it into `instar`
// would cost every run, whatever its backend, the relocation of a 19 MB
// library (tens of milliseconds, more than a whole `qemu-img measure`).
constexpr const char* kUnicornLibraries[] = {"libunicorn.so.2", "libunicorn.so"};

struct UnicornApi {
  decltype(&uc_open) open;
  decltype(&uc_close) close;
  decltype(&uc_strerror) strerror;
  decltype(&uc_mem_map_ptr) mem_map_ptr;
  decltype(&uc_mmio_map) mmio_map;
  decltype(&uc_reg_write) reg_write;
  decltype(&uc_reg_read) reg_read;
  decltype(&uc_hook_add) hook_add;
  decltype(&uc_emu_start) emu_start;
  decltype(&uc_emu_stop) emu_stop;
  decltype(&uc_query) query;
  decltype(&uc_ctl) ctl;
};

template <typename Function>
bool Resolve(void* library, const char* name, Function* function) {
  *function = reinterpret_cast<Function>(::dlsym(library, name));
  return *function != nullptr;
}

// The loaded API, or nullptr with *why set. Loaded once per process and
// never unloaded.
const UnicornApi* LoadUnicorn(std::string* why) {
  static const UnicornApi* const api = [](std::string* error) -> const UnicornApi* {
    void* library = nullptr;
    for (const char* name : kUnicornLibraries) {
      library = ::dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (library != nullptr) break;
    }
    if (library == nullptr) {
      *error = std::string("cannot load Unicorn (install libunicorn2): ") + ::dlerror();
      return nullptr;
    }
    static UnicornApi loaded;
    if (!Resolve(library, "uc_open", &loaded.open) ||
        !Resolve(library, "uc_close", &loaded.close) ||
        !Resolve(library, "uc_strerror", &loaded.strerror) ||
        !Resolve(library, "uc_mem_map_ptr", &loaded.mem_map_ptr) ||
        !Resolve(library, "uc_mmio_map", &loaded.mmio_map) ||
        !Resolve(library, "uc_reg_write", &loaded.reg_write) ||
        !Resolve(library, "uc_reg_read", &loaded.reg_read) ||
        !Resolve(library, "uc_hook_add", &loaded.hook_add) ||
        !Resolve(library, "uc_emu_start", &loaded.emu_start) ||
        !Resolve(library, "uc_emu_stop", &loaded.emu_stop) ||
        !Resolve(library, "uc_query", &loaded.query) || !Resolve(library, "uc_ctl", &loaded.ctl)) {
      *error = "the Unicorn library found is not Unicorn 2 (a function is missing)";
      return nullptr;
    }
    return &loaded;
  }(&g_unicorn_error);
  if (api == nullptr) *why = g_unicorn_error;
  return api;
}

constexpr uint32_t kMsrEfer = 0xC0000080;
// Exception vectors worth naming in a crash report.
constexpr uint32_t kGeneralProtectionVector = 13;
constexpr uint32_t kPageFaultVector = 14;

std::string Hex(uint64_t value) {
  char text[32];
  (void)std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

const char* ExceptionName(uint32_t vector) {
  switch (vector) {
    case 0:
      return "divide error";
    case 3:
      return "breakpoint";
    case 4:
      return "overflow";
    case 5:
      return "bound range exceeded";
    case 6:
      return "invalid opcode";
    case 8:
      return "double fault";
    case 12:
      return "stack fault";
    case 13:
      return "general protection fault";
    case 14:
      return "page fault";
    case 17:
      return "alignment check";
    default:
      return "exception";
  }
}

// An open Unicorn instance, closed on scope exit.
class UnicornEngine {
 public:
  explicit UnicornEngine(const UnicornApi& api) : api_(api) {}
  UnicornEngine(const UnicornEngine&) = delete;
  UnicornEngine& operator=(const UnicornEngine&) = delete;
  ~UnicornEngine() {
    if (uc_ != nullptr) api_.close(uc_);
  }
  uc_err Open() { return api_.open(UC_ARCH_X86, UC_MODE_64, &uc_); }
  uc_engine* get() const { return uc_; }

 private:
  const UnicornApi& api_;
  uc_engine* uc_ = nullptr;
};

// What the hooks saw; the run's outcome is decided from it after
// uc_emu_start() returns.
struct RunState {
  const UnicornApi* api = nullptr;
  GuestMemory* memory = nullptr;
  CallHandler* handler = nullptr;
  bool stopped = false;  // kExit or kAbort
  bool bad_hypercall = false;
  HypercallPageAccess access;
  bool exception = false;
  uint32_t vector = 0;
  bool bad_memory = false;
  uint64_t address = 0;
};

// An access to the hypercall page (Unicorn's MMIO callbacks: the same exit
// KVM takes).
void OnHypercallPage(uc_engine* uc, const HypercallPageAccess& access, RunState* state) {
  if (!IsHypercall(access)) {
    state->bad_hypercall = true;
    state->access = access;
    state->api->emu_stop(uc);
    return;
  }
  if (ServeHypercall(*state->memory, *state->handler) == HypercallOutcome::kStop) {
    state->stopped = true;
    state->api->emu_stop(uc);
  }
}

void OnHypercallStore(uc_engine* uc, uint64_t offset, unsigned size, uint64_t /*value*/,
                      void* user_data) {
  OnHypercallPage(uc, {offset, size, true}, static_cast<RunState*>(user_data));
}

uint64_t OnHypercallLoad(uc_engine* uc, uint64_t offset, unsigned size, void* user_data) {
  OnHypercallPage(uc, {offset, size, false}, static_cast<RunState*>(user_data));
  return 0;
}

void OnInterrupt(uc_engine* uc, uint32_t vector, void* user_data) {
  auto* state = static_cast<RunState*>(user_data);
  state->exception = true;
  state->vector = vector;
  state->api->emu_stop(uc);
}

bool OnInvalidMemory(uc_engine* /*uc*/, uc_mem_type /*type*/, uint64_t address, int /*size*/,
                     int64_t /*value*/, void* user_data) {
  auto* state = static_cast<RunState*>(user_data);
  state->bad_memory = true;
  state->address = address;
  return false;
}

// Port I/O at CPL 3 with IOPL 0 (the guest's only state) is a general
// protection fault on a real CPU and under KVM, but Unicorn 2.0 skips that
// check and runs the instruction: raise the fault the CPU would.
void OnPortIo(uc_engine* uc, RunState* state) {
  state->exception = true;
  state->vector = kGeneralProtectionVector;
  state->api->emu_stop(uc);
}

void OnOut(uc_engine* uc, uint32_t /*port*/, int /*size*/, uint32_t /*value*/, void* user_data) {
  OnPortIo(uc, static_cast<RunState*>(user_data));
}

uint32_t OnIn(uc_engine* uc, uint32_t /*port*/, int /*size*/, void* user_data) {
  OnPortIo(uc, static_cast<RunState*>(user_data));
  return 0;
}

uint64_t ReadRegister(const UnicornApi& api, uc_engine* uc, int reg) {
  uint64_t value = 0;
  api.reg_read(uc, reg, &value);
  return value;
}

uint64_t SegmentFlags(const SegmentState& segment) {
  // Unicorn (QEMU) keeps a segment's attributes as the high dword of its
  // descriptor.
  return (GdtEntry(segment) >> 32) & 0x00F0FF00;
}

// Puts the vCPU in BootState's ring-change state: the registers the kvm
// backend sets with KVM_SET_SREGS/KVM_SET_REGS, but at CPL 0 on the
// ring-change page, whose iretq enters the guest at CPL 3 (Unicorn refuses a
// DPL 3 stack segment while CPL is 0, and CPL follows the stack segment).
// Paging is switched on last, when CR3, CR4 and EFER are in place, as a real
// CPU requires.
uc_err SetBootState(const UnicornApi& api, uc_engine* uc, const BootState& boot) {
  uc_x86_mmr gdtr{};
  gdtr.base = boot.gdt_base;
  gdtr.limit = boot.gdt_limit;
  uc_x86_mmr idtr{};  // no IDT: an exception ends the guest
  uc_x86_mmr tr{};
  tr.selector = boot.task.selector;
  tr.base = boot.task.base;
  tr.limit = boot.task.limit;
  tr.flags = static_cast<uint32_t>(SegmentFlags(boot.task));
  uc_x86_msr efer{kMsrEfer, boot.efer};
  const uint64_t cr3 = boot.cr3;
  const uint64_t cr4 = boot.cr4;
  const uint64_t cr0 = boot.cr0;
  uc_err err;
  if ((err = api.reg_write(uc, UC_X86_REG_GDTR, &gdtr)) != UC_ERR_OK ||
      (err = api.reg_write(uc, UC_X86_REG_IDTR, &idtr)) != UC_ERR_OK ||
      (err = api.reg_write(uc, UC_X86_REG_TR, &tr)) != UC_ERR_OK ||
      (err = api.reg_write(uc, UC_X86_REG_CR3, &cr3)) != UC_ERR_OK ||
      (err = api.reg_write(uc, UC_X86_REG_CR4, &cr4)) != UC_ERR_OK ||
      (err = api.reg_write(uc, UC_X86_REG_MSR, &efer)) != UC_ERR_OK ||
      (err = api.reg_write(uc, UC_X86_REG_CR0, &cr0)) != UC_ERR_OK) {
    return err;
  }
  // The user data segment stays in ds/es/fs/gs across the iretq (its DPL is
  // 3); cs and ss come from the iretq frame.
  const uint16_t user_data = boot.data.selector;
  for (int reg : {UC_X86_REG_DS, UC_X86_REG_ES, UC_X86_REG_FS, UC_X86_REG_GS}) {
    if ((err = api.reg_write(uc, reg, &user_data)) != UC_ERR_OK) return err;
  }
  const uint16_t kernel_data = boot.kernel_data.selector;
  const uint16_t kernel_code = boot.kernel_code.selector;
  if ((err = api.reg_write(uc, UC_X86_REG_SS, &kernel_data)) != UC_ERR_OK ||
      (err = api.reg_write(uc, UC_X86_REG_CS, &kernel_code)) != UC_ERR_OK) {
    return err;
  }
  const struct {
    int reg;
    uint64_t value;
  } registers[] = {{UC_X86_REG_RIP, boot.ring_change_rip},
                   {UC_X86_REG_RSP, boot.ring_change_rsp},
                   {UC_X86_REG_RDI, boot.rdi},
                   {UC_X86_REG_RFLAGS, boot.rflags}};
  for (const auto& r : registers) {
    if ((err = api.reg_write(uc, r.reg, &r.value)) != UC_ERR_OK) return err;
  }
  // The emulator must have taken every bit (EFER.NXE needs a CPU model with
  // NX): otherwise the guest would not run in the state KVM gives it.
  uc_x86_msr efer_now{kMsrEfer, 0};
  api.reg_read(uc, UC_X86_REG_MSR, &efer_now);
  if (efer_now.value != boot.efer || ReadRegister(api, uc, UC_X86_REG_CR0) != boot.cr0 ||
      ReadRegister(api, uc, UC_X86_REG_CR4) != boot.cr4) {
    return UC_ERR_ARG;
  }
  return UC_ERR_OK;
}

class EmulatedSandbox final : public Sandbox {
 public:
  EmulatedSandbox(const UnicornApi& api, std::vector<uint8_t> image)
      : api_(api), image_(std::move(image)) {}

  SandboxKind kind() const override { return SandboxKind::kEmulated; }

  SandboxOutcome Run(const abi::OperationConfig& config, DeviceTable& devices,
                     const SandboxLimits& limits) override;

 private:
  const UnicornApi& api_;
  std::vector<uint8_t> image_;
};

SandboxOutcome EmulatedSandbox::Run(const abi::OperationConfig& config, DeviceTable& devices,
                                    const SandboxLimits& limits) {
  CallHandler handler(devices, limits.progress);
  auto unavailable = [&](const std::string& message) {
    return FailedGuestOutcome(handler, kExitSandboxUnavailable,
                              "the emulated sandbox cannot start: " + message);
  };
  std::string error;
  std::unique_ptr<GuestMemory> memory = GuestMemory::Create(limits.guest_memory_bytes, &error);
  if (memory == nullptr) return unavailable(error);
  LentWritesReleased lent_released(devices);
  if (!memory->Load(image_, config, &error)) return unavailable(error);

  const UnicornApi& api = api_;
  UnicornEngine engine(api);
  uc_err err = engine.Open();
  if (err != UC_ERR_OK) return unavailable(std::string("uc_open: ") + api.strerror(err));
  uc_engine* uc = engine.get();
  RunState state;
  state.api = &api;
  state.memory = memory.get();
  state.handler = &handler;
  for (const GuestMemory::RamRange& ram : memory->ram_ranges()) {
    err = api.mem_map_ptr(uc, ram.guest_address, ram.bytes, UC_PROT_ALL, ram.host);
    if (err != UC_ERR_OK) return unavailable(std::string("uc_mem_map_ptr: ") + api.strerror(err));
  }
  err = api.mmio_map(uc, layout::kHypercallAddress, layout::kPageSize, &OnHypercallLoad, &state,
                     &OnHypercallStore, &state);
  if (err != UC_ERR_OK) return unavailable(std::string("uc_mmio_map: ") + api.strerror(err));
  const BootState boot = memory->boot_state();
  err = SetBootState(api, uc, boot);
  if (err != UC_ERR_OK) {
    return unavailable(std::string("cannot put the emulated CPU in 64-bit mode: ") +
                       api.strerror(err));
  }

  uc_hook out_hook, in_hook, interrupt_hook, memory_hook;
  if ((err = api.hook_add(uc, &out_hook, UC_HOOK_INSN, reinterpret_cast<void*>(&OnOut), &state, 1,
                          0, UC_X86_INS_OUT)) != UC_ERR_OK ||
      (err = api.hook_add(uc, &in_hook, UC_HOOK_INSN, reinterpret_cast<void*>(&OnIn), &state, 1, 0,
                          UC_X86_INS_IN)) != UC_ERR_OK ||
      (err = api.hook_add(uc, &interrupt_hook, UC_HOOK_INTR, reinterpret_cast<void*>(&OnInterrupt),
                          &state, 1, 0)) != UC_ERR_OK ||
      (err = api.hook_add(uc, &memory_hook, UC_HOOK_MEM_INVALID,
                          reinterpret_cast<void*>(&OnInvalidMemory), &state, 1, 0)) != UC_ERR_OK) {
    return unavailable(std::string("uc_hook_add: ") + api.strerror(err));
  }

  // No stop address: the guest ends by a hypercall, a fault or the
  // watchdog (uc_emu_start's time-out, in microseconds).
  const auto timeout_us = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(limits.timeout).count());
  api.ctl(uc, UC_CTL_WRITE(UC_CTL_UC_USE_EXITS, 1), 1);  // uc_ctl_exits_enable()
  // The engine is made and mapped: from here on instar only runs and serves
  // it.
  if (limits.confine_host && !ConfineHost(SandboxKind::kEmulated, 0, devices.output_fds(), &error,
                                          !devices.output_temp_path().empty())) {
    return unavailable(error);
  }
  err = api.emu_start(uc, boot.ring_change_rip, 0, timeout_us > 0 ? timeout_us : 1, 0);
  const uint64_t rip = ReadRegister(api, uc, UC_X86_REG_RIP);

  if (state.stopped) return StoppedGuestOutcome(handler);
  if (state.bad_hypercall) {
    return FailedGuestOutcome(handler, kExitBadResult, HypercallMisuseMessage(state.access, rip));
  }
  if (state.exception) {
    std::string what = std::string(ExceptionName(state.vector)) + " (vector " +
                       std::to_string(state.vector) + ") at rip " + Hex(rip);
    if (state.vector == kPageFaultVector)
      what += ", address " + Hex(ReadRegister(api, uc, UC_X86_REG_CR2));
    return FailedGuestOutcome(handler, kExitGuestCrash, "the sandbox guest crashed: " + what);
  }
  if (state.bad_memory) {
    return FailedGuestOutcome(handler, kExitGuestCrash,
                              "the sandbox guest crashed: access to unmapped address " +
                                  Hex(state.address) + " at rip " + Hex(rip));
  }
  if (err == UC_ERR_INSN_INVALID) {
    return FailedGuestOutcome(handler, kExitGuestCrash,
                              "the sandbox guest crashed: invalid opcode at rip " + Hex(rip));
  }
  if (err != UC_ERR_OK) {
    return FailedGuestOutcome(
        handler, kExitGuestCrash,
        std::string("the sandbox guest crashed: ") + api.strerror(err) + " at rip " + Hex(rip));
  }
  size_t timed_out = 0;
  api.query(uc, UC_QUERY_TIMEOUT, &timed_out);
  if (timed_out != 0) {
    char seconds[32];
    (void)std::snprintf(seconds, sizeof(seconds), "%g",
                        std::chrono::duration<double>(limits.timeout).count());
    return FailedGuestOutcome(handler, kExitTimeout,
                              std::string("the sandbox timed out after ") + seconds + " seconds");
  }
  return FailedGuestOutcome(
      handler, kExitBadResult,
      "the sandbox guest stopped at rip " + Hex(rip) + " without finishing the call protocol");
}

}  // namespace

std::unique_ptr<Sandbox> MakeEmulatedSandboxForImage(std::vector<uint8_t> image, std::string* why) {
  const UnicornApi* api = LoadUnicorn(why);
  if (api == nullptr) return nullptr;
  return std::make_unique<EmulatedSandbox>(*api, std::move(image));
}

std::unique_ptr<Sandbox> MakeEmulatedSandbox(std::string* why) {
  if (LoadUnicorn(why) == nullptr) return nullptr;
  std::vector<uint8_t> image;
  std::string path;
  if (!ReadGuestImage(&image, &path, why)) return nullptr;
  return MakeEmulatedSandboxForImage(std::move(image), why);
}

}  // namespace instar::vmm
