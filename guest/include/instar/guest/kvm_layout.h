// The memory map of the flat guest image, shared by the image (guest/runtime/
// kvm) and the two hosts that run it (vmm/sandbox/kvm under KVM,
// vmm/sandbox/emulated under Unicorn).
//
// Guest memory is one block of RAM at guest-physical address 0 with a
// one-page hole, the hypercall page, which no RAM backs (KVM gets two memory
// slots around it, Unicorn two mappings and an MMIO region in it). The host
// builds identity-mapped 4-level page tables over all of it (guest-virtual
// == guest-physical) and starts the vCPU directly in 64-bit long mode at
// CPL 3: the operation never runs privileged. (Under kvm_pvm, the /dev/kvm of
// this project's machines, CPL 0 code is emulated instruction by
// instruction, thousands of times slower than CPL 3 code, which runs
// natively; and an unprivileged parser is one more wall.)
//
//   0x000000  null page                         not mapped
//   0x001000  GDT                               kernel, read-only
//   0x002000  PML4, PDPT, PD, PT                not mapped (walked by the CPU)
//   0x006000  BootInfo                          user, read-only
//   0x007000  mailbox: CallRequest, CallReply   user, read-write
//   0x008000  OperationConfig                   user, read-only
//   0x009000  hypercall page (no RAM)           user, read-write
//   0x00A000  ring-change page                  kernel, read-only
//   0x00B000  guard pages                       not mapped
//   0x010000  stack (grows down from 0x100000)  user, read-write
//   0x100000  image: ImageHeader, text, rodata  user, read-only
//   data_start  image data, bss                 user, read-write
//   0x200000  arena, to the end of memory       user, read-write
//
// The first 2 MiB is mapped with 4 KiB pages (so the null page and the guard
// pages can be absent), the rest with 2 MiB pages; the user (U/S) bit is set
// at every level above a user page. CR0.WP is set. No page is no-execute:
// the emulated CPU has no NX, and both hosts build the same tables.
//
// A hypercall: the guest writes an abi::CallRequest at kMailboxAddress and
// does one 4-byte store to kHypercallAddress (the value is ignored). No RAM
// backs that page, so the store leaves the guest straight from CPL 3
// (KVM_EXIT_MMIO; Unicorn's MMIO callback) with no privileged code on the
// way. The host validates the
// request, moves payload bytes to or from guest memory at request.buffer,
// and writes an abi::CallReply at kReplyAddress (kExit has no reply). Any
// other access to the hypercall page breaks the protocol. A buffer the host
// reads (guest -> host) must lie in the stack or the image region or the
// arena; a buffer the host writes (kRead) must lie in the stack or in
// writable image data, bss or arena, never in the system pages or the
// image's code.
//
// The ring-change page holds an iretq frame and an iretq: the emulated
// backend starts there at CPL 0 and drops to the entry at CPL 3, because
// Unicorn cannot load a DPL 3 stack segment by a register write. KVM sets
// the CPL 3 state directly and never runs it.
//
// All integers are little endian; the structs have fixed layouts.
#ifndef INSTAR_GUEST_KVM_LAYOUT_H_
#define INSTAR_GUEST_KVM_LAYOUT_H_

#include <cstddef>
#include <cstdint>

#include "instar/guest/abi.h"

namespace instar::kvm_layout {

constexpr uint64_t kPageSize = 0x1000;
constexpr uint64_t kLargePageSize = 0x200000;

// System pages, built by the host.
constexpr uint64_t kGdtAddress = 0x1000;
constexpr uint64_t kPml4Address = 0x2000;
constexpr uint64_t kPdptAddress = 0x3000;
constexpr uint64_t kPdAddress = 0x4000;  // one PD: at most 1 GiB of memory
constexpr uint64_t kPtAddress = 0x5000;  // 4 KiB pages of the first 2 MiB
constexpr uint64_t kBootInfoAddress = 0x6000;
constexpr uint64_t kMailboxAddress = 0x7000;
constexpr uint64_t kReplyAddress = kMailboxAddress + sizeof(abi::CallRequest);
constexpr uint64_t kConfigAddress = 0x8000;
constexpr uint64_t kSystemEnd = 0x9000;
constexpr uint64_t kHypercallAddress = 0x9000;  // not RAM
constexpr uint64_t kRingChangeAddress = 0xA000;

// The stack: [kStackBottom, kStackTop), with unmapped guard pages below.
constexpr uint64_t kStackBottom = 0x10000;
constexpr uint64_t kStackTop = 0x100000;

// The image is loaded at kImageAddress; its file is at most kImageMaxBytes
// and its data and bss end before kImageRegionEnd.
constexpr uint64_t kImageAddress = 0x100000;
constexpr uint64_t kImageMaxBytes = 512 * 1024;
constexpr uint64_t kImageRegionEnd = 0x200000;

// The arena: from kArenaAddress to the end of guest memory.
constexpr uint64_t kArenaAddress = 0x200000;

// Guest memory size: a multiple of 2 MiB in [kMinMemoryBytes, kMaxMemoryBytes].
constexpr uint64_t kMinMemoryBytes = 4ull << 20;
constexpr uint64_t kMaxMemoryBytes = 1ull << 30;

// GDT selectors (entry index * 8, plus the requested privilege level):
// null; kernel 64-bit code and data, used only by the emulated backend's
// ring change; user data and 64-bit code, DPL 3, what the guest runs in; and
// a 64-bit TSS descriptor, which takes two entries (VMX needs a usable task
// register; the CPU never reads the TSS itself: no interrupts reach the
// guest, and an exception ends it).
constexpr uint16_t kKernelCodeSelector = 0x08;
constexpr uint16_t kKernelDataSelector = 0x10;
constexpr uint16_t kUserDataSelector = 0x18 | 3;
constexpr uint16_t kUserCodeSelector = 0x20 | 3;
constexpr uint16_t kTaskSelector = 0x28;
constexpr uint16_t kGdtEntries = 7;

// The image's first bytes: how the host finds the entry point and which part
// of the image is code (guest/runtime/kvm/image_start.cc, placed first by
// guest.ld, whose symbols fill it in).
constexpr uint64_t kImageMagic = 0x4D49524154534E49;  // "INSTARIM"
constexpr uint32_t kLayoutVersion = 2;

struct ImageHeader {
  uint64_t magic;           // kImageMagic
  uint32_t layout_version;  // kLayoutVersion
  uint32_t abi_version;     // abi::kAbiVersion
  uint64_t entry;           // address of the 64-bit entry point
  uint64_t data_start;      // end of code and rodata; page aligned
  uint64_t load_end;        // end of the file's bytes (kImageAddress + file size)
  uint64_t bss_end;         // end of zero-initialised data; <= kImageRegionEnd
};
static_assert(sizeof(ImageHeader) == 48);

// What the host tells the guest at kBootInfoAddress (rdi holds its address
// at entry, rsp is kStackTop, CPL is 3).
constexpr uint64_t kBootInfoMagic = 0x544F4F4254534E49;  // "INSTBOOT"

struct BootInfo {
  uint64_t magic;  // kBootInfoMagic
  uint32_t layout_version;
  uint32_t reserved;
  uint64_t memory_bytes;    // size of guest memory
  uint64_t arena_address;   // kArenaAddress
  uint64_t arena_bytes;     // memory_bytes - kArenaAddress
  uint64_t config_address;  // kConfigAddress
  uint64_t config_bytes;    // sizeof(abi::OperationConfig)
};
static_assert(sizeof(BootInfo) == 56);

static_assert(sizeof(abi::CallRequest) + sizeof(abi::CallReply) <= kPageSize);
static_assert(sizeof(abi::OperationConfig) <= kSystemEnd - kConfigAddress);

}  // namespace instar::kvm_layout

#endif  // INSTAR_GUEST_KVM_LAYOUT_H_
