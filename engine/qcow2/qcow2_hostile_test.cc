// Corrupted copies of corpus images and hostile headers: each is an error or
// a bounded, qemu-like answer, never a crash, hang or unbounded allocation.
//
// Every case was also given to the real qemu-img: the same mutation applied
// with a Python script to a copy of the corpus image, then
//   qemu-img info -f qcow2 --output=json <copy>
// (and `qemu-img map -f qcow2 --output=json <copy>` where block status is
// involved) for 5.2.0, 7.2.22 and 10.0.13. What they printed is quoted next
// to each case; qemu's numbers are left out of our Status messages, which
// are literals.
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "instar/engine/bytes.h"
#include "qcow2/qcow2_test_util.h"

namespace instar {
namespace {

using testing::MapOpener;
using testing::MemoryDevice;

using Mutation = std::function<void(std::vector<uint8_t>&)>;

void Put32(std::vector<uint8_t>& b, size_t at, uint32_t v) { StoreBE32(b.data() + at, v); }
void Put64(std::vector<uint8_t>& b, size_t at, uint64_t v) { StoreBE64(b.data() + at, v); }
uint64_t Get64(const std::vector<uint8_t>& b, size_t at) { return LoadBE64(b.data() + at); }

// The first L2 table of an image (L1 entry 0).
uint64_t FirstL2(const std::vector<uint8_t>& b) {
  return Get64(b, Get64(b, 40)) & 0x00fffffffffffe00ull;
}

struct HostileCase {
  const char* name;
  const char* base;  // corpus image
  Mutation mutate;
  // Expected Status message of the open for 10.0.13, or "" when it opens.
  const char* error;
};

// 10.0.13 (5.2.0 and 7.2.22 print the same unless noted in the test below).
const std::vector<HostileCase>& Cases() {
  static const std::vector<HostileCase> cases = {
      // "qcow2 header too short": the header_length field reads as zero.
      {"truncated-50", "qcow2-v3-64k", [](auto& b) { b.resize(50); }, "qcow2 header too short"},
      // Opens; everything unallocated (map: one zero run of 67108864).
      {"truncated-to-header-cluster", "qcow2-v3-64k", [](auto& b) { b.resize(65536); }, ""},
      // "Image is not in qcow2 format" (qemu-img info -f qcow2 of an empty file)
      {"empty-file", "qcow2-v3-64k", [](auto& b) { b.clear(); }, "Image is not in qcow2 format"},
      // "Image is not in qcow2 format"
      {"bad-magic", "qcow2-v3-64k", [](auto& b) { Put32(b, 0, 0x51464900); },
       "Image is not in qcow2 format"},
      // "Unsupported qcow2 version 1" / "... 4"
      {"version-1", "qcow2-v3-64k", [](auto& b) { Put32(b, 4, 1); }, "Unsupported qcow2 version 1"},
      {"version-4", "qcow2-v3-64k", [](auto& b) { Put32(b, 4, 4); }, "Unsupported qcow2 version 4"},
      // "Unsupported cluster size: 2^8" / "2^63"
      {"cluster-bits-8", "qcow2-v3-64k", [](auto& b) { Put32(b, 20, 8); },
       "Unsupported cluster size: 2^8"},
      {"cluster-bits-63", "qcow2-v3-64k", [](auto& b) { Put32(b, 20, 63); },
       "Unsupported cluster size: 2^63"},
      // "Active L1 table too large" (l1_size 0xffffffff, and 2^29 whose
      // byte size overflows 32 bits)
      {"l1-size-max", "qcow2-v3-64k", [](auto& b) { Put32(b, 36, 0xffffffff); },
       "Active L1 table too large"},
      {"l1-size-times-8-overflows-32-bits", "qcow2-v3-64k",
       [](auto& b) { Put32(b, 36, 0x20000000); }, "Active L1 table too large"},
      // Opens: the L1 table reads as zeros past EOF (map: all unallocated).
      {"l1-offset-past-eof", "qcow2-v3-64k", [](auto& b) { Put64(b, 40, 1ull << 40); }, ""},
      // "Active L1 table offset invalid"
      {"l1-offset-unaligned", "qcow2-v3-64k", [](auto& b) { Put64(b, 40, 0x30200); },
       "Active L1 table offset invalid"},
      {"l1-offset-past-int64", "qcow2-v3-64k", [](auto& b) { Put64(b, 40, 0xffffffffffff0000ull); },
       "Active L1 table offset invalid"},
      // "Could not read L1 table: Input/output error" (5.2.0 opens it)
      {"l1-offset-past-block-layer-limit", "qcow2-v3-64k",
       [](auto& b) { Put64(b, 40, 0x7fffffffffff0000ull); },
       "Could not read L1 table: Input/output error"},
      // Opens (map as for the untouched image).
      {"reftable-offset-past-eof", "qcow2-v3-64k", [](auto& b) { Put64(b, 48, 1ull << 40); }, ""},
      // "Reference count table offset invalid"
      {"reftable-offset-unaligned", "qcow2-v3-64k", [](auto& b) { Put64(b, 48, 0x10008); },
       "Reference count table offset invalid"},
      // "Image does not contain a reference count table"
      {"reftable-clusters-zero", "qcow2-v3-64k", [](auto& b) { Put32(b, 56, 0); },
       "Image does not contain a reference count table"},
      // "Reference count table too large"
      {"reftable-clusters-huge", "qcow2-v3-64k", [](auto& b) { Put32(b, 56, 0x1000); },
       "Reference count table too large"},
      // "Reference count entry width too large; may not exceed 64 bits"
      {"refcount-order-7", "qcow2-v3-64k", [](auto& b) { Put32(b, 96, 7); },
       "Reference count entry width too large; may not exceed 64 bits"},
      // "Image is too big" (1 EiB needs 2^31 L1 entries with 64 KiB clusters)
      {"size-1-eib", "qcow2-v3-64k", [](auto& b) { Put64(b, 24, 1ull << 60); }, "Image is too big"},
      // "Could not refresh total sector count: File too large" (5.2.0:
      // "Can't get image size '...': File too large"): size_to_l1() wraps.
      {"size-wraps-around", "qcow2-v3-64k", [](auto& b) { Put64(b, 24, 0xfffffffffffffe00ull); },
       "Could not refresh total sector count: File too large"},
      // Opens with "virtual-size": 67108352 (rounded down to 512).
      {"size-unaligned", "qcow2-v3-64k", [](auto& b) { Put64(b, 24, (64ull << 20) - 100); }, ""},
      // Opens, listing five snapshots with empty names (zeros past EOF).
      {"snapshot-table-past-eof", "qcow2-v3-64k",
       [](auto& b) {
         Put32(b, 60, 5);
         Put64(b, 64, 1ull << 40);
       },
       ""},
      // "Snapshot table too large"
      {"snapshots-too-many", "qcow2-v3-64k",
       [](auto& b) {
         Put32(b, 60, 65537);
         Put64(b, 64, 1ull << 40);
       },
       "Snapshot table too large"},
      // "Backing file name too long"
      {"backing-name-too-long", "qcow2-v3-64k",
       [](auto& b) {
         Put64(b, 8, 0x200);
         Put32(b, 16, 2000);
       },
       "Backing file name too long"},
      // "Invalid backing file offset"
      {"backing-offset-past-cluster", "qcow2-v3-64k", [](auto& b) { Put64(b, 8, 0x10001); },
       "Invalid backing file offset"},
      // "Header extension too large": a 64 KiB extension at offset 112.
      {"extension-past-header-cluster", "qcow2-v3-64k",
       [](auto& b) {
         Put32(b, 112, 0x12345678);
         Put32(b, 116, 0x10000);
       },
       "Header extension too large"},
      // "qcow2 header too short" / "qcow2 header exceeds cluster size"
      {"header-length-100", "qcow2-v3-64k", [](auto& b) { Put32(b, 100, 100); },
       "qcow2 header too short"},
      {"header-length-past-cluster", "qcow2-v3-64k", [](auto& b) { Put32(b, 100, 0x10008); },
       "qcow2 header exceeds cluster size"},
      // "Unsupported qcow2 feature(s): Unknown incompatible feature: 100000"
      {"unknown-incompatible-feature", "qcow2-v3-64k", [](auto& b) { Put64(b, 72, 1ull << 20); },
       "Unsupported qcow2 feature(s): Unknown incompatible feature: 100000"},
      // Opens with "corrupt": true.
      {"corrupt-bit", "qcow2-v3-64k", [](auto& b) { Put64(b, 72, 2); }, ""},
      // "qcow2: Compression type incompatible feature bit must not be set"
      {"compression-bit-with-zlib", "qcow2-v3-64k", [](auto& b) { Put64(b, 72, 8); },
       "qcow2: Compression type incompatible feature bit must not be set"},
      // "Unsupported encryption method 3"
      {"crypt-method-3", "qcow2-v3-64k", [](auto& b) { Put32(b, 32, 3); },
       "Unsupported encryption method 3"},
      // "Missing CRYPTO header for crypt method 2" (5.2.0 and 7.2.22
      // segfault on this one)
      {"luks-without-crypto-header", "qcow2-v3-64k", [](auto& b) { Put32(b, 32, 2); },
       "Missing CRYPTO header for crypt method 2"},
      {"extended-l2-with-4k-clusters", "qcow2-v3-4k", [](auto& b) { Put64(b, 72, 16); },
       "Unsupported subcluster size: 128"},
      // Opens (map as for the untouched image): the refcount table's first
      // entry names the refcount table itself; nothing follows that chain.
      {"reftable-points-at-itself", "qcow2-v3-64k",
       [](auto& b) { Put64(b, Get64(b, 48), Get64(b, 48)); }, ""},
  };
  return cases;
}

class HostileHeaderTest : public ::testing::TestWithParam<HostileCase> {};

TEST_P(HostileHeaderTest, FailsCleanlyOrOpens) {
  const HostileCase& c = GetParam();
  MemoryDevice device = MemoryDevice::LoadFile(
      qcow2_testing::SourcePath(std::string("cases/images/") + c.base + ".qcow2"));
  ASSERT_GT(device.Size(), 0u);
  c.mutate(device.bytes());
  MapOpener opener;
  // A small arena: whatever the header claims, the reader must fit.
  auto opened = qcow2_testing::OpenQcow2For(device, "10.0.13", opener,
                                            Qcow2OpenParams{.no_io = true}, 128 * 1024);
  if (c.error[0] != '\0') {
    ASSERT_FALSE(opened->ok());
    char message[256];
    FormatStatusMessage(opened->status, message, sizeof(message));
    EXPECT_STREQ(message, c.error);
    return;
  }
  ASSERT_TRUE(opened->ok()) << opened->status.message();
  // Walk block status over the whole image and the snapshot list; both end.
  auto walked = qcow2_testing::WalkMap(*opened->image, qcow2_testing::Version("10.0.13"));
  ASSERT_TRUE(walked.ok()) << walked.status().message();
  Qcow2SnapshotCursor cursor(*opened->image);
  Qcow2Snapshot snapshot;
  uint32_t snapshots = 0;
  for (;;) {
    auto more = cursor.Next(&snapshot);
    ASSERT_TRUE(more.ok()) << more.status().message();
    if (!*more) break;
    ++snapshots;
  }
  EXPECT_EQ(snapshots, opened->image->snapshot_count());
  EXPECT_LT(opened->arena->high_water(), 128u * 1024);
}

INSTANTIATE_TEST_SUITE_P(Hostile, HostileHeaderTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<HostileCase>& param_info) {
                           return qcow2_testing::ParamName(param_info.param.name);
                         });

std::unique_ptr<qcow2_testing::OpenedQcow2> OpenMutated(MemoryDevice& device, const char* base,
                                                        const Mutation& mutate, const char* compat,
                                                        Qcow2OpenParams params = {}) {
  device = MemoryDevice::LoadFile(
      qcow2_testing::SourcePath(std::string("cases/images/") + base + ".qcow2"));
  mutate(device.bytes());
  static MapOpener opener;
  return qcow2_testing::OpenQcow2For(device, compat, opener, params);
}

// Where versions differ.
TEST(Qcow2HostileVersionTest, L1PastTheBlockLayerLimitOpensIn52) {
  MemoryDevice device;
  auto opened = OpenMutated(
      device, "qcow2-v3-64k", [](auto& b) { Put64(b, 40, 0x7fffffffffff0000ull); }, "5.2.0");
  EXPECT_TRUE(opened->ok()) << opened->status.message();
}

// A size past INT64_MAX: 5.2.0 opens the image and has no length for it
// (`qemu-img info`: "Can't get image size '...': File too large"); 7.2.22
// refuses it at the open.
TEST(Qcow2HostileVersionTest, SizePastInt64HasNoLengthIn52) {
  const Mutation mutate = [](auto& b) { Put64(b, 24, 0xfffffffffffffe00ull); };
  MemoryDevice device;
  auto opened = OpenMutated(device, "qcow2-v3-64k", mutate, "5.2.0");
  ASSERT_TRUE(opened->ok()) << opened->status.message();
  const QemuLength length = opened->image->Length();
  EXPECT_FALSE(length.ok);
  EXPECT_EQ(length.error_number, 27);  // EFBIG
  auto recent = OpenMutated(device, "qcow2-v3-64k", mutate, "7.2.22");
  ASSERT_FALSE(recent->ok());
  EXPECT_STREQ(recent->status.message(), "Could not refresh total sector count: File too large");
}

// `qemu-img info` of an image with the external data file bit and no data
// file name: 5.2.0 "'data-file' is required for this image"; 7.2.22 and
// 10.0.13 print the info (they do not open the data file for info).
TEST(Qcow2HostileVersionTest, DataFileBitWithoutName) {
  const Mutation mutate = [](auto& b) { Put64(b, 72, 4); };
  MemoryDevice device;
  auto old = OpenMutated(device, "qcow2-v3-64k", mutate, "5.2.0", {.no_io = true});
  ASSERT_FALSE(old->ok());
  EXPECT_STREQ(old->status.message(), "'data-file' is required for this image");
  auto recent = OpenMutated(device, "qcow2-v3-64k", mutate, "10.0.13", {.no_io = true});
  ASSERT_TRUE(recent->ok()) << recent->status.message();
  EXPECT_TRUE(recent->image->has_external_data_file());
  EXPECT_EQ(recent->image->data_file(), nullptr);
  // Without the data file there is no block status.
  EXPECT_FALSE(recent->image->DriverBlockStatus(true, 0, 512).ok());
  // Opened for I/O (measure, map), every version needs the data file.
  auto io = OpenMutated(device, "qcow2-v3-64k", mutate, "10.0.13");
  ASSERT_FALSE(io->ok());
  EXPECT_STREQ(io->status.message(), "'data-file' is required for this image");
}

// "data-file-raw requires a data file": 5.2.0 for info; 7.2.22 and 10.0.13
// only when the image is opened for I/O.
TEST(Qcow2HostileVersionTest, DataFileRawWithoutDataFile) {
  const Mutation mutate = [](auto& b) { Put64(b, 88, 2); };
  MemoryDevice device;
  auto old = OpenMutated(device, "qcow2-v3-64k", mutate, "5.2.0", {.no_io = true});
  ASSERT_FALSE(old->ok());
  EXPECT_STREQ(old->status.message(), "data-file-raw requires a data file");
  auto recent = OpenMutated(device, "qcow2-v3-64k", mutate, "10.0.13", {.no_io = true});
  ASSERT_TRUE(recent->ok());
  EXPECT_TRUE(recent->image->data_file_raw());
  auto io = OpenMutated(device, "qcow2-v3-64k", mutate, "10.0.13");
  ASSERT_FALSE(io->ok());
}

// An AES-encrypted header: info shows "encrypt": {"format": "aes"} and
// "encrypted": true; opening for I/O needs a key.
TEST(Qcow2HostileVersionTest, AesNeedsAKeyOnlyForIo) {
  const Mutation mutate = [](auto& b) { Put32(b, 32, 1); };
  MemoryDevice device;
  auto info = OpenMutated(device, "qcow2-v3-64k", mutate, "10.0.13", {.no_io = true});
  ASSERT_TRUE(info->ok());
  EXPECT_TRUE(info->image->encrypted());
  EXPECT_EQ(info->image->encryption_method(), qcow2::kCryptAes);
  EXPECT_EQ(info->image->RequestAlignment(), 512u);
  // Requests are rounded out to 512 bytes for the driver and trimmed back;
  // an encrypted image reports no host offsets.
  auto status = BlockStatusAbove(*info->image, 100, 1000, qcow2_testing::Version("10.0.13"));
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(status->bytes, 1000u);
  EXPECT_EQ(status->flags, block_status::kData | block_status::kAllocated);
  auto io = OpenMutated(device, "qcow2-v3-64k", mutate, "10.0.13");
  ASSERT_FALSE(io->ok());
  EXPECT_STREQ(io->status.message(), "Parameter 'encrypt.key-secret' is required for cipher");
}

// The first snapshot of "snapshot-table-past-eof" as 10.0.13 lists it:
//   {"vm-clock-nsec": 0, "name": "", "date-sec": 0, "date-nsec": 0,
//    "vm-clock-sec": 0, "id": "", "vm-state-size": 0}   (no "icount")
TEST(Qcow2HostileVersionTest, SnapshotsPastEofAreEmpty) {
  MemoryDevice device;
  auto opened = OpenMutated(device, "qcow2-v3-64k",
                            [](auto& b) {
                              Put32(b, 60, 5);
                              Put64(b, 64, 1ull << 40);
                            },
                            "10.0.13", {.no_io = true});
  ASSERT_TRUE(opened->ok());
  Qcow2SnapshotCursor cursor(*opened->image);
  Qcow2Snapshot snapshot;
  ASSERT_TRUE(qcow2_testing::CursorNext(cursor, &snapshot));
  EXPECT_EQ(snapshot.id.size, 0u);
  EXPECT_EQ(snapshot.name.size, 0u);
  EXPECT_FALSE(snapshot.has_icount);
  EXPECT_EQ(snapshot.date_sec, 0u);
}

// A file as the sandbox host serves it: reads ending past INT64_MAX are
// refused (the kernel refuses them too).
class HostLikeDevice final : public BlockDevice {
 public:
  explicit HostLikeDevice(MemoryDevice& inner) : inner_(inner) {}
  Status Read(uint64_t offset, void* buffer, size_t length) override {
    if (offset > uint64_t{INT64_MAX} || length > uint64_t{INT64_MAX} - offset) {
      return Status::OutOfRange("the host refused an out-of-range request");
    }
    return inner_.Read(offset, buffer, length);
  }
  uint64_t Size() const override { return inner_.Size(); }
  Result<uint64_t> SeekData(uint64_t offset) override { return inner_.SeekData(offset); }
  Result<uint64_t> SeekHole(uint64_t offset) override { return inner_.SeekHole(offset); }

 private:
  MemoryDevice& inner_;
};

// Regression: 5.2 reads right up to INT64_MAX, so it reads a snapshot table
// at 2^63 - 512 (zeros, past EOF) and `qemu-img info
// mal-qcow2-snapshot-past-max-length.qcow2` lists one empty snapshot; instar
// read it through a 4 KiB table cache chunk reaching 2^63, which the host
// refuses, and failed the open. 7.2 fails it ("Failed to read snapshot
// table: Input/output error").
TEST(Qcow2HostileVersionTest, SnapshotTableJustBelowInt64MaxIn52) {
  MemoryDevice memory =
      MemoryDevice::LoadFile(qcow2_testing::SourcePath("cases/images/qcow2-v3-512.qcow2"));
  Put32(memory.bytes(), 60, 1);
  Put64(memory.bytes(), 64, 0x7ffffffffffffe00ull);
  HostLikeDevice device(memory);
  MapOpener opener;
  for (const char* compat : {"5.2.0", "7.2.22"}) {
    SCOPED_TRACE(compat);
    std::vector<uint8_t> buffer(1 << 20);
    Arena arena(buffer.data(), buffer.size());
    OpenOptions options;
    options.compat = qcow2_testing::Version(compat);
    auto image = OpenQcow2(device, opener, arena, options, {.no_io = true});
    if (std::string(compat) != "5.2.0") {
      ASSERT_FALSE(image.ok());
      EXPECT_STREQ(image.status().message(), "Failed to read snapshot table: Input/output error");
      continue;
    }
    ASSERT_TRUE(image.ok()) << image.status().message();
    Qcow2SnapshotCursor cursor(**image);
    Qcow2Snapshot snapshot;
    ASSERT_TRUE(qcow2_testing::CursorNext(cursor, &snapshot));
    EXPECT_EQ(snapshot.id.size, 0u);
    EXPECT_EQ(snapshot.name.size, 0u);
    EXPECT_TRUE(qcow2_testing::CursorAtEnd<Qcow2Snapshot>(cursor));
  }
}

// Regression: 5.2 reads an L1 table at 2^63 - 512 (zeros, past EOF), so
// `qemu-img measure -O qcow2 mal-qcow2-l1-offset-past-max-length.qcow2`
// finds nothing allocated; instar read the L1 entry through a 4 KiB table
// cache chunk reaching 2^63, which the host refuses ("Unable to get block
// status: Invalid argument"). 7.2 refuses the open ("Could not read L1
// table").
TEST(Qcow2HostileVersionTest, L1TableJustBelowInt64MaxIn52) {
  MemoryDevice memory = MemoryDevice::LoadFile(
      qcow2_testing::SourcePath("cases/images/mal-qcow2-l1-offset-past-max-length.qcow2"));
  HostLikeDevice device(memory);
  MapOpener opener;
  for (const char* compat : {"5.2.0", "7.2.22"}) {
    SCOPED_TRACE(compat);
    std::vector<uint8_t> buffer(1 << 20);
    Arena arena(buffer.data(), buffer.size());
    OpenOptions options;
    options.compat = qcow2_testing::Version(compat);
    auto image = OpenQcow2(device, opener, arena, options, {});
    if (std::string(compat) != "5.2.0") {
      EXPECT_FALSE(image.ok());
      continue;
    }
    ASSERT_TRUE(image.ok()) << image.status().message();
    auto walked = qcow2_testing::WalkMap(**image, options.compat);
    ASSERT_TRUE(walked.ok()) << walked.status().message();
    ASSERT_EQ(walked->size(), 1u);
    EXPECT_FALSE((*walked)[0].present);
    EXPECT_EQ((*walked)[0].length, uint64_t{1} << 20);
  }
}

// Corruption met during block status. `qemu-img map -f qcow2 --output=json`
// (5.2.0 and 10.0.13 alike) prints the quoted line on stderr, then
// "qemu-img: Could not read file metadata: Input/output error".
struct CorruptionCase {
  const char* name;
  const char* base;
  Mutation mutate;
  const char* message;  // after "qcow2: Image is corrupt: "
};

class Qcow2CorruptionTest : public ::testing::TestWithParam<CorruptionCase> {};

TEST_P(Qcow2CorruptionTest, BlockStatusFailsWithQemusMessage) {
  const CorruptionCase& c = GetParam();
  MemoryDevice device;
  auto opened = OpenMutated(device, c.base, c.mutate, "10.0.13");
  ASSERT_TRUE(opened->ok()) << opened->status.message();
  auto walked = qcow2_testing::WalkMap(*opened->image, qcow2_testing::Version("10.0.13"));
  ASSERT_FALSE(walked.ok());
  EXPECT_EQ(walked.status().code(), StatusCode::kIOError);
  char text[256];
  FormatQcow2Corruption(opened->image->first_corruption(), text, sizeof(text));
  EXPECT_STREQ(text, c.message);
}

const CorruptionCase kCorruptions[] = {
    // "L2 table offset 0x40200 unaligned (L1 index: 0)"
    {"l2-unaligned", "qcow2-v3-64k",
     [](auto& b) { Put64(b, Get64(b, 40), Get64(b, Get64(b, 40)) + 0x200); },
     "L2 table offset 0x40200 unaligned (L1 index: 0)"},
    // "Cluster allocation offset 0x50200 unaligned (L2 offset: 0x40000, L2 index: 0)"
    {"cluster-unaligned", "qcow2-v3-64k",
     [](auto& b) { Put64(b, FirstL2(b), Get64(b, FirstL2(b)) + 0x200); },
     "Cluster allocation offset 0x50200 unaligned (L2 offset: 0x40000, L2 index: 0)"},
    // "Zero cluster entry found in pre-v3 image (L2 offset: 0x40000, L2 index: 0)"
    {"v2-zero-flag", "qcow2-v2", [](auto& b) { Put64(b, FirstL2(b), Get64(b, FirstL2(b)) | 1); },
     "Zero cluster entry found in pre-v3 image (L2 offset: 0x40000, L2 index: 0)"},
    // "Invalid cluster entry found  (L2 offset: 0x40000, L2 index: 0)"
    {"extended-l2-alloc-and-zero", "qcow2-extl2",
     [](auto& b) { Put64(b, FirstL2(b) + 8, 0x0000000100000001ull); },
     "Invalid cluster entry found  (L2 offset: 0x40000, L2 index: 0)"},
};

INSTANTIATE_TEST_SUITE_P(Corrupt, Qcow2CorruptionTest, ::testing::ValuesIn(kCorruptions),
                         [](const ::testing::TestParamInfo<CorruptionCase>& param_info) {
                           return qcow2_testing::ParamName(param_info.param.name);
                         });

// A misaligned refcount block only spoils the metadata preallocation check:
// `qemu-img map` prints "qcow2: Image is corrupt: Refblock offset 0x20200
// unaligned (reftable index: 0); further non-fatal corruption events will be
// suppressed" and then the same map as for the untouched image.
TEST(Qcow2CorruptionTest, MisalignedRefblockDoesNotStopBlockStatus) {
  MemoryDevice device;
  auto opened = OpenMutated(
      device, "qcow2-v3-64k", [](auto& b) { Put64(b, Get64(b, 48), 0x20200); }, "10.0.13");
  ASSERT_TRUE(opened->ok());
  auto walked = qcow2_testing::WalkMap(*opened->image, qcow2_testing::Version("10.0.13"));
  ASSERT_TRUE(walked.ok()) << walked.status().message();
  const auto expected = qcow2_testing::ParseMapJson(qcow2_testing::ReadTextFile(
      qcow2_testing::SourcePath("engine/qcow2/testdata/map/qcow2-v3-64k.dense.10.0.13.json")));
  ASSERT_EQ(walked->size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ((*walked)[i].start, expected[i].start);
    EXPECT_EQ((*walked)[i].length, expected[i].length);
  }
  char text[256];
  FormatQcow2Corruption(opened->image->first_corruption(), text, sizeof(text));
  EXPECT_STREQ(text, "Refblock offset 0x20200 unaligned (reftable index: 0)");
}

// 1 EiB is valid with 2 MiB clusters (2^21 L1 entries, 16 MiB of L1 table):
// `qemu-img info -f qcow2` of this header (5.2.0 and 10.0.13) prints
// "virtual size: 1 EiB (1152921504606846976 bytes)", and `qemu-img map
// --output=json --start-offset=$((1<<50)) --max-length=$((1<<32))` one
// "present": false, "zero": true run. The L1 table is never loaded whole, so the
// reader stays small, and block status answers in bounded steps.
TEST(Qcow2HostileVersionTest, ExabyteImageWithLargeClusters) {
  std::vector<uint8_t> bytes(1 << 21, 0);
  Put32(bytes, 0, qcow2::kMagic);
  Put32(bytes, 4, 3);
  Put32(bytes, 20, 21);          // 2 MiB clusters
  Put64(bytes, 24, 1ull << 60);  // 1 EiB
  Put32(bytes, 36, 1u << 21);    // L1 entries
  Put64(bytes, 40, 1ull << 40);  // L1 table far past EOF: reads as zeros
  Put64(bytes, 48, 1ull << 21);  // refcount table in cluster 1
  Put32(bytes, 56, 1);
  Put32(bytes, 96, 4);
  Put32(bytes, 100, 104);
  MemoryDevice device(bytes);
  MapOpener opener;
  auto opened = qcow2_testing::OpenQcow2For(device, "10.0.13", opener, {}, 128 * 1024);
  ASSERT_TRUE(opened->ok()) << opened->status.message();
  EXPECT_EQ(opened->image->VirtualSize(), 1ull << 60);
  for (uint64_t offset : {0ull, 1ull << 50, (1ull << 60) - 512}) {
    auto status = BlockStatusAbove(*opened->image, offset, (1ull << 60) - offset,
                                   qcow2_testing::Version("10.0.13"));
    ASSERT_TRUE(status.ok()) << status.status().message();
    EXPECT_GT(status->bytes, 0u);
    EXPECT_EQ(status->flags & block_status::kZero, block_status::kZero);
  }
  EXPECT_LT(opened->arena->high_water(), 128u * 1024);
}

}  // namespace
}  // namespace instar
