#include "vmm/sandbox/kvm/kvm_sandbox.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "host/fd.h"
#include "instar/guest/kvm_layout.h"
#include "vmm/sandbox/backends.h"
#include "vmm/sandbox/call_handler.h"
#include "vmm/sandbox/guest_memory.h"
#include "vmm/sandbox/host_confinement.h"
#include "vmm/sandbox/kvm/kvm_ioctls.h"

namespace instar::vmm {

namespace {

namespace layout = kvm_layout;

constexpr int kKvmApiVersion = 12;
// Intel VT-x needs three pages of guest-physical space for the real-mode TSS
// even though the guest never uses it; they lie above any guest memory
// (kMaxMemoryBytes is 1 GiB), where Firecracker puts them too.
constexpr uint64_t kTssAddress = 0xFFFBD000;
static_assert(kTssAddress >= layout::kMaxMemoryBytes);

std::string Hex(uint64_t value) {
  char text[32];
  (void)std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

using host::Fd;

// An owned mmap() region.
class Mapping {
 public:
  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (address_ != nullptr) ::munmap(address_, size_);
  }
  bool Map(int fd, size_t size) {
    void* address = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (address == MAP_FAILED) return false;
    address_ = address;
    size_ = size;
    return true;
  }
  void* get() const { return address_; }

 private:
  void* address_ = nullptr;
  size_t size_ = 0;
};

// ioctl() that retries when a signal interrupts it (not used for KVM_RUN,
// whose EINTR is the watchdog's doing).
template <typename Argument>
int Ioctl(int fd, unsigned long request, Argument argument) {
  int result;
  do {
    result = ::ioctl(fd, request, argument);
  } while (result < 0 && errno == EINTR);
  return result;
}

// Ioctl() that, when it fails, says so in *error ("KVM_SET_REGS: Invalid
// argument").
template <typename Argument>
bool IoctlOrError(int fd, unsigned long request, Argument argument, const char* name,
                  std::string* error) {
  if (Ioctl(fd, request, argument) >= 0) return true;
  *error = Errno(name);
  return false;
}

// The KVM device: $INSTAR_KVM_DEVICE when set (tests point it at a missing
// file to see a machine without KVM), else /dev/kvm.
std::string KvmDevicePath() {
  const char* env = std::getenv("INSTAR_KVM_DEVICE");
  return env != nullptr && env[0] != '\0' ? env : "/dev/kvm";
}

std::string OpenKvmError(const std::string& path, int error) {
  switch (error) {
    case ENOENT:
      return path +
             ": No such file or directory (is KVM enabled? load kvm-intel or kvm-amd, "
             "or use --sandbox=process)";
    case EACCES:
    case EPERM:
      return path +
             ": Permission denied (add your user to the 'kvm' group, or use "
             "--sandbox=process)";
    case ENODEV:
    case ENXIO:
      return path +
             ": No such device (is virtualisation enabled in the firmware? or use "
             "--sandbox=process)";
    default:
      return path + ": " + std::strerror(error);
  }
}

bool OpenKvm(Fd* kvm, std::string* why) {
  const std::string path = KvmDevicePath();
  kvm->Reset(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!kvm->valid()) {
    *why = OpenKvmError(path, errno);
    return false;
  }
  const int version = Ioctl(kvm->get(), kvm_ioctl::kGetApiVersion, 0);
  if (version != kKvmApiVersion) {
    *why = path + ": KVM API version " + std::to_string(version) + ", instar needs " +
           std::to_string(kKvmApiVersion);
    return false;
  }
  const struct {
    int capability;
    const char* name;
  } required[] = {
      {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
      {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
      {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
      {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
  };
  for (const auto& r : required) {
    if (Ioctl(kvm->get(), kvm_ioctl::kCheckExtension, r.capability) <= 0) {
      *why = path + ": this kernel's KVM lacks " + r.name + " (use --sandbox=process)";
      return false;
    }
  }
  return true;
}

kvm_segment KvmSegment(const SegmentState& s) {
  kvm_segment k{};
  k.base = s.base;
  k.limit = s.limit;
  k.selector = s.selector;
  k.type = s.type;
  k.present = s.present;
  k.dpl = s.dpl;
  k.db = s.db;
  k.s = s.s;
  k.l = s.l;
  k.g = s.g;
  return k;
}

// Gives the vCPU the one CPUID fact KVM checks the boot state against:
// long mode (KVM_SET_SREGS refuses EFER.LME without it). The host's whole
// table (KVM_GET_SUPPORTED_CPUID, as kvmtool and Firecracker copy it) costs
// a third of a millisecond per run here, and the guest never asks: it runs
// no cpuid instruction and uses no feature beyond baseline x86-64.
bool SetCpuid(int vcpu, std::string* error) {
  constexpr uint32_t kExtendedMaxLeaf = 0x80000000;
  constexpr uint32_t kExtendedFeatures = 0x80000001;
  constexpr uint32_t kLongModeBit = 1u << 29;  // CPUID 0x80000001 EDX.LM
  struct {
    kvm_ioctl::Cpuid2Header header;
    kvm_cpuid_entry2 entries[2];
  } cpuid{};
  static_assert(sizeof(cpuid) == sizeof(kvm_ioctl::Cpuid2Header) + 2 * sizeof(kvm_cpuid_entry2));
  cpuid.header.nent = 2;
  cpuid.entries[0].function = kExtendedMaxLeaf;
  cpuid.entries[0].eax = kExtendedFeatures;
  cpuid.entries[1].function = kExtendedFeatures;
  cpuid.entries[1].edx = kLongModeBit;
  return IoctlOrError(vcpu, kvm_ioctl::kSetCpuid2, &cpuid, "KVM_SET_CPUID2", error);
}

// The vCPU's rip, or 0 when KVM cannot say.
uint64_t RipOf(int vcpu) {
  kvm_regs regs{};
  return Ioctl(vcpu, kvm_ioctl::kGetRegs, &regs) == 0 ? regs.rip : 0;
}

bool SetBootState(int vcpu, const BootState& boot, std::string* error) {
  kvm_sregs sregs{};
  if (!IoctlOrError(vcpu, kvm_ioctl::kGetSregs, &sregs, "KVM_GET_SREGS", error)) return false;
  sregs.cs = KvmSegment(boot.code);
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = KvmSegment(boot.data);
  sregs.tr = KvmSegment(boot.task);
  sregs.gdt.base = boot.gdt_base;
  sregs.gdt.limit = boot.gdt_limit;
  sregs.idt.base = 0;  // no IDT: any exception becomes a triple fault
  sregs.idt.limit = 0;
  sregs.cr0 = boot.cr0;
  sregs.cr3 = boot.cr3;
  sregs.cr4 = boot.cr4;
  sregs.efer = boot.efer;
  if (!IoctlOrError(vcpu, kvm_ioctl::kSetSregs, &sregs, "KVM_SET_SREGS", error)) return false;
  kvm_regs regs{};
  regs.rip = boot.rip;
  regs.rsp = boot.rsp;
  regs.rdi = boot.rdi;
  regs.rflags = boot.rflags;
  return IoctlOrError(vcpu, kvm_ioctl::kSetRegs, &regs, "KVM_SET_REGS", error);
}

// The signal that kicks the vCPU out of KVM_RUN.
int KickSignal() { return SIGRTMIN; }

// What the kick's handler sees (through the timer's sigev_value): it sets
// immediate_exit, so a KVM_RUN that has not started yet returns at once,
// and the signal itself makes a running one return EINTR. Both stores are
// async-signal-safe.
struct KickTarget {
  kvm_run* run;
  volatile sig_atomic_t fired;
};

void OnKick(int, siginfo_t* info, void*) {
  if (info == nullptr || info->si_code != SI_TIMER) return;
  auto* target = static_cast<KickTarget*>(info->si_value.sival_ptr);
  target->fired = 1;
  __atomic_store_n(&target->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

// Installs the kick handler and unblocks the signal in this thread while it
// lives; restores both afterwards.
class KickSignalScope {
 public:
  KickSignalScope() {
    struct sigaction action {};
    action.sa_sigaction = &OnKick;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    ::sigaction(KickSignal(), &action, &saved_action_);
    sigset_t kick;
    sigemptyset(&kick);
    sigaddset(&kick, KickSignal());
    ::pthread_sigmask(SIG_UNBLOCK, &kick, &saved_mask_);
  }
  ~KickSignalScope() {
    // A kick still pending must not outlive the handler: block it, consume
    // it, and only then restore the caller's mask and disposition.
    sigset_t kick;
    sigemptyset(&kick);
    sigaddset(&kick, KickSignal());
    ::pthread_sigmask(SIG_BLOCK, &kick, nullptr);
    const timespec no_wait{0, 0};
    while (::sigtimedwait(&kick, nullptr, &no_wait) == KickSignal()) {
    }
    ::pthread_sigmask(SIG_SETMASK, &saved_mask_, nullptr);
    ::sigaction(KickSignal(), &saved_action_, nullptr);
  }
  KickSignalScope(const KickSignalScope&) = delete;
  KickSignalScope& operator=(const KickSignalScope&) = delete;

 private:
  struct sigaction saved_action_ {};
  sigset_t saved_mask_{};
};

// Ends the guest at the deadline: a one-shot CLOCK_MONOTONIC timer whose
// signal goes to the calling (vCPU) thread and runs OnKick there. No thread
// of its own: a watchdog thread cost more to start and join than a whole
// small guest run takes. Needs a live KickSignalScope.
class Watchdog {
 public:
  Watchdog(std::chrono::milliseconds timeout, kvm_run* run) : target_{run, 0} {
    sigevent event{};
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = KickSignal();
    event.sigev_value.sival_ptr = &target_;
    // SIGEV_THREAD_ID's target; Debian 12's glibc (2.36) does not yet name
    // this field sigev_notify_thread_id, as the kernel's header does.
    event._sigev_un._tid = ::gettid();
    if (::timer_create(CLOCK_MONOTONIC, &event, &timer_) != 0) {
      error_ = Errno("timer_create");
      return;
    }
    armed_ = true;
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
    itimerspec deadline{};
    deadline.it_value.tv_sec = seconds.count();
    deadline.it_value.tv_nsec =
        std::chrono::duration_cast<std::chrono::nanoseconds>(timeout - seconds).count();
    if (deadline.it_value.tv_sec == 0 && deadline.it_value.tv_nsec == 0) {
      deadline.it_value.tv_nsec = 1;  // zero would disarm the timer
    }
    if (::timer_settime(timer_, 0, &deadline, nullptr) != 0) error_ = Errno("timer_settime");
  }
  ~Watchdog() {
    if (armed_) ::timer_delete(timer_);
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Empty when the watchdog is armed, else why not.
  const std::string& error() const { return error_; }
  bool fired() const { return target_.fired != 0; }

 private:
  KickTarget target_;
  timer_t timer_{};
  bool armed_ = false;
  std::string error_;
};

class KvmSandbox final : public Sandbox {
 public:
  // `kvm` is /dev/kvm, opened and checked by OpenKvm().
  KvmSandbox(int kvm, std::vector<uint8_t> image) : kvm_(kvm), image_(std::move(image)) {}

  SandboxKind kind() const override { return SandboxKind::kKvm; }

  SandboxOutcome Run(const abi::OperationConfig& config, DeviceTable& devices,
                     const SandboxLimits& limits) override;

 private:
  Fd kvm_;
  std::vector<uint8_t> image_;
};

SandboxOutcome KvmSandbox::Run(const abi::OperationConfig& config, DeviceTable& devices,
                               const SandboxLimits& limits) {
  CallHandler handler(devices, limits.progress);
  auto unavailable = [&](const std::string& message) {
    return FailedGuestOutcome(handler, kExitSandboxUnavailable,
                              "the kvm sandbox cannot start: " + message);
  };
  const Fd& kvm = kvm_;
  std::string error;
  std::unique_ptr<GuestMemory> memory = GuestMemory::Create(limits.guest_memory_bytes, &error);
  if (memory == nullptr) return unavailable(error);
  LentWritesReleased lent_released(devices);
  if (!memory->Load(image_, config, &error)) return unavailable(error);

  Fd vm(Ioctl(kvm.get(), kvm_ioctl::kCreateVm, 0));
  if (!vm.valid()) return unavailable(Errno("KVM_CREATE_VM"));
  if (Ioctl(vm.get(), kvm_ioctl::kSetTssAddr, static_cast<unsigned long>(kTssAddress)) < 0) {
    return unavailable(Errno("KVM_SET_TSS_ADDR"));
  }
  uint32_t slot = 0;
  for (const GuestMemory::RamRange& ram : memory->ram_ranges()) {
    kvm_userspace_memory_region region{};
    region.slot = slot++;
    region.guest_phys_addr = ram.guest_address;
    region.memory_size = ram.bytes;
    region.userspace_addr = reinterpret_cast<uint64_t>(ram.host);
    if (Ioctl(vm.get(), kvm_ioctl::kSetUserMemoryRegion, &region) < 0) {
      return unavailable(Errno("KVM_SET_USER_MEMORY_REGION"));
    }
  }
  Fd vcpu(Ioctl(vm.get(), kvm_ioctl::kCreateVcpu, 0));
  if (!vcpu.valid()) return unavailable(Errno("KVM_CREATE_VCPU"));
  const int run_size = Ioctl(kvm.get(), kvm_ioctl::kGetVcpuMmapSize, 0);
  if (run_size < static_cast<int>(sizeof(kvm_run))) {
    return unavailable(Errno("KVM_GET_VCPU_MMAP_SIZE"));
  }
  Mapping run_mapping;
  if (!run_mapping.Map(vcpu.get(), static_cast<size_t>(run_size))) {
    return unavailable(Errno("mmap of the vCPU"));
  }
  auto* run = static_cast<kvm_run*>(run_mapping.get());
  if (!SetCpuid(vcpu.get(), &error)) return unavailable(error);
  if (!SetBootState(vcpu.get(), memory->boot_state(), &error)) return unavailable(error);

  auto rip = [&] { return Hex(RipOf(vcpu.get())); };
  auto timed_out = [&] {
    char seconds[32];
    (void)std::snprintf(seconds, sizeof(seconds), "%g",
                        std::chrono::duration<double>(limits.timeout).count());
    return FailedGuestOutcome(handler, kExitTimeout,
                              std::string("the sandbox timed out after ") + seconds + " seconds");
  };
  auto crashed = [&](const std::string& what) {
    return FailedGuestOutcome(handler, kExitGuestCrash, "the sandbox guest crashed: " + what);
  };

  KickSignalScope kick_signal;
  Watchdog watchdog(limits.timeout, run);
  if (!watchdog.error().empty()) return unavailable(watchdog.error());
  // The VM is made and armed: from here on instar only runs and serves it.
  if (limits.confine_host && !ConfineHost(SandboxKind::kKvm, 0, devices.output_fds(), &error,
                                          !devices.output_temp_path().empty()))
    return unavailable(error);
  for (;;) {
    if (::ioctl(vcpu.get(), kvm_ioctl::kRun, 0) < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        if (watchdog.fired()) return timed_out();
        continue;  // another signal; the guest has not finished
      }
      return unavailable(Errno("KVM_RUN"));
    }
    switch (run->exit_reason) {
      case KVM_EXIT_MMIO: {
        const uint64_t address = run->mmio.phys_addr;
        if (address - layout::kHypercallAddress >= layout::kPageSize) {
          return crashed("access to unmapped address " + Hex(address) + " at rip " + rip());
        }
        const HypercallPageAccess access{address - layout::kHypercallAddress, run->mmio.len,
                                         run->mmio.is_write != 0};
        if (!IsHypercall(access)) {
          return FailedGuestOutcome(handler, kExitBadResult,
                                    HypercallMisuseMessage(access, RipOf(vcpu.get())));
        }
        if (ServeHypercall(*memory, handler) == HypercallOutcome::kStop) {
          return StoppedGuestOutcome(handler);
        }
        break;
      }
      case KVM_EXIT_IO:
      case KVM_EXIT_HLT:
        // Both need CPL 0 (or IOPL 3); at CPL 3 they fault. Seeing one means
        // the guest is not running unprivileged.
        return FailedGuestOutcome(handler, kExitBadResult,
                                  std::string("the sandbox guest ran a privileged ") +
                                      (run->exit_reason == KVM_EXIT_IO ? "port I/O" : "hlt") +
                                      " instruction at rip " + rip());
      case KVM_EXIT_SHUTDOWN:
        return crashed("triple fault (an exception) at rip " + rip());
      case KVM_EXIT_INTERNAL_ERROR:
        return crashed("KVM internal error " + std::to_string(run->internal.suberror) +
                       (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
                            ? " (an instruction KVM cannot emulate)"
                            : "") +
                       " at rip " + rip());
      case KVM_EXIT_FAIL_ENTRY:
        return unavailable("KVM could not enter the guest (hardware reason " +
                           Hex(run->fail_entry.hardware_entry_failure_reason) + ")");
      case KVM_EXIT_INTR:
        if (watchdog.fired()) return timed_out();
        break;
      default:
        return crashed("unexpected KVM exit reason " + std::to_string(run->exit_reason) +
                       " at rip " + rip());
    }
  }
}

}  // namespace

bool CheckKvm(std::string* why) {
  Fd kvm;
  return OpenKvm(&kvm, why);
}

std::unique_ptr<Sandbox> MakeKvmSandboxForImage(std::vector<uint8_t> image, std::string* why) {
  Fd kvm;
  if (!OpenKvm(&kvm, why)) return nullptr;
  return std::make_unique<KvmSandbox>(kvm.Release(), std::move(image));
}

std::unique_ptr<Sandbox> MakeKvmSandbox(std::string* why) {
  Fd kvm;
  if (!OpenKvm(&kvm, why)) return nullptr;
  std::vector<uint8_t> image;
  std::string path;
  if (!ReadGuestImage(&image, &path, why)) return nullptr;
  return std::make_unique<KvmSandbox>(kvm.Release(), std::move(image));
}

bool KvmUsable() {
  std::string why;
  return CheckKvm(&why);
}

}  // namespace instar::vmm
