// The KVM ioctl request numbers the VMM uses, each computed here from a
// struct of the size the kernel expects and checked against the number a C
// compiler derives from <linux/kvm.h>.
//
// Why not <linux/kvm.h>'s macros as they are: the kernel headers declare a
// flexible array member with __DECLARE_FLEX_ARRAY, which under C++ adds an
// empty struct, so g++ gives `sizeof(struct kvm_cpuid2)` 12 where C gives 8.
// The size is part of the request number (_IOC_SIZE), so KVM_SET_CPUID2 and
// KVM_GET_SUPPORTED_CPUID come out wrong in C++ and the kernel answers
// EINVAL. Every struct the VMM passes is listed below; only kvm_cpuid2 ends in
// a flexible array, and it gets a header of its own. A new ioctl belongs here,
// with its number asserted.
#ifndef INSTAR_VMM_SANDBOX_KVM_KVM_IOCTLS_H_
#define INSTAR_VMM_SANDBOX_KVM_KVM_IOCTLS_H_

#include <cstdint>

#include <linux/ioctl.h>
#include <linux/kvm.h>

namespace instar::vmm::kvm_ioctl {

// struct kvm_cpuid2 without its flexible `entries` array: what the kernel
// copies first (nent, padding), then `nent` kvm_cpuid_entry2 follow.
struct Cpuid2Header {
  uint32_t nent;
  uint32_t padding;
};
static_assert(sizeof(Cpuid2Header) == 8);
static_assert(sizeof(kvm_cpuid_entry2) == 40);

// System ioctls (on the /dev/kvm fd).
constexpr unsigned long kGetApiVersion = _IO(KVMIO, 0x00);
constexpr unsigned long kCreateVm = _IO(KVMIO, 0x01);
constexpr unsigned long kCheckExtension = _IO(KVMIO, 0x03);
constexpr unsigned long kGetVcpuMmapSize = _IO(KVMIO, 0x04);
constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, Cpuid2Header);
// VM ioctls.
constexpr unsigned long kCreateVcpu = _IO(KVMIO, 0x41);
constexpr unsigned long kSetUserMemoryRegion = _IOW(KVMIO, 0x46, kvm_userspace_memory_region);
constexpr unsigned long kSetTssAddr = _IO(KVMIO, 0x47);
// vCPU ioctls.
constexpr unsigned long kRun = _IO(KVMIO, 0x80);
constexpr unsigned long kGetRegs = _IOR(KVMIO, 0x81, kvm_regs);
constexpr unsigned long kSetRegs = _IOW(KVMIO, 0x82, kvm_regs);
constexpr unsigned long kGetSregs = _IOR(KVMIO, 0x83, kvm_sregs);
constexpr unsigned long kSetSregs = _IOW(KVMIO, 0x84, kvm_sregs);
constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, Cpuid2Header);

// The numbers gcc (C, x86-64) computes from Debian 12's <linux/kvm.h>.
static_assert(kGetApiVersion == 0xae00);
static_assert(kCreateVm == 0xae01);
static_assert(kCheckExtension == 0xae03);
static_assert(kGetVcpuMmapSize == 0xae04);
static_assert(kGetSupportedCpuid == 0xc008ae05);
static_assert(kCreateVcpu == 0xae41);
static_assert(kSetUserMemoryRegion == 0x4020ae46);
static_assert(kSetTssAddr == 0xae47);
static_assert(kRun == 0xae80);
static_assert(kGetRegs == 0x8090ae81);
static_assert(kSetRegs == 0x4090ae82);
static_assert(kGetSregs == 0x8138ae83);
static_assert(kSetSregs == 0x4138ae84);
static_assert(kSetCpuid2 == 0x4008ae90);

}  // namespace instar::vmm::kvm_ioctl

#endif  // INSTAR_VMM_SANDBOX_KVM_KVM_IOCTLS_H_
