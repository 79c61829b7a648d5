#include "vmm/sandbox/guest_memory.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/fd.h"

namespace instar::vmm {

namespace layout = kvm_layout;

namespace {

// Page-table entry bits (Intel SDM vol. 3, 4.5).
constexpr uint64_t kPresent = 1ull << 0;
constexpr uint64_t kWritable = 1ull << 1;
constexpr uint64_t kUser = 1ull << 2;
constexpr uint64_t kAccessed = 1ull << 5;
constexpr uint64_t kDirty = 1ull << 6;
constexpr uint64_t kLargePage = 1ull << 7;
// Accessed and dirty are set up front so the CPU never writes the tables.
// No page is marked no-execute: the emulator's CPU (Unicorn 2.0) has no NX,
// and both backends must run the same page tables (docs/sandbox.md).
// A table entry allows everything; the leaf decides (the U/S and R/W bits of
// every level must allow an access).
constexpr uint64_t kTable = kPresent | kWritable | kUser | kAccessed;
constexpr uint64_t kKernelReadOnly = kPresent | kAccessed | kDirty;
constexpr uint64_t kUserReadOnly = kPresent | kUser | kAccessed | kDirty;
constexpr uint64_t kUserReadWrite = kPresent | kWritable | kUser | kAccessed | kDirty;

// Control register and EFER bits.
constexpr uint64_t kCr0ProtectionEnable = 1ull << 0;
constexpr uint64_t kCr0MonitorCoprocessor = 1ull << 1;
constexpr uint64_t kCr0ExtensionType = 1ull << 4;
constexpr uint64_t kCr0NumericError = 1ull << 5;
constexpr uint64_t kCr0WriteProtect = 1ull << 16;
constexpr uint64_t kCr0Paging = 1ull << 31;
constexpr uint64_t kCr4Pae = 1ull << 5;
constexpr uint64_t kEferLongModeEnable = 1ull << 8;
constexpr uint64_t kEferLongModeActive = 1ull << 10;

constexpr uint64_t kEntriesPerTable = 512;

// A flat segment over all memory; `selector`'s low bits are its privilege
// level.
SegmentState FlatSegment(uint16_t selector, uint8_t type) {
  SegmentState s;
  s.limit = 0xFFFFFFFF;
  s.selector = selector;
  s.type = type;
  s.present = 1;
  s.dpl = selector & 3;
  s.s = 1;
  s.g = 1;
  return s;
}

// A 64-bit code segment.
SegmentState CodeSegment(uint16_t selector) {
  SegmentState s = FlatSegment(selector, 0xB);  // execute/read, accessed
  s.l = 1;
  return s;
}

SegmentState DataSegment(uint16_t selector) {
  SegmentState s = FlatSegment(selector, 0x3);  // read/write, accessed
  s.db = 1;
  return s;
}

constexpr uint64_t kRflagsReserved = 0x2;  // the always-one bit; interrupts off, IOPL 0

// The iretq frame at the start of the ring-change page (the order iretq pops
// it in), and the instruction after it.
struct RingChangeFrame {
  uint64_t rip, cs, rflags, rsp, ss;
};
constexpr uint64_t kIretqOffset = 64;
constexpr uint8_t kIretq[] = {0x48, 0xCF};
static_assert(sizeof(RingChangeFrame) <= kIretqOffset);

SegmentState TaskSegment() {
  SegmentState s;
  s.limit = 0x67;  // the 104-byte 64-bit TSS
  s.selector = layout::kTaskSelector;
  s.type = 0xB;  // 64-bit TSS, busy
  s.present = 1;
  return s;
}

// Whether [address, address + length) lies inside [begin, end).
bool Inside(uint64_t address, uint64_t length, uint64_t begin, uint64_t end) {
  uint64_t last;
  if (__builtin_add_overflow(address, length, &last)) return false;
  return address >= begin && last <= end;
}

}  // namespace

uint64_t GdtEntry(const SegmentState& segment) {
  const uint64_t limit = segment.g ? segment.limit >> 12 : segment.limit;
  return (limit & 0xFFFF) | ((segment.base & 0xFFFFFF) << 16) |
         (uint64_t{segment.type} & 0xF) << 40 | (uint64_t{segment.s} & 1) << 44 |
         (uint64_t{segment.dpl} & 3) << 45 | (uint64_t{segment.present} & 1) << 47 |
         ((limit >> 16) & 0xF) << 48 | (uint64_t{segment.l} & 1) << 53 |
         (uint64_t{segment.db} & 1) << 54 | (uint64_t{segment.g} & 1) << 55 |
         ((segment.base >> 24) & 0xFF) << 56;
}

std::unique_ptr<GuestMemory> GuestMemory::Create(uint64_t bytes, std::string* error) {
  if (bytes < layout::kMinMemoryBytes || bytes > layout::kMaxMemoryBytes ||
      bytes % layout::kLargePageSize != 0) {
    *error = "guest memory must be a multiple of 2 MiB between " +
             std::to_string(layout::kMinMemoryBytes >> 20) + " MiB and " +
             std::to_string(layout::kMaxMemoryBytes >> 20) + " MiB, not " + std::to_string(bytes) +
             " bytes";
    return nullptr;
  }
  // Untouched pages cost nothing: the arena is as large as the limit allows,
  // and only what the guest uses is ever backed.
  void* host = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (host == MAP_FAILED) {
    *error = std::string("cannot map guest memory: ") + std::strerror(errno);
    return nullptr;
  }
  // Guest memory never belongs in a core dump of `instar`.
  ::madvise(host, bytes, MADV_DONTDUMP);
  return std::unique_ptr<GuestMemory>(new GuestMemory(static_cast<uint8_t*>(host), bytes));
}

GuestMemory::~GuestMemory() { ::munmap(host_, size_); }

bool GuestMemory::Read(uint64_t address, void* out, uint64_t length) const {
  if (!Inside(address, length, 0, size_)) return false;
  std::memcpy(out, host_ + address, length);
  return true;
}

bool GuestMemory::Write(uint64_t address, const void* in, uint64_t length) {
  if (!Inside(address, length, 0, size_)) return false;
  std::memcpy(host_ + address, in, length);
  return true;
}

bool GuestMemory::Load(std::span<const uint8_t> image, const abi::OperationConfig& config,
                       std::string* error) {
  if (loaded_) {
    *error = "guest memory is already loaded";
    return false;
  }
  if (image.size() < sizeof(layout::ImageHeader) || image.size() > layout::kImageMaxBytes) {
    *error = "the guest image is " + std::to_string(image.size()) +
             " bytes; a flat image has a header and at most " +
             std::to_string(layout::kImageMaxBytes) + " bytes";
    return false;
  }
  layout::ImageHeader header;
  std::memcpy(&header, image.data(), sizeof(header));
  if (header.magic != layout::kImageMagic) {
    *error = "the guest image is not an instar flat image (bad magic)";
    return false;
  }
  if (header.layout_version != layout::kLayoutVersion || header.abi_version != abi::kAbiVersion) {
    *error = "the guest image was built for another memory layout or ABI (layout " +
             std::to_string(header.layout_version) + ", abi " + std::to_string(header.abi_version) +
             "; this instar has layout " + std::to_string(layout::kLayoutVersion) + ", abi " +
             std::to_string(abi::kAbiVersion) + ")";
    return false;
  }
  const uint64_t load_end = layout::kImageAddress + image.size();
  if (header.load_end != load_end || header.data_start % layout::kPageSize != 0 ||
      header.entry < layout::kImageAddress + sizeof(header) || header.entry >= header.data_start ||
      header.data_start > header.load_end || header.load_end > header.bss_end ||
      header.bss_end > layout::kImageRegionEnd) {
    *error = "the guest image's header does not match its size or the memory layout";
    return false;
  }
  header_ = header;

  BuildPageTables();
  BuildGdt();
  BuildRingChange();

  layout::BootInfo boot{};
  boot.magic = layout::kBootInfoMagic;
  boot.layout_version = layout::kLayoutVersion;
  boot.memory_bytes = size_;
  boot.arena_address = layout::kArenaAddress;
  boot.arena_bytes = size_ - layout::kArenaAddress;
  boot.config_address = layout::kConfigAddress;
  boot.config_bytes = sizeof(abi::OperationConfig);
  std::memcpy(host_ + layout::kBootInfoAddress, &boot, sizeof(boot));
  std::memcpy(host_ + layout::kConfigAddress, &config, sizeof(config));
  std::memcpy(host_ + layout::kImageAddress, image.data(), image.size());
  loaded_ = true;
  return true;
}

std::array<GuestMemory::RamRange, 2> GuestMemory::ram_ranges() const {
  constexpr uint64_t kAfterHole = layout::kHypercallAddress + layout::kPageSize;
  return {{{0, layout::kHypercallAddress, host_},
           {kAfterHole, size_ - kAfterHole, host_ + kAfterHole}}};
}

void GuestMemory::BuildPageTables() {
  auto* pml4 = reinterpret_cast<uint64_t*>(host_ + layout::kPml4Address);
  auto* pdpt = reinterpret_cast<uint64_t*>(host_ + layout::kPdptAddress);
  auto* pd = reinterpret_cast<uint64_t*>(host_ + layout::kPdAddress);
  auto* pt = reinterpret_cast<uint64_t*>(host_ + layout::kPtAddress);
  pml4[0] = layout::kPdptAddress | kTable;
  pdpt[0] = layout::kPdAddress | kTable;
  pd[0] = layout::kPtAddress | kTable;
  for (uint64_t i = 1; i < size_ / layout::kLargePageSize; ++i) {
    pd[i] = i * layout::kLargePageSize | kUserReadWrite | kLargePage;
  }
  // The first 2 MiB page by page; what is not listed stays absent (the null
  // page, the page tables themselves, the guard pages below the stack).
  for (uint64_t i = 0; i < kEntriesPerTable; ++i) {
    const uint64_t page = i * layout::kPageSize;
    uint64_t flags = 0;
    if (page == layout::kGdtAddress || page == layout::kRingChangeAddress) {
      flags = kKernelReadOnly;
    } else if (page == layout::kBootInfoAddress || page == layout::kConfigAddress) {
      flags = kUserReadOnly;
    } else if (page == layout::kMailboxAddress) {
      flags = kUserReadWrite;
    } else if (page == layout::kHypercallAddress) {
      flags = kUserReadWrite;
    } else if (page >= layout::kStackBottom && page < layout::kStackTop) {
      flags = kUserReadWrite;
    } else if (page >= layout::kImageAddress && page < header_.data_start) {
      flags = kUserReadOnly;
    } else if (page >= header_.data_start && page < layout::kImageRegionEnd) {
      flags = kUserReadWrite;
    }
    pt[i] = flags != 0 ? page | flags : 0;
  }
}

void GuestMemory::BuildGdt() {
  auto* gdt = reinterpret_cast<uint64_t*>(host_ + layout::kGdtAddress);
  gdt[0] = 0;
  for (const SegmentState& segment :
       {CodeSegment(layout::kKernelCodeSelector), DataSegment(layout::kKernelDataSelector),
        DataSegment(layout::kUserDataSelector), CodeSegment(layout::kUserCodeSelector)}) {
    gdt[segment.selector / 8] = GdtEntry(segment);
  }
  const SegmentState task = TaskSegment();
  gdt[layout::kTaskSelector / 8] = GdtEntry(task);
  gdt[layout::kTaskSelector / 8 + 1] = task.base >> 32;  // a system descriptor's upper half
}

void GuestMemory::BuildRingChange() {
  const RingChangeFrame frame = {header_.entry, layout::kUserCodeSelector, kRflagsReserved,
                                 layout::kStackTop, layout::kUserDataSelector};
  std::memcpy(host_ + layout::kRingChangeAddress, &frame, sizeof(frame));
  std::memcpy(host_ + layout::kRingChangeAddress + kIretqOffset, kIretq, sizeof(kIretq));
}

BootState GuestMemory::boot_state() const {
  BootState state;
  state.rip = header_.entry;
  state.rsp = layout::kStackTop;
  state.rdi = layout::kBootInfoAddress;
  state.rflags = kRflagsReserved;
  state.cr0 = kCr0ProtectionEnable | kCr0MonitorCoprocessor | kCr0ExtensionType | kCr0NumericError |
              kCr0WriteProtect | kCr0Paging;
  state.cr3 = layout::kPml4Address;
  state.cr4 = kCr4Pae;
  state.efer = kEferLongModeEnable | kEferLongModeActive;
  state.gdt_base = layout::kGdtAddress;
  state.gdt_limit = layout::kGdtEntries * 8 - 1;
  state.code = CodeSegment(layout::kUserCodeSelector);
  state.data = DataSegment(layout::kUserDataSelector);
  state.task = TaskSegment();
  state.ring_change_rip = layout::kRingChangeAddress + kIretqOffset;
  state.ring_change_rsp = layout::kRingChangeAddress;
  state.kernel_code = CodeSegment(layout::kKernelCodeSelector);
  state.kernel_data = DataSegment(layout::kKernelDataSelector);
  return state;
}

uint8_t* GuestMemory::PayloadBuffer(uint64_t address, uint64_t length, PayloadAccess access) const {
  if (!loaded_) return nullptr;
  const bool in_stack = Inside(address, length, layout::kStackBottom, layout::kStackTop);
  const bool in_code = Inside(address, length, layout::kImageAddress, header_.data_start);
  const bool in_data = Inside(address, length, header_.data_start, size_);
  const bool allowed = in_stack || in_data || (access == PayloadAccess::kHostReads && in_code);
  return allowed ? host_ + address : nullptr;
}

HypercallOutcome ServeHypercall(GuestMemory& memory, CallHandler& handler) {
  abi::CallRequest request;
  abi::CallReply reply{};
  // A copy: nothing the guest does later can change what was checked.
  if (!memory.Read(layout::kMailboxAddress, &request, sizeof(request))) {
    reply = handler.Refuse(abi::CallError::kBadBuffer);
  } else if (const abi::CallError check = handler.Check(request); check != abi::CallError::kOk) {
    reply = handler.Refuse(check);
  } else {
    const uint64_t length = CallHandler::PayloadLength(request);
    const PayloadAccess access = CallHandler::PayloadIsOutput(request) ? PayloadAccess::kHostWrites
                                                                       : PayloadAccess::kHostReads;
    // An empty payload names no memory, so any buffer value will do.
    uint8_t empty = 0;
    uint8_t* payload = length == 0 ? &empty : memory.PayloadBuffer(request.buffer, length, access);
    if (payload == nullptr) {
      reply = handler.Refuse(abi::CallError::kBadBuffer);
    } else {
      reply = handler.Handle(request, payload);
      if (handler.exited() || handler.aborted()) return HypercallOutcome::kStop;
    }
  }
  memory.Write(layout::kReplyAddress, &reply, sizeof(reply));
  return HypercallOutcome::kContinue;
}

bool IsHypercall(const HypercallPageAccess& access) {
  return access.store && access.size == 4 && access.offset == 0;
}

std::string HypercallMisuseMessage(const HypercallPageAccess& access, uint64_t rip) {
  char text[160];
  (void)std::snprintf(text, sizeof(text),
                      "the sandbox guest broke the call protocol: a %u-byte %s at offset 0x%llx "
                      "of the hypercall page (rip 0x%llx)",
                      access.size, access.store ? "store" : "load",
                      static_cast<unsigned long long>(access.offset),
                      static_cast<unsigned long long>(rip));
  return text;
}

SandboxOutcome FailedGuestOutcome(const CallHandler& handler, ExitCode exit, std::string message) {
  SandboxOutcome outcome;
  outcome.exit = exit;
  outcome.message = std::move(message);
  outcome.log = handler.log();
  return outcome;
}

SandboxOutcome StoppedGuestOutcome(const CallHandler& handler) {
  if (handler.aborted()) {
    return FailedGuestOutcome(handler, kExitGuestCrash,
                              "the sandbox guest aborted: " + handler.abort_message());
  }
  if (!handler.exited() || !handler.emitted() || handler.exit_status() != 0) {
    return FailedGuestOutcome(handler, kExitBadResult,
                              "the sandbox guest finished (status " +
                                  std::to_string(handler.exit_status()) + ") without a result");
  }
  SandboxOutcome outcome;
  outcome.exit = kExitOk;
  outcome.result = handler.result();
  outcome.log = handler.log();
  return outcome;
}

bool ReadGuestImageFile(const std::string& path, std::vector<uint8_t>* image, std::string* error) {
  host::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    *error = "cannot open the guest image '" + path + "': " + std::strerror(errno);
    return false;
  }
  image->assign(layout::kImageMaxBytes + 1, 0);
  size_t used = 0;
  while (used < image->size()) {
    const ssize_t n = ::read(fd.get(), image->data() + used, image->size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = "cannot read the guest image '" + path + "': " + std::strerror(errno);
      return false;
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  fd.Reset();
  image->resize(used);
  if (used > layout::kImageMaxBytes) {
    *error = "the guest image '" + path + "' is larger than " +
             std::to_string(layout::kImageMaxBytes) + " bytes";
    return false;
  }
  return true;
}

bool ReadGuestImage(std::vector<uint8_t>* image, std::string* path, std::string* error) {
  if (const char* env = std::getenv("INSTAR_GUEST_IMAGE"); env != nullptr && env[0] != '\0') {
    *path = env;
  } else {
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) {
      *error = "cannot find the guest image: /proc/self/exe: " + ec.message();
      return false;
    }
    *path = (self.parent_path() / kGuestImageName).string();
  }
  return ReadGuestImageFile(*path, image, error);
}

}  // namespace instar::vmm
