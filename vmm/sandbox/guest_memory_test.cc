// GuestMemory and ServeHypercall against hostile images and requests: every
// guest-supplied address, offset and length must be refused with an error
// reply before the host touches memory or files.
#include "vmm/sandbox/guest_memory.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "instar/guest/kvm_layout.h"
#include "vmm/sandbox/call_handler.h"
#include "vmm/sandbox/device_table.h"
#include "vmm/sandbox/test_file.h"

namespace instar::vmm {
namespace {

namespace layout = kvm_layout;

constexpr uint64_t kMemoryBytes = 8ull << 20;
constexpr uint64_t kImageBytes = 3 * layout::kPageSize;
constexpr uint64_t kDataStart = layout::kImageAddress + layout::kPageSize;

// A flat image of `size` bytes: a valid header, one page of code, data.
std::vector<uint8_t> MakeImage(uint64_t size = kImageBytes) {
  std::vector<uint8_t> image(size, 0x90);
  layout::ImageHeader header{};
  header.magic = layout::kImageMagic;
  header.layout_version = layout::kLayoutVersion;
  header.abi_version = abi::kAbiVersion;
  header.entry = layout::kImageAddress + sizeof(header);
  header.data_start = kDataStart;
  header.load_end = layout::kImageAddress + size;
  header.bss_end = header.load_end + layout::kPageSize;
  std::memcpy(image.data(), &header, sizeof(header));
  return image;
}

layout::ImageHeader& HeaderOf(std::vector<uint8_t>& image) {
  return *reinterpret_cast<layout::ImageHeader*>(image.data());
}

abi::OperationConfig MakeConfig() {
  abi::OperationConfig config{};
  config.magic = abi::kConfigMagic;
  config.abi_version = abi::kAbiVersion;
  config.operation = static_cast<uint32_t>(abi::Operation::kInfo);
  config.size = sizeof(config);
  std::strcpy(config.filename, "disk.qcow2");
  return config;
}

std::unique_ptr<GuestMemory> Loaded(const std::vector<uint8_t>& image = MakeImage()) {
  std::string error;
  auto memory = GuestMemory::Create(kMemoryBytes, &error);
  EXPECT_NE(memory, nullptr) << error;
  if (memory == nullptr) return nullptr;
  EXPECT_TRUE(memory->Load(image, MakeConfig(), &error)) << error;
  return memory;
}

uint64_t Entry(const GuestMemory& memory, uint64_t table, uint64_t index) {
  uint64_t value = 0;
  EXPECT_TRUE(memory.Read(table + index * 8, &value, sizeof(value)));
  return value;
}

TEST(GuestMemoryTest, RefusesBadSizes) {
  std::string error;
  EXPECT_EQ(GuestMemory::Create(0, &error), nullptr);
  EXPECT_EQ(GuestMemory::Create(2ull << 20, &error), nullptr);
  EXPECT_EQ(GuestMemory::Create((4ull << 20) + 4096, &error), nullptr);
  EXPECT_EQ(GuestMemory::Create((1ull << 30) + (2ull << 20), &error), nullptr);
  EXPECT_NE(error.find("multiple of 2 MiB"), std::string::npos) << error;
  EXPECT_NE(GuestMemory::Create(4ull << 20, &error), nullptr);
}

TEST(GuestMemoryTest, RefusesBadImages) {
  struct Case {
    const char* what;
    std::vector<uint8_t> image;
  };
  std::vector<Case> cases;
  cases.push_back({"empty", {}});
  cases.push_back({"shorter than a header", std::vector<uint8_t>(16, 0)});
  {
    auto image = MakeImage(layout::kImageMaxBytes + layout::kPageSize);
    cases.push_back({"above the size cap", image});
  }
  {
    auto image = MakeImage();
    HeaderOf(image).magic ^= 1;
    cases.push_back({"bad magic", image});
  }
  {
    auto image = MakeImage();
    HeaderOf(image).layout_version += 1;
    cases.push_back({"other layout", image});
  }
  {
    auto image = MakeImage();
    HeaderOf(image).abi_version += 1;
    cases.push_back({"other abi", image});
  }
  {
    auto image = MakeImage();
    HeaderOf(image).load_end += 8;
    cases.push_back({"load_end beyond the file", image});
  }
  {
    auto image = MakeImage();
    HeaderOf(image).entry = layout::kImageAddress;
    cases.push_back({"entry inside the header", image});
  }
  {
    auto image = MakeImage();
    HeaderOf(image).entry = kDataStart;
    cases.push_back({"entry in data", image});
  }
  {
    auto image = MakeImage();
    HeaderOf(image).data_start = kDataStart + 8;
    cases.push_back({"data_start not page aligned", image});
  }
  {
    auto image = MakeImage();
    HeaderOf(image).bss_end = layout::kImageRegionEnd + layout::kPageSize;
    cases.push_back({"bss into the arena", image});
  }
  {
    auto image = MakeImage();
    HeaderOf(image).bss_end = HeaderOf(image).load_end - 8;
    cases.push_back({"bss_end before load_end", image});
  }
  for (const Case& c : cases) {
    std::string error;
    auto memory = GuestMemory::Create(kMemoryBytes, &error);
    ASSERT_NE(memory, nullptr);
    EXPECT_FALSE(memory->Load(c.image, MakeConfig(), &error)) << c.what;
    EXPECT_FALSE(error.empty()) << c.what;
  }
}

TEST(GuestMemoryTest, LoadsOnlyOnce) {
  auto memory = Loaded();
  ASSERT_NE(memory, nullptr);
  std::string error;
  EXPECT_FALSE(memory->Load(MakeImage(), MakeConfig(), &error));
}

TEST(GuestMemoryTest, BuildsTheMemoryMap) {
  auto memory = Loaded();
  ASSERT_NE(memory, nullptr);
  constexpr uint64_t kPresent = 1, kWritable = 2, kUser = 4, kLarge = 0x80;
  constexpr uint64_t kAddressMask = 0x000FFFFFFFFFF000;

  EXPECT_EQ(Entry(*memory, layout::kPml4Address, 0) & kAddressMask, layout::kPdptAddress);
  // Every table lets user pages through; the leaves decide.
  EXPECT_EQ(Entry(*memory, layout::kPml4Address, 0) & kUser, kUser);
  EXPECT_EQ(Entry(*memory, layout::kPdptAddress, 0) & kUser, kUser);
  EXPECT_EQ(Entry(*memory, layout::kPdAddress, 0) & kUser, kUser);
  EXPECT_EQ(Entry(*memory, layout::kPml4Address, 1), 0u);
  EXPECT_EQ(Entry(*memory, layout::kPdptAddress, 0) & kAddressMask, layout::kPdAddress);
  EXPECT_EQ(Entry(*memory, layout::kPdptAddress, 1), 0u);
  EXPECT_EQ(Entry(*memory, layout::kPdAddress, 0) & (kAddressMask | kLarge), layout::kPtAddress);
  // 2 MiB pages to the end of memory, nothing beyond.
  const uint64_t large_pages = kMemoryBytes / layout::kLargePageSize;
  for (uint64_t i = 1; i < large_pages; ++i) {
    const uint64_t pde = Entry(*memory, layout::kPdAddress, i);
    EXPECT_EQ(pde & kAddressMask, i * layout::kLargePageSize);
    EXPECT_EQ(pde & (kPresent | kWritable | kUser | kLarge), kPresent | kWritable | kUser | kLarge);
    EXPECT_EQ(pde >> 63, 0u);
  }
  EXPECT_EQ(Entry(*memory, layout::kPdAddress, large_pages), 0u);

  auto pte = [&](uint64_t address) {
    return Entry(*memory, layout::kPtAddress, address / layout::kPageSize);
  };
  for (uint64_t absent :
       {uint64_t{0}, layout::kPml4Address, layout::kPdptAddress, layout::kPdAddress,
        layout::kPtAddress, layout::kRingChangeAddress + layout::kPageSize,
        layout::kStackBottom - layout::kPageSize}) {
    EXPECT_EQ(pte(absent), 0u) << std::hex << absent;
  }
  const uint64_t kAccess = kPresent | kWritable | kUser;
  // Kernel pages: the guest at CPL 3 cannot touch them.
  for (uint64_t kernel : {layout::kGdtAddress, layout::kRingChangeAddress}) {
    EXPECT_EQ(pte(kernel) & kAccess, kPresent) << std::hex << kernel;
    EXPECT_EQ(pte(kernel) & kAddressMask, kernel);
  }
  for (uint64_t read_only : {layout::kBootInfoAddress, layout::kConfigAddress}) {
    EXPECT_EQ(pte(read_only) & kAccess, kPresent | kUser);
    EXPECT_EQ(pte(read_only) & kAddressMask, read_only);
  }
  EXPECT_EQ(pte(layout::kMailboxAddress) & kAccess, kAccess);
  EXPECT_EQ(pte(layout::kStackBottom) & kAccess, kAccess);
  EXPECT_EQ(pte(layout::kStackTop - layout::kPageSize) & kAccess, kAccess);
  // The hypercall page: mapped for the guest, but a hole in its RAM.
  EXPECT_EQ(pte(layout::kHypercallAddress) & kAccess, kAccess);
  EXPECT_EQ(pte(layout::kHypercallAddress) & kAddressMask, layout::kHypercallAddress);
  const auto ram = memory->ram_ranges();
  EXPECT_EQ(ram[0].guest_address, 0u);
  EXPECT_EQ(ram[0].bytes, layout::kHypercallAddress);
  EXPECT_EQ(ram[1].guest_address, layout::kHypercallAddress + layout::kPageSize);
  EXPECT_EQ(ram[1].guest_address + ram[1].bytes, kMemoryBytes);
  EXPECT_EQ(ram[1].host, memory->host() + ram[1].guest_address);
  // Code: present, read-only. Data: writable.
  EXPECT_EQ(pte(layout::kImageAddress) & kAccess, kPresent | kUser);
  EXPECT_EQ(pte(kDataStart) & kAccess, kAccess);
  EXPECT_EQ(pte(layout::kImageRegionEnd - layout::kPageSize) & kAddressMask,
            layout::kImageRegionEnd - layout::kPageSize);

  // The GDT: the classic flat 64-bit code and data descriptors at DPL 0 and
  // DPL 3, and a busy TSS.
  EXPECT_EQ(Entry(*memory, layout::kGdtAddress, 0), 0u);
  EXPECT_EQ(Entry(*memory, layout::kGdtAddress, 1), 0x00AF9B000000FFFFu);
  EXPECT_EQ(Entry(*memory, layout::kGdtAddress, 2), 0x00CF93000000FFFFu);
  EXPECT_EQ(Entry(*memory, layout::kGdtAddress, 3), 0x00CFF3000000FFFFu);
  EXPECT_EQ(Entry(*memory, layout::kGdtAddress, 4), 0x00AFFB000000FFFFu);
  EXPECT_EQ(Entry(*memory, layout::kGdtAddress, 5), 0x00008B0000000067u);
  EXPECT_EQ(Entry(*memory, layout::kGdtAddress, 6), 0u);

  layout::BootInfo boot;
  ASSERT_TRUE(memory->Read(layout::kBootInfoAddress, &boot, sizeof(boot)));
  EXPECT_EQ(boot.magic, layout::kBootInfoMagic);
  EXPECT_EQ(boot.memory_bytes, kMemoryBytes);
  EXPECT_EQ(boot.arena_address, layout::kArenaAddress);
  EXPECT_EQ(boot.arena_bytes, kMemoryBytes - layout::kArenaAddress);
  abi::OperationConfig config;
  ASSERT_TRUE(memory->Read(layout::kConfigAddress, &config, sizeof(config)));
  EXPECT_STREQ(config.filename, "disk.qcow2");
  EXPECT_EQ(std::memcmp(memory->host() + layout::kImageAddress, MakeImage().data(), kImageBytes),
            0);

  const BootState state = memory->boot_state();
  EXPECT_EQ(state.rip, layout::kImageAddress + sizeof(layout::ImageHeader));
  EXPECT_EQ(state.rsp, layout::kStackTop);
  EXPECT_EQ(state.rdi, layout::kBootInfoAddress);
  EXPECT_EQ(state.cr3, layout::kPml4Address);
  EXPECT_EQ(state.cr0 & 0x80010001u, 0x80010001u);  // PG, WP, PE
  EXPECT_EQ(state.efer, 0x500u);                    // LMA, LME
  EXPECT_EQ(state.gdt_limit, layout::kGdtEntries * 8 - 1);
  EXPECT_EQ(state.code.selector, layout::kUserCodeSelector);
  EXPECT_EQ(state.code.dpl, 3);
  EXPECT_EQ(state.data.selector, layout::kUserDataSelector);
  EXPECT_EQ(state.data.dpl, 3);
  EXPECT_EQ(state.rflags, 0x2u);  // interrupts off, IOPL 0

  // The ring change: an iretq frame into the same CPL 3 state, then iretq.
  EXPECT_EQ(state.ring_change_rsp, layout::kRingChangeAddress);
  EXPECT_EQ(state.kernel_code.dpl, 0);
  const uint64_t frame[] = {state.rip, layout::kUserCodeSelector, state.rflags, state.rsp,
                            layout::kUserDataSelector};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(Entry(*memory, layout::kRingChangeAddress, i), frame[i]) << i;
  }
  uint8_t iretq[2];
  ASSERT_TRUE(memory->Read(state.ring_change_rip, iretq, sizeof(iretq)));
  EXPECT_EQ(iretq[0], 0x48);
  EXPECT_EQ(iretq[1], 0xCF);
}

TEST(GuestMemoryTest, PayloadBuffersStayInTheirRegions) {
  auto memory = Loaded();
  ASSERT_NE(memory, nullptr);
  const auto reads = PayloadAccess::kHostReads;
  const auto writes = PayloadAccess::kHostWrites;
  const uint64_t end = kMemoryBytes;
  // Allowed.
  EXPECT_EQ(memory->PayloadBuffer(layout::kStackBottom, 16, writes),
            memory->host() + layout::kStackBottom);
  EXPECT_NE(memory->PayloadBuffer(layout::kStackTop - 16, 16, writes), nullptr);
  EXPECT_NE(memory->PayloadBuffer(kDataStart, 16, writes), nullptr);
  EXPECT_NE(memory->PayloadBuffer(layout::kArenaAddress, abi::kMaxTransfer, writes), nullptr);
  EXPECT_NE(memory->PayloadBuffer(end - 16, 16, writes), nullptr);
  EXPECT_NE(memory->PayloadBuffer(layout::kImageAddress + 64, 16, reads), nullptr);
  // Past the end of guest memory, or wrapping around.
  EXPECT_EQ(memory->PayloadBuffer(end - 8, 16, writes), nullptr);
  EXPECT_EQ(memory->PayloadBuffer(end, 1, reads), nullptr);
  EXPECT_EQ(memory->PayloadBuffer(UINT64_MAX - 7, 16, reads), nullptr);
  EXPECT_EQ(memory->PayloadBuffer(layout::kArenaAddress, UINT64_MAX, reads), nullptr);
  // The system pages, in either direction.
  for (uint64_t system : {uint64_t{0}, layout::kGdtAddress, layout::kPml4Address,
                          layout::kPtAddress, layout::kBootInfoAddress, layout::kMailboxAddress,
                          layout::kConfigAddress, layout::kStackBottom - 16}) {
    EXPECT_EQ(memory->PayloadBuffer(system, 16, reads), nullptr) << std::hex << system;
    EXPECT_EQ(memory->PayloadBuffer(system, 16, writes), nullptr) << std::hex << system;
  }
  // The image's code may be sent but never written.
  EXPECT_EQ(memory->PayloadBuffer(layout::kImageAddress, 16, writes), nullptr);
  EXPECT_EQ(memory->PayloadBuffer(kDataStart - 8, 16, writes), nullptr);
  // A range that straddles two regions.
  EXPECT_EQ(memory->PayloadBuffer(layout::kStackTop - 8, 16, reads), nullptr);
}

TEST(GuestMemoryTest, NoPayloadBuffersBeforeLoad) {
  std::string error;
  auto memory = GuestMemory::Create(kMemoryBytes, &error);
  ASSERT_NE(memory, nullptr);
  EXPECT_EQ(memory->PayloadBuffer(layout::kArenaAddress, 16, PayloadAccess::kHostReads), nullptr);
}

// A guest memory with a loaded image and a 4 KiB image file as device 0.
class HypercallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_.resize(4096);
    for (size_t i = 0; i < file_.size(); ++i) file_[i] = static_cast<uint8_t>(i * 7 + 1);
    path_ = WriteTestFile("instar-guest-memory-test", file_);
    ASSERT_FALSE(path_.empty());
    std::string error;
    ASSERT_TRUE(devices_.OpenPath(path_, &error)) << error;
    memory_ = Loaded();
    ASSERT_NE(memory_, nullptr);
  }
  void TearDown() override {
    if (!path_.empty()) ::unlink(path_.c_str());
  }

  // Puts `request` in the mailbox, serves it and returns the reply.
  abi::CallReply Serve(const abi::CallRequest& request,
                       HypercallOutcome expected = HypercallOutcome::kContinue) {
    const abi::CallReply poison{0x5A5A5A5A, 0, 0xA5A5A5A5A5A5A5A5};
    EXPECT_TRUE(memory_->Write(layout::kMailboxAddress, &request, sizeof(request)));
    EXPECT_TRUE(memory_->Write(layout::kReplyAddress, &poison, sizeof(poison)));
    EXPECT_EQ(ServeHypercall(*memory_, handler_), expected);
    abi::CallReply reply{};
    EXPECT_TRUE(memory_->Read(layout::kReplyAddress, &reply, sizeof(reply)));
    return reply;
  }

  static abi::CallRequest Request(abi::Call call, uint64_t offset, uint64_t length, uint64_t buffer,
                                  uint32_t device = 0) {
    return abi::MakeRequest(call, device, offset, length, buffer);
  }

  static int32_t Error(abi::CallError error) { return static_cast<int32_t>(error); }

  std::vector<uint8_t> Snapshot(uint64_t address, uint64_t length) {
    return std::vector<uint8_t>(memory_->host() + address, memory_->host() + address + length);
  }

  std::string path_;
  std::vector<uint8_t> file_;
  DeviceTable devices_;
  CallHandler handler_{devices_};
  std::unique_ptr<GuestMemory> memory_;
};

TEST_F(HypercallTest, ServesAValidRead) {
  const uint64_t buffer = layout::kArenaAddress + 100;
  const abi::CallReply reply = Serve(Request(abi::Call::kRead, 16, 64, buffer));
  EXPECT_EQ(reply.error, 0);
  EXPECT_EQ(reply.value, 64u);
  EXPECT_EQ(std::memcmp(memory_->host() + buffer, file_.data() + 16, 64), 0);
}

TEST_F(HypercallTest, ServesSizeAndAReadOntoTheStack) {
  EXPECT_EQ(Serve(Request(abi::Call::kSize, 0, 0, 0)).value, 4096u);
  const uint64_t buffer = layout::kStackTop - 32;
  EXPECT_EQ(Serve(Request(abi::Call::kRead, 0, 32, buffer)).error, 0);
  EXPECT_EQ(std::memcmp(memory_->host() + buffer, file_.data(), 32), 0);
}

TEST_F(HypercallTest, RefusesAnOffsetThatOverflows) {
  const uint64_t buffer = layout::kArenaAddress;
  EXPECT_EQ(Serve(Request(abi::Call::kRead, UINT64_MAX - 4, 16, buffer)).error,
            Error(abi::CallError::kBadRange));
  EXPECT_EQ(Serve(Request(abi::Call::kRead, UINT64_MAX, 1, buffer)).error,
            Error(abi::CallError::kBadRange));
}

TEST_F(HypercallTest, RefusesALengthPastGuestMemory) {
  const std::vector<uint8_t> before = Snapshot(kMemoryBytes - 4096, 4096);
  EXPECT_EQ(Serve(Request(abi::Call::kRead, 0, 16, kMemoryBytes - 8)).error,
            Error(abi::CallError::kBadBuffer));
  EXPECT_EQ(Serve(Request(abi::Call::kRead, 0, 4096, kMemoryBytes - 4095)).error,
            Error(abi::CallError::kBadBuffer));
  EXPECT_EQ(Snapshot(kMemoryBytes - 4096, 4096), before);
}

TEST_F(HypercallTest, RefusesABufferOutsideGuestMemory) {
  EXPECT_EQ(Serve(Request(abi::Call::kRead, 0, 16, kMemoryBytes)).error,
            Error(abi::CallError::kBadBuffer));
  EXPECT_EQ(Serve(Request(abi::Call::kRead, 0, 16, UINT64_MAX - 7)).error,
            Error(abi::CallError::kBadBuffer));
  EXPECT_EQ(Serve(Request(abi::Call::kLog, 0, 16, 1ull << 40)).error,
            Error(abi::CallError::kBadBuffer));
}

TEST_F(HypercallTest, RefusesABufferOverThePageTablesOrTheImage) {
  // Everything but the mailbox, which Serve() itself writes.
  const std::vector<uint8_t> tables =
      Snapshot(layout::kGdtAddress, layout::kMailboxAddress - layout::kGdtAddress);
  const std::vector<uint8_t> config = Snapshot(layout::kConfigAddress, layout::kPageSize);
  const std::vector<uint8_t> image = Snapshot(layout::kImageAddress, kDataStart - 0x100000);
  for (uint64_t buffer :
       {layout::kPml4Address, layout::kPdAddress + 8, layout::kPtAddress, layout::kGdtAddress,
        layout::kBootInfoAddress, layout::kMailboxAddress, layout::kConfigAddress,
        layout::kImageAddress, kDataStart - 8 /* straddles code and data */}) {
    EXPECT_EQ(Serve(Request(abi::Call::kRead, 0, 16, buffer)).error,
              Error(abi::CallError::kBadBuffer))
        << std::hex << buffer;
  }
  // A read as large as allowed, ending inside the image.
  EXPECT_EQ(Serve(Request(abi::Call::kRead, 0, abi::kMaxTransfer,
                          layout::kImageAddress + 64 - abi::kMaxTransfer))
                .error,
            Error(abi::CallError::kBadBuffer));
  EXPECT_EQ(Snapshot(layout::kGdtAddress, layout::kMailboxAddress - layout::kGdtAddress), tables);
  EXPECT_EQ(Snapshot(layout::kConfigAddress, layout::kPageSize), config);
  EXPECT_EQ(Snapshot(layout::kImageAddress, kDataStart - 0x100000), image);
}

TEST_F(HypercallTest, RefusesUnknownCalls) {
  const uint32_t past_last = static_cast<uint32_t>(abi::kLastCall) + 1;
  for (uint32_t call : {0u, past_last, 99u, 0xFFFFFFFFu}) {
    abi::CallRequest request = Request(abi::Call::kSize, 0, 0, 0);
    request.call = call;
    EXPECT_EQ(Serve(request).error, Error(abi::CallError::kBadCall)) << call;
  }
}

TEST_F(HypercallTest, RefusesABadDevice) {
  EXPECT_EQ(Serve(Request(abi::Call::kSize, 0, 0, 0, 1)).error, Error(abi::CallError::kBadDevice));
  EXPECT_EQ(Serve(Request(abi::Call::kRead, 0, 16, layout::kArenaAddress, 0xFFFFFFFF)).error,
            Error(abi::CallError::kBadDevice));
}

TEST_F(HypercallTest, RefusesTransfersAndResultsAboveTheirCaps) {
  EXPECT_EQ(Serve(Request(abi::Call::kRead, 0, abi::kMaxTransfer + 1, layout::kArenaAddress)).error,
            Error(abi::CallError::kBadRange));
  EXPECT_EQ(Serve(Request(abi::Call::kEmit, 0, abi::kMaxResult + 1, layout::kArenaAddress)).error,
            Error(abi::CallError::kTooLarge));
  EXPECT_EQ(Serve(Request(abi::Call::kEmit, 0, UINT64_MAX, layout::kArenaAddress)).error,
            Error(abi::CallError::kTooLarge));
  EXPECT_FALSE(handler_.emitted());
}

TEST_F(HypercallTest, TakesOneResultFromTheImageOrArena) {
  std::memcpy(memory_->host() + layout::kArenaAddress, "result", 6);
  EXPECT_EQ(Serve(Request(abi::Call::kEmit, 0, 6, layout::kArenaAddress)).error, 0);
  ASSERT_TRUE(handler_.emitted());
  EXPECT_EQ(std::string(handler_.result().begin(), handler_.result().end()), "result");
  EXPECT_EQ(Serve(Request(abi::Call::kEmit, 0, 6, layout::kArenaAddress)).error,
            Error(abi::CallError::kBadCall));
  // A log line may come straight from the image's rodata.
  EXPECT_EQ(Serve(Request(abi::Call::kLog, 0, 8, layout::kImageAddress)).error, 0);
}

TEST_F(HypercallTest, StopsAtExitWithoutAReply) {
  const abi::CallReply reply = Serve(Request(abi::Call::kExit, 0, 0, 0), HypercallOutcome::kStop);
  EXPECT_EQ(reply.error, 0x5A5A5A5A);  // untouched
  EXPECT_TRUE(handler_.exited());
  // Nothing is served after kExit.
  EXPECT_EQ(Serve(Request(abi::Call::kSize, 0, 0, 0)).error, Error(abi::CallError::kBadCall));
}

TEST_F(HypercallTest, StopsAtAbort) {
  std::memcpy(memory_->host() + layout::kArenaAddress, "gave up", 7);
  Serve(Request(abi::Call::kAbort, 0, 7, layout::kArenaAddress), HypercallOutcome::kStop);
  EXPECT_TRUE(handler_.aborted());
  const SandboxOutcome outcome = StoppedGuestOutcome(handler_);
  EXPECT_EQ(outcome.exit, kExitGuestCrash);
  EXPECT_EQ(outcome.message, "the sandbox guest aborted: gave up");
}

TEST_F(HypercallTest, ExitWithoutAResultIsAnError) {
  Serve(Request(abi::Call::kExit, 0, 0, 0), HypercallOutcome::kStop);
  const SandboxOutcome outcome = StoppedGuestOutcome(handler_);
  EXPECT_EQ(outcome.exit, kExitBadResult);
}

TEST_F(HypercallTest, AnEmptyPayloadNamesNoMemory) {
  // Zero-length payloads are never translated, so their buffer may be anything.
  EXPECT_EQ(Serve(Request(abi::Call::kRead, 0, 0, UINT64_MAX)).error, 0);
  EXPECT_EQ(Serve(Request(abi::Call::kLog, 0, 0, layout::kPml4Address)).error, 0);
}

}  // namespace
}  // namespace instar::vmm
