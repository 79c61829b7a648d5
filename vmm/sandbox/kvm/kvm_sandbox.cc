#include "vmm/sandbox/kvm/kvm_sandbox.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "instar/guest/kvm_layout.h"
#include "vmm/sandbox/backends.h"
#include "vmm/sandbox/call_handler.h"
#include "vmm/sandbox/guest_memory.h"
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
// CPUID leaves for KVM_GET_SUPPORTED_CPUID; more than any CPU reports.
constexpr uint32_t kMaxCpuidEntries = 256;

std::string Hex(uint64_t value) {
  char text[32];
  (void)std::snprintf(text, sizeof(text), "0x%llx",
                      static_cast<unsigned long long>(value));
  return text;
}

std::string Errno(const char *what) {
  return std::string(what) + ": " + std::strerror(errno);
}

// An owned file descriptor.
class Fd {
public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  ~Fd() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset(int fd) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = fd;
  }

private:
  int fd_ = -1;
};

// An owned mmap() region.
class Mapping {
public:
  Mapping() = default;
  Mapping(const Mapping &) = delete;
  Mapping &operator=(const Mapping &) = delete;
  ~Mapping() {
    if (address_ != nullptr)
      ::munmap(address_, size_);
  }
  bool Map(int fd, size_t size) {
    void *address =
        ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (address == MAP_FAILED)
      return false;
    address_ = address;
    size_ = size;
    return true;
  }
  void *get() const { return address_; }

private:
  void *address_ = nullptr;
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

std::string OpenKvmError(int error) {
  switch (error) {
  case ENOENT:
    return "/dev/kvm: No such file or directory (is KVM enabled? load "
           "kvm-intel or kvm-amd, "
           "or use --sandbox=process)";
  case EACCES:
  case EPERM:
    return "/dev/kvm: Permission denied (add your user to the 'kvm' group, or "
           "use "
           "--sandbox=process)";
  case ENODEV:
  case ENXIO:
    return "/dev/kvm: No such device (is virtualisation enabled in the "
           "firmware? or use "
           "--sandbox=process)";
  default:
    return std::string("/dev/kvm: ") + std::strerror(error);
  }
}

bool OpenKvm(Fd *kvm, std::string *why) {
  kvm->Reset(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!kvm->valid()) {
    *why = OpenKvmError(errno);
    return false;
  }
  const int version = Ioctl(kvm->get(), kvm_ioctl::kGetApiVersion, 0);
  if (version != kKvmApiVersion) {
    *why = "/dev/kvm: KVM API version " + std::to_string(version) +
           ", instar needs " + std::to_string(kKvmApiVersion);
    return false;
  }
  const struct {
    int capability;
    const char *name;
  } required[] = {
      {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
      {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
      {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
      {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
  };
  for (const auto &r : required) {
    if (Ioctl(kvm->get(), kvm_ioctl::kCheckExtension, r.capability) <= 0) {
      *why = std::string("/dev/kvm: this kernel's KVM lacks ") + r.name +
             " (use --sandbox=process)";
      return false;
    }
  }
  return true;
}

kvm_segment KvmSegment(const SegmentState &s) {
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

// Gives the vCPU the host's supported CPUID, as kvmtool and Firecracker do:
// KVM validates some of the state below (long mode) against it.
bool SetCpuid(int kvm, int vcpu, std::string *error) {
  std::vector<uint8_t> buffer(sizeof(kvm_ioctl::Cpuid2Header) +
                              kMaxCpuidEntries * sizeof(kvm_cpuid_entry2));
  auto *cpuid = reinterpret_cast<kvm_ioctl::Cpuid2Header *>(buffer.data());
  cpuid->nent = kMaxCpuidEntries;
  if (Ioctl(kvm, kvm_ioctl::kGetSupportedCpuid, cpuid) < 0) {
    *error = Errno("KVM_GET_SUPPORTED_CPUID");
    return false;
  }
  if (Ioctl(vcpu, kvm_ioctl::kSetCpuid2, cpuid) < 0) {
    *error = Errno("KVM_SET_CPUID2");
    return false;
  }
  return true;
}

bool SetBootState(int vcpu, const BootState &boot, std::string *error) {
  kvm_sregs sregs{};
  if (Ioctl(vcpu, kvm_ioctl::kGetSregs, &sregs) < 0) {
    *error = Errno("KVM_GET_SREGS");
    return false;
  }
  sregs.cs = KvmSegment(boot.code);
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = KvmSegment(boot.data);
  sregs.tr = KvmSegment(boot.task);
  sregs.gdt.base = boot.gdt_base;
  sregs.gdt.limit = boot.gdt_limit;
  sregs.idt.base = 0; // no IDT: any exception becomes a triple fault
  sregs.idt.limit = 0;
  sregs.cr0 = boot.cr0;
  sregs.cr3 = boot.cr3;
  sregs.cr4 = boot.cr4;
  sregs.efer = boot.efer;
  if (Ioctl(vcpu, kvm_ioctl::kSetSregs, &sregs) < 0) {
    *error = Errno("KVM_SET_SREGS");
    return false;
  }
  kvm_regs regs{};
  regs.rip = boot.rip;
  regs.rsp = boot.rsp;
  regs.rdi = boot.rdi;
  regs.rflags = boot.rflags;
  if (Ioctl(vcpu, kvm_ioctl::kSetRegs, &regs) < 0) {
    *error = Errno("KVM_SET_REGS");
    return false;
  }
  return true;
}

// The signal that kicks the vCPU out of KVM_RUN. Its handler does nothing:
// the point is the EINTR.
int KickSignal() { return SIGRTMIN; }
void OnKick(int) {}

// Installs the kick handler and unblocks the signal in this thread while it
// lives; restores both afterwards.
class KickSignalScope {
public:
  KickSignalScope() {
    struct sigaction action {};
    action.sa_handler = &OnKick;
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
  KickSignalScope(const KickSignalScope &) = delete;
  KickSignalScope &operator=(const KickSignalScope &) = delete;

private:
  struct sigaction saved_action_ {};
  sigset_t saved_mask_{};
};

// Ends the guest at the deadline: sets immediate_exit (so a KVM_RUN that has
// not started yet returns at once) and signals the vCPU thread (so one that
// is running returns EINTR). Stops and joins on destruction.
class Watchdog {
public:
  Watchdog(std::chrono::milliseconds timeout, kvm_run *run)
      : vcpu_thread_(::pthread_self()), run_(run) {
    thread_ = std::thread([this, timeout] {
      std::unique_lock<std::mutex> lock(mutex_);
      if (cv_.wait_for(lock, timeout, [this] { return stopping_; }))
        return;
      fired_.store(true);
      __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
      ::pthread_kill(vcpu_thread_, KickSignal());
    });
  }
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  Watchdog(const Watchdog &) = delete;
  Watchdog &operator=(const Watchdog &) = delete;

  bool fired() const { return fired_.load(); }

private:
  pthread_t vcpu_thread_;
  kvm_run *run_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> fired_{false};
  std::thread thread_;
};

class KvmSandbox final : public Sandbox {
public:
  explicit KvmSandbox(std::vector<uint8_t> image) : image_(std::move(image)) {}

  SandboxKind kind() const override { return SandboxKind::kKvm; }

  SandboxOutcome Run(const abi::OperationConfig &config, DeviceTable &devices,
                     const SandboxLimits &limits) override;

private:
  std::vector<uint8_t> image_;
};

SandboxOutcome KvmSandbox::Run(const abi::OperationConfig &config,
                               DeviceTable &devices,
                               const SandboxLimits &limits) {
  CallHandler handler(devices);
  auto unavailable = [&](const std::string &message) {
    return FailedGuestOutcome(handler, kExitSandboxUnavailable,
                              "the kvm sandbox cannot start: " + message);
  };
  std::string error;
  Fd kvm;
  if (!OpenKvm(&kvm, &error))
    return FailedGuestOutcome(handler, kExitSandboxUnavailable, error);
  std::unique_ptr<GuestMemory> memory =
      GuestMemory::Create(limits.guest_memory_bytes, &error);
  if (memory == nullptr)
    return unavailable(error);
  if (!memory->Load(image_, config, &error))
    return unavailable(error);

  Fd vm(Ioctl(kvm.get(), kvm_ioctl::kCreateVm, 0));
  if (!vm.valid())
    return unavailable(Errno("KVM_CREATE_VM"));
  if (Ioctl(vm.get(), kvm_ioctl::kSetTssAddr,
            static_cast<unsigned long>(kTssAddress)) < 0) {
    return unavailable(Errno("KVM_SET_TSS_ADDR"));
  }
  kvm_userspace_memory_region region{};
  region.slot = 0;
  region.guest_phys_addr = 0;
  region.memory_size = memory->size();
  region.userspace_addr = reinterpret_cast<uint64_t>(memory->host());
  if (Ioctl(vm.get(), kvm_ioctl::kSetUserMemoryRegion, &region) < 0) {
    return unavailable(Errno("KVM_SET_USER_MEMORY_REGION"));
  }
  Fd vcpu(Ioctl(vm.get(), kvm_ioctl::kCreateVcpu, 0));
  if (!vcpu.valid())
    return unavailable(Errno("KVM_CREATE_VCPU"));
  const int run_size = Ioctl(kvm.get(), kvm_ioctl::kGetVcpuMmapSize, 0);
  if (run_size < static_cast<int>(sizeof(kvm_run))) {
    return unavailable(Errno("KVM_GET_VCPU_MMAP_SIZE"));
  }
  Mapping run_mapping;
  if (!run_mapping.Map(vcpu.get(), static_cast<size_t>(run_size))) {
    return unavailable(Errno("mmap of the vCPU"));
  }
  auto *run = static_cast<kvm_run *>(run_mapping.get());
  if (!SetCpuid(kvm.get(), vcpu.get(), &error))
    return unavailable(error);
  if (!SetBootState(vcpu.get(), memory->boot_state(), &error))
    return unavailable(error);

  auto rip = [&] {
    kvm_regs regs{};
    return Ioctl(vcpu.get(), kvm_ioctl::kGetRegs, &regs) == 0
               ? Hex(regs.rip)
               : std::string("unknown");
  };
  auto timed_out = [&] {
    char seconds[32];
    (void)std::snprintf(seconds, sizeof(seconds), "%g",
                        std::chrono::duration<double>(limits.timeout).count());
    return FailedGuestOutcome(handler, kExitTimeout,
                              std::string("the sandbox timed out after ") +
                                  seconds + " seconds");
  };
  auto crashed = [&](const std::string &what) {
    return FailedGuestOutcome(handler, kExitGuestCrash,
                              "the sandbox guest crashed: " + what);
  };

  KickSignalScope kick_signal;
  Watchdog watchdog(limits.timeout, run);
  for (;;) {
    if (::ioctl(vcpu.get(), kvm_ioctl::kRun, 0) < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        if (watchdog.fired())
          return timed_out();
        continue; // another signal; the guest has not finished
      }
      return unavailable(Errno("KVM_RUN"));
    }
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
      if (run->io.direction == KVM_EXIT_IO_OUT &&
          run->io.port == layout::kHypercallPort && run->io.size == 4 &&
          run->io.count == 1) {
        if (ServeHypercall(*memory, handler) == HypercallOutcome::kStop) {
          return StoppedGuestOutcome(handler);
        }
        break;
      }
      return FailedGuestOutcome(
          handler, kExitBadResult,
          std::string("the sandbox guest did port I/O ") +
              (run->io.direction == KVM_EXIT_IO_OUT ? "out to" : "in from") +
              " port " + Hex(run->io.port) + " (rip " + rip() +
              "), which is not the hypercall port");
    case KVM_EXIT_HLT:
      return FailedGuestOutcome(handler, kExitBadResult,
                                "the sandbox guest halted at rip " + rip() +
                                    " without finishing the call protocol");
    case KVM_EXIT_SHUTDOWN:
      return crashed("triple fault (an exception) at rip " + rip());
    case KVM_EXIT_MMIO:
      return crashed("access to unmapped address " + Hex(run->mmio.phys_addr) +
                     " at rip " + rip());
    case KVM_EXIT_INTERNAL_ERROR:
      return crashed("KVM internal error " +
                     std::to_string(run->internal.suberror) +
                     (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
                          ? " (an instruction KVM cannot emulate)"
                          : "") +
                     " at rip " + rip());
    case KVM_EXIT_FAIL_ENTRY:
      return unavailable("KVM could not enter the guest (hardware reason " +
                         Hex(run->fail_entry.hardware_entry_failure_reason) +
                         ")");
    case KVM_EXIT_INTR:
      if (watchdog.fired())
        return timed_out();
      break;
    default:
      return crashed("unexpected KVM exit reason " +
                     std::to_string(run->exit_reason) + " at rip " + rip());
    }
  }
}

} // namespace

bool CheckKvm(std::string *why) {
  Fd kvm;
  return OpenKvm(&kvm, why);
}

std::unique_ptr<Sandbox> MakeKvmSandboxForImage(std::vector<uint8_t> image,
                                                std::string *why) {
  if (!CheckKvm(why))
    return nullptr;
  return std::make_unique<KvmSandbox>(std::move(image));
}

std::unique_ptr<Sandbox> MakeKvmSandbox(std::string *why) {
  if (!CheckKvm(why))
    return nullptr;
  std::vector<uint8_t> image;
  std::string path;
  if (!ReadGuestImage(&image, &path, why))
    return nullptr;
  return std::make_unique<KvmSandbox>(std::move(image));
}

bool KvmUsable() {
  std::string why;
  return CheckKvm(&why);
}

} // namespace instar::vmm
