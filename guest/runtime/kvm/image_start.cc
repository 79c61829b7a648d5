// The first bytes of the flat image and its entry point.
//
// The host reads the ImageHeader at kImageAddress to find the entry and the
// end of the read-only part (kvm_layout.h); the linker script (guest.ld)
// places it first and defines the symbols it refers to. The entry stub runs
// at CPL 3 with rsp = kStackTop and rdi = the BootInfo address, as both hosts
// set them,
// zeroes the bss (fresh guest memory is zero already; this keeps the image
// correct on any loader), and calls InstarGuestMain(), which never returns.
#include <cstdint>

#include "instar/guest/abi.h"
#include "instar/guest/kvm_layout.h"

extern "C" {
// From guest.ld.
extern char __instar_data_start[];
extern char __instar_load_end[];
extern char __instar_bss_end[];
void instar_guest_entry();
}

namespace instar::kvm_layout {

// Statically initialised (address constants); a dynamic initialiser would
// land in .init_array, which guest.ld refuses.
[[gnu::section(".instar.header")]] extern const ImageHeader kImageHeader;
const ImageHeader kImageHeader = {
    .magic = kImageMagic,
    .layout_version = kLayoutVersion,
    .abi_version = abi::kAbiVersion,
    .entry = reinterpret_cast<uint64_t>(&instar_guest_entry),
    .data_start = reinterpret_cast<uint64_t>(__instar_data_start),
    .load_end = reinterpret_cast<uint64_t>(__instar_load_end),
    .bss_end = reinterpret_cast<uint64_t>(__instar_bss_end),
};

}  // namespace instar::kvm_layout

asm(R"(
    .pushsection .text.instar.entry, "ax", @progbits
    .globl instar_guest_entry
    .type instar_guest_entry, @function
instar_guest_entry:
    xorl %ebp, %ebp
    movq %rdi, %rbx
    leaq __instar_bss_start(%rip), %rdi
    leaq __instar_bss_end(%rip), %rcx
    subq %rdi, %rcx
    xorl %eax, %eax
    cld
    rep stosb
    movq %rbx, %rdi
    call InstarGuestMain
    ud2
    .size instar_guest_entry, . - instar_guest_entry
    .popsection
)");
