// GuestMemory and ServeHypercall: what the kvm and emulated backends share.
//
// GuestMemory owns the guest's RAM (one anonymous mapping, registered with
// KVM as a memory slot or with Unicorn as mapped memory) and lays out the
// memory map of kvm_layout.h in it: page tables, GDT, BootInfo, the
// OperationConfig and the flat image, after checking the image's header.
// BootState() is the vCPU state both backends start the guest in, so the
// image sees the same machine under KVM and under the emulator.
//
// ServeHypercall() is the whole host side of one hypercall (a store to the
// hypercall page, kvm_layout.h): it
// copies the request out of the mailbox, asks CallHandler::Check() about
// it, translates request.buffer to host memory only when the whole payload
// lies in a region the guest may use for that direction (PayloadBuffer()),
// lets CallHandler::Handle() serve it, and writes the reply. Every
// guest-supplied address, offset and length is checked before use; a bad one
// gets an error reply, never a host fault.
#ifndef INSTAR_VMM_SANDBOX_GUEST_MEMORY_H_
#define INSTAR_VMM_SANDBOX_GUEST_MEMORY_H_

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "instar/guest/abi.h"
#include "instar/guest/kvm_layout.h"
#include "vmm/sandbox/call_handler.h"
#include "vmm/sandbox/sandbox.h"

namespace instar::vmm {

// One segment register as both KVM (struct kvm_segment) and a GDT entry
// describe it.
struct SegmentState {
  uint64_t base = 0;
  uint32_t limit = 0;
  uint16_t selector = 0;
  uint8_t type = 0;
  uint8_t present = 0;
  uint8_t dpl = 0;
  uint8_t db = 0;
  uint8_t s = 0;
  uint8_t l = 0;
  uint8_t g = 0;
};

// The vCPU at the guest's first instruction: 64-bit long mode, paging on,
// CPL 3 (user code and data segments), interrupts off, IOPL 0, no IDT (any
// exception ends the guest).
struct BootState {
  uint64_t rip = 0;
  uint64_t rsp = 0;
  uint64_t rdi = 0;
  uint64_t rflags = 0;
  uint64_t cr0 = 0;
  uint64_t cr3 = 0;
  uint64_t cr4 = 0;
  uint64_t efer = 0;
  uint64_t gdt_base = 0;
  uint16_t gdt_limit = 0;
  SegmentState code;  // cs
  SegmentState data;  // ds, es, fs, gs, ss
  SegmentState task;  // tr (VMX refuses to enter without a usable TR)

  // For a host that cannot set CPL 3 directly (Unicorn): start at
  // ring_change_rip at CPL 0 in these segments, with rsp = ring_change_rsp
  // and everything else as above; the iretq there enters rip at CPL 3.
  uint64_t ring_change_rip = 0;
  uint64_t ring_change_rsp = 0;
  SegmentState kernel_code;
  SegmentState kernel_data;
};

// The GDT entry encoding `segment`.
uint64_t GdtEntry(const SegmentState& segment);

// Which way a payload moves: the host reads guest memory (kWrite, kOpen,
// kEmit, kLog, kAbort) or writes it (kRead).
enum class PayloadAccess { kHostReads, kHostWrites };

class GuestMemory {
 public:
  // Maps `bytes` of zeroed RAM: a multiple of 2 MiB between
  // kvm_layout::kMinMemoryBytes and kMaxMemoryBytes.
  static std::unique_ptr<GuestMemory> Create(uint64_t bytes, std::string* error);
  ~GuestMemory();
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  // Checks `image` (its ImageHeader against the layout, its size against
  // kImageMaxBytes) and writes the page tables, GDT, ring-change page,
  // BootInfo, `config` and the image. Once only.
  bool Load(std::span<const uint8_t> image, const abi::OperationConfig& config, std::string* error);

  uint8_t* host() const { return host_; }
  uint64_t size() const { return size_; }

  // What a backend registers as guest RAM: everything but the hypercall
  // page, whose accesses must leave the guest.
  struct RamRange {
    uint64_t guest_address;
    uint64_t bytes;
    uint8_t* host;
  };
  std::array<RamRange, 2> ram_ranges() const;
  // Valid after Load().
  const kvm_layout::ImageHeader& image_header() const { return header_; }
  BootState boot_state() const;

  // Host pointer to [address, address + length) when that range lies wholly
  // inside one region the guest may name as a payload buffer for `access`
  // (kvm_layout.h), else nullptr. Only after Load().
  uint8_t* PayloadBuffer(uint64_t address, uint64_t length, PayloadAccess access) const;

  // Bounds-checked copies between host and guest memory, for the host's own
  // fixed addresses (mailbox, boot pages). False when out of range.
  bool Read(uint64_t address, void* out, uint64_t length) const;
  bool Write(uint64_t address, const void* in, uint64_t length);

 private:
  GuestMemory(uint8_t* host, uint64_t size) : host_(host), size_(size) {}
  void BuildPageTables();
  void BuildGdt();
  void BuildRingChange();

  uint8_t* host_;
  uint64_t size_;
  bool loaded_ = false;
  kvm_layout::ImageHeader header_{};
};

// What one hypercall left behind.
enum class HypercallOutcome {
  kContinue,  // resume the guest
  kStop,      // kExit or kAbort: do not resume the guest
};

// Serves the request at kMailboxAddress (see the top of this file).
HypercallOutcome ServeHypercall(GuestMemory& memory, CallHandler& handler);

// An access the guest made to the hypercall page: `offset` into the page,
// `size` bytes, a store or a load.
struct HypercallPageAccess {
  uint64_t offset = 0;
  uint32_t size = 0;
  bool store = false;
};
// A hypercall is one 4-byte store at offset 0; anything else on that page
// breaks the call protocol.
bool IsHypercall(const HypercallPageAccess& access);
// The message for an access that is not a hypercall (kExitBadResult).
std::string HypercallMisuseMessage(const HypercallPageAccess& access, uint64_t rip);

// The outcome of a guest that stopped after kExit or kAbort: its result, or
// the exit code and one line for an abort, a non-zero exit status or a
// missing result (as the process backend words them). The log in any case.
SandboxOutcome StoppedGuestOutcome(const CallHandler& handler);
// The outcome of a guest that ended any other way.
SandboxOutcome FailedGuestOutcome(const CallHandler& handler, ExitCode exit, std::string message);

// The flat image: $INSTAR_GUEST_IMAGE when set, else instar-guest.bin beside
// the running executable, else the one this build tree made. False, with
// *error set to one line, when none is readable.
inline constexpr const char kGuestImageName[] = "instar-guest.bin";
bool ReadGuestImage(std::vector<uint8_t>* image, std::string* path, std::string* error);
// Reads `path` (at most kImageMaxBytes + 1 bytes are read).
bool ReadGuestImageFile(const std::string& path, std::vector<uint8_t>* image, std::string* error);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_SANDBOX_GUEST_MEMORY_H_
