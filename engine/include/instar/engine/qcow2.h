// Qcow2Image: the qcow2 reader (versions 2 and 3), read-only, as qemu-img
// 5.2 .. 11.1 open and read an image (block/qcow2*.c).
//
// Contract:
//  * OpenQcow2() checks the header in the order qemu's qcow2_do_open() does
//    and fails with the first error qemu would report; the Status message is
//    modelled on qemu's (without the numbers qemu prints, since a Status only
//    carries a literal).
//  * Memory is bounded whatever the header claims: the reader takes a few
//    tens of KiB from the arena at open and nothing afterwards. Tables (L1,
//    L2, refcount table and blocks, snapshot table, bitmap directory and
//    bitmap tables) are never loaded whole: they are read on demand in 4 KiB
//    chunks through a small cache, and only after their offset and size have
//    been checked the way qemu checks them.
//  * Strings the image names (backing file, backing format, data file) are
//    copied into the arena at open, cut at the first NUL as qemu's C strings
//    are, and live as long as the arena. Lists (snapshots, bitmaps, feature
//    names) are read through cursors; a cursor owns the storage its strings
//    point into, valid until its next call.
//  * Everything `qemu-img info` prints for a qcow2 image has an accessor
//    below; which fields a given qemu version prints is the renderer's
//    business (block/qapi.c bdrv_query_image_info, qcow2_get_specific_info).
//  * The backing file is named, never opened: block status describes this
//    image alone (unallocated clusters are left to the generic layer, which
//    reads them as zeros, as qemu does with no backing node).
//  * DriverBlockStatus() is qemu's qcow2_co_block_status(); GetHostOffset()
//    is qcow2_get_host_offset(). Corruption found while reading (qemu's
//    qcow2_signal_corruption) is an IOError (qemu returns -EIO); the first
//    such event is kept so a renderer can print qemu's
//    "qcow2: Image is corrupt: ..." line (FormatQcow2Corruption()).
#ifndef INSTAR_ENGINE_QCOW2_H_
#define INSTAR_ENGINE_QCOW2_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/arena.h"
#include "instar/engine/device.h"
#include "instar/engine/image.h"
#include "instar/engine/status.h"
#include "instar/engine/version.h"

namespace instar {

namespace qcow2 {

constexpr uint32_t kMagic = 0x514649fb;  // "QFI\xfb"

// Incompatible feature bits.
constexpr uint64_t kIncompatDirty = 1u << 0;
constexpr uint64_t kIncompatCorrupt = 1u << 1;
constexpr uint64_t kIncompatDataFile = 1u << 2;
constexpr uint64_t kIncompatCompression = 1u << 3;
constexpr uint64_t kIncompatExtendedL2 = 1u << 4;
constexpr uint64_t kIncompatKnown = 0x1f;
// Compatible feature bits.
constexpr uint64_t kCompatLazyRefcounts = 1u << 0;
// Autoclear feature bits.
constexpr uint64_t kAutoclearBitmaps = 1u << 0;
constexpr uint64_t kAutoclearDataFileRaw = 1u << 1;

// Header crypt_method values.
constexpr uint32_t kCryptNone = 0;
constexpr uint32_t kCryptAes = 1;
constexpr uint32_t kCryptLuks = 2;

// Header compression_type values.
constexpr uint8_t kCompressionZlib = 0;
constexpr uint8_t kCompressionZstd = 1;

// Header extension magics.
constexpr uint32_t kExtEnd = 0;
constexpr uint32_t kExtBackingFormat = 0xe2792aca;
constexpr uint32_t kExtFeatureTable = 0x6803f857;
constexpr uint32_t kExtCryptoHeader = 0x0537be77;
constexpr uint32_t kExtBitmaps = 0x23852875;
constexpr uint32_t kExtDataFile = 0x44415441;

// Feature name table entry types.
constexpr uint8_t kFeatureIncompatible = 0;
constexpr uint8_t kFeatureCompatible = 1;
constexpr uint8_t kFeatureAutoclear = 2;

// Bitmap directory entry flags.
constexpr uint32_t kBitmapInUse = 1u << 0;
constexpr uint32_t kBitmapAuto = 1u << 1;

}  // namespace qcow2

// The header fields, decoded; for a version 2 image the version 3 fields hold
// the values qemu assumes (no features, refcount_order 4, header_length 72).
struct Qcow2Header {
  uint32_t magic = 0;
  uint32_t version = 0;
  uint64_t backing_file_offset = 0;
  uint32_t backing_file_size = 0;
  uint32_t cluster_bits = 0;
  uint64_t size = 0;  // as stored; VirtualSize() rounds it down to 512
  uint32_t crypt_method = 0;
  uint32_t l1_size = 0;
  uint64_t l1_table_offset = 0;
  uint64_t refcount_table_offset = 0;
  uint32_t refcount_table_clusters = 0;
  uint32_t nb_snapshots = 0;
  uint64_t snapshots_offset = 0;
  uint64_t incompatible_features = 0;
  uint64_t compatible_features = 0;
  uint64_t autoclear_features = 0;
  uint32_t refcount_order = 0;
  uint32_t header_length = 0;
  uint8_t compression_type = 0;  // zlib unless header_length covers the byte
};

// Bytes that are not NUL-terminated. `data` is null when the string is
// absent (no data file extension ...), non-null when present but empty.
struct Qcow2Text {
  const char* data = nullptr;
  size_t size = 0;

  bool present() const { return data != nullptr; }
};

// One internal snapshot, as qemu's qcow2_snapshot_list() reports it.
struct Qcow2Snapshot {
  Qcow2Text id;          // at most 127 bytes, cut at the first NUL (QEMUSnapshotInfo)
  Qcow2Text name;        // at most 255 bytes, cut at the first NUL
  uint16_t id_size = 0;  // the on-disk lengths
  uint16_t name_size = 0;
  uint64_t l1_table_offset = 0;
  uint32_t l1_size = 0;
  uint64_t vm_state_size = 0;  // the 64-bit extra field when present
  uint32_t date_sec = 0;
  uint32_t date_nsec = 0;
  uint64_t vm_clock_nsec = 0;
  bool has_icount = false;  // qemu prints icount only when it is not -1
  uint64_t icount = UINT64_MAX;
  uint64_t disk_size = 0;  // extra data, else the image's virtual size
  uint32_t extra_data_size = 0;
};

// One bitmap directory entry (qcow2-bitmap.c), in directory order.
struct Qcow2Bitmap {
  Qcow2Text name;          // cut at the first NUL, as qemu's g_strndup() does
  uint16_t name_size = 0;  // on-disk length
  uint8_t type = 0;
  uint8_t granularity_bits = 0;
  uint64_t granularity = 0;
  uint32_t flags = 0;  // qcow2::kBitmapInUse | qcow2::kBitmapAuto
  uint64_t table_offset = 0;
  uint32_t table_size = 0;  // in 8-byte entries
  // Whether qemu holds this bitmap after opening the image: every entry but
  // an in-use one whose name an earlier entry already took. These are the
  // bitmaps `qemu-img measure` counts (qcow2_get_persistent_dirty_bitmap_size).
  bool loaded = false;

  bool in_use() const { return (flags & qcow2::kBitmapInUse) != 0; }
  bool auto_enabled() const { return (flags & qcow2::kBitmapAuto) != 0; }
};

// One entry of the feature name table extension.
struct Qcow2FeatureName {
  uint8_t type = 0;  // qcow2::kFeatureIncompatible ...
  uint8_t bit = 0;
  Qcow2Text name;  // at most 46 bytes
};

// qemu's QCow2SubclusterType.
enum class Qcow2SubclusterType : uint8_t {
  kUnallocatedPlain,
  kUnallocatedAlloc,
  kZeroPlain,
  kZeroAlloc,
  kNormal,
  kCompressed,
  kInvalid,
};

// qcow2_get_host_offset(): `bytes` from the guest offset share `type` and,
// where that applies, are contiguous in the data file from `host_offset`.
struct Qcow2Mapping {
  Qcow2SubclusterType type = Qcow2SubclusterType::kUnallocatedPlain;
  uint64_t host_offset = 0;  // the whole L2 entry for a compressed cluster
  uint64_t bytes = 0;
};

// What qemu's qcow2_signal_corruption() was told, for the renderer.
enum class Qcow2CorruptionKind : uint8_t {
  kNone,
  kL2TableUnaligned,        // a = L2 offset, b = L1 index
  kZeroClusterInV2,         // a = L2 offset, b = L2 index
  kCompressedWithDataFile,  // a = L2 offset, b = L2 index
  kClusterUnaligned,        // a = host cluster offset, b = L2 offset, c = L2 index
  kDataFileOffsetMismatch,  // a = host cluster offset, b = guest cluster offset, c = L2 index
  kInvalidClusterEntry,     // a = L2 offset, b = L2 index
  kRefblockUnaligned,       // a = refblock offset, b = reftable index
};

struct Qcow2CorruptionEvent {
  Qcow2CorruptionKind kind = Qcow2CorruptionKind::kNone;
  uint64_t a = 0;
  uint64_t b = 0;
  uint64_t c = 0;
};

// Writes qemu's message for `event` ("L2 table offset 0x10001 unaligned (L1
// index: 0)") NUL-terminated into `out`, truncating to `capacity`; returns
// the length written. 256 bytes always suffice.
size_t FormatQcow2Corruption(const Qcow2CorruptionEvent& event, char* out, size_t capacity);

// How qemu-img opens the image, beyond OpenOptions. The defaults are how
// `qemu-img measure`, `map`, `compare` and `convert` open their input.
struct Qcow2OpenParams {
  // qemu's BDRV_O_NO_IO, which `qemu-img info` uses: no key is needed for an
  // encrypted image and, where the compat version does so (7.2.13+, 9.1+),
  // the external data file is not opened. DriverBlockStatus() then fails for
  // an image with a data file.
  bool no_io = false;
  // qemu's BDRV_O_CHECK, which `qemu-img check` uses: a missing refcount
  // table is allowed and the snapshot table is neither checked nor read.
  bool check = false;
};

class TableCache;
class Qcow2Image;
namespace check_internal {
class Qcow2Checker;
class EntryStream;
}  // namespace check_internal

// Reads the snapshot table entry by entry (qcow2_read_snapshots()).
class Qcow2SnapshotCursor {
 public:
  explicit Qcow2SnapshotCursor(Qcow2Image& image);
  // Fills *out with the next snapshot and returns true, or returns false after
  // the last one. Strings in *out stay valid until the next call.
  Result<bool> Next(Qcow2Snapshot* out);

 private:
  Qcow2Image* image_;
  uint32_t index_ = 0;
  uint64_t offset_ = 0;
  char id_[128];
  char name_[256];
};

// Reads the bitmap directory entry by entry.
class Qcow2BitmapCursor {
 public:
  explicit Qcow2BitmapCursor(Qcow2Image& image);
  Result<bool> Next(Qcow2Bitmap* out);

 private:
  Qcow2Image* image_;
  uint32_t index_ = 0;
  uint64_t offset_ = 0;
  char name_[1024];
};

// Reads the feature name table extension entry by entry.
class Qcow2FeatureNameCursor {
 public:
  explicit Qcow2FeatureNameCursor(Qcow2Image& image);
  Result<bool> Next(Qcow2FeatureName* out);

 private:
  Qcow2Image* image_;
  uint32_t index_ = 0;
  char name_[47];
};

class Qcow2Image final : public Image {
 public:
  // Image.
  ImageFormat format() const override { return ImageFormat::kQcow2; }
  uint64_t VirtualSize() const override { return virtual_size_; }
  QemuLength Length() const override {
    return QemuLengthOf(static_cast<int64_t>(virtual_size_ / 512));
  }
  BlockDevice& file() override { return *file_; }
  bool HasDriverBlockStatus() const override { return true; }
  Result<BlockStatus> DriverBlockStatus(bool want_zero, uint64_t offset, uint64_t bytes) override;
  bool HasBacking() const override { return backing_file_.size > 0; }
  bool GetBackingReference(BackingReference* reference) const override;

  // The header as decoded.
  const Qcow2Header& header() const { return header_; }
  uint32_t version() const { return header_.version; }
  // qemu-img info's "compat": "0.10" for version 2, "1.1" for version 3.
  const char* compat() const { return header_.version == 2 ? "0.10" : "1.1"; }
  uint32_t cluster_bits() const { return header_.cluster_bits; }
  uint64_t cluster_size() const { return uint64_t{1} << header_.cluster_bits; }
  // 32 subclusters per cluster with extended L2 entries, else one.
  uint64_t subcluster_size() const { return uint64_t{1} << subcluster_bits_; }
  uint32_t refcount_bits() const { return uint32_t{1} << header_.refcount_order; }

  // Feature bits. qemu-img info prints dirty() as "dirty-flag" in 7.2 and
  // later; 5.2's qcow2 driver does not report it, so 5.2 prints false.
  bool dirty() const { return (header_.incompatible_features & qcow2::kIncompatDirty) != 0; }
  bool corrupt() const { return (header_.incompatible_features & qcow2::kIncompatCorrupt) != 0; }
  bool extended_l2() const {
    return (header_.incompatible_features & qcow2::kIncompatExtendedL2) != 0;
  }
  bool lazy_refcounts() const {
    return (header_.compatible_features & qcow2::kCompatLazyRefcounts) != 0;
  }
  // The external data file bit (qemu's has_data_file() once the image is open).
  bool has_external_data_file() const {
    return (header_.incompatible_features & qcow2::kIncompatDataFile) != 0;
  }
  // "data-file-raw": the autoclear bit; qemu prints it only when the image has
  // an external data file.
  bool data_file_raw() const {
    return (header_.autoclear_features & qcow2::kAutoclearDataFileRaw) != 0;
  }
  uint8_t compression_type() const { return header_.compression_type; }
  // "zlib" or "zstd".
  const char* compression_type_name() const {
    return header_.compression_type == qcow2::kCompressionZstd ? "zstd" : "zlib";
  }
  // qcow2::kCryptNone, kCryptAes or kCryptLuks; "aes" / "luks" in info.
  uint32_t encryption_method() const { return header_.crypt_method; }
  bool encrypted() const { return header_.crypt_method != qcow2::kCryptNone; }
  // The LUKS header location from the crypto header extension (0 when absent).
  uint64_t crypto_header_offset() const { return crypto_header_offset_; }
  uint64_t crypto_header_length() const { return crypto_header_length_; }

  // Names the image stores.
  Qcow2Text backing_file() const { return backing_file_; }
  Qcow2Text backing_format() const { return backing_format_; }
  Qcow2Text data_file_name() const { return data_file_name_; }
  // Where data clusters are read from: the image file itself, the opened
  // external data file, or null when that was not opened (no_io).
  BlockDevice* data_file() const { return data_file_; }

  // qemu's bdi.vm_state_offset: where snapshot VM state starts in the guest
  // address space of the active L1 table.
  uint64_t vm_state_offset() const { return vm_state_offset_; }

  // Internal snapshots (read with Qcow2SnapshotCursor). qemu-img info lists
  // none when the image has an external data file. Zero when the image was
  // opened with Qcow2OpenParams::check (qemu does not read the table then;
  // header().nb_snapshots still has the stored count).
  uint32_t snapshot_count() const { return snapshot_count_; }

  // Persistent dirty bitmaps (read with Qcow2BitmapCursor).
  uint32_t bitmap_count() const { return bitmap_count_; }
  uint64_t bitmap_directory_offset() const { return bitmap_directory_offset_; }
  uint64_t bitmap_directory_size() const { return bitmap_directory_size_; }
  // The bitmaps extension was present but the autoclear bit was not: qemu
  // ignores the bitmaps and warns that they are inconsistent (the warning for
  // a version 2 image is worded differently).
  bool bitmaps_extension_ignored() const { return bitmaps_extension_ignored_; }

  // Feature name table extension (read with Qcow2FeatureNameCursor).
  uint32_t feature_name_count() const { return feature_name_count_; }

  // 512 for an encrypted image, else 1.
  uint64_t RequestAlignment() const override { return encrypted() ? 512 : 1; }

  // qcow2_get_host_offset() for [offset, offset + bytes), offset < VirtualSize().
  Result<Qcow2Mapping> GetHostOffset(uint64_t offset, uint64_t bytes);
  // qcow2_get_refcount(): the refcount of host cluster `cluster_index`.
  Result<uint64_t> GetRefcount(uint64_t cluster_index);
  // qcow2_detect_metadata_preallocation(): true when more clusters carry a
  // refcount than the file has allocated (by 10 %, at least two), the file's
  // allocation being BlockDevice::AllocatedBytes() (st_blocks * 512).
  // Computed once, on first use.
  Result<bool> MetadataPreallocated();

  // qcow2_snapshot_load_tmp(): from now on, read the image through the L1
  // table of the first snapshot whose id is `id` and whose name is `name`
  // (either may be absent, not both), as `qemu-img measure -l` does; the
  // virtual size stays the image's. Fails with qemu's words: "Can't find
  // snapshot" and "Snapshot L1 table offset invalid" as InvalidArgument
  // (qemu's ENOENT and EINVAL, after which qemu-img tries the text as a
  // name), "Snapshot L1 table too large" as OutOfRange. A snapshot whose
  // id or name is longer than the snapshot cursor keeps, where that
  // decides the match, is NotSupported. In qcow2_snapshot_load.cc.
  Status LoadSnapshotTemporarily(Qcow2Text id, Qcow2Text name);

  // The first corruption event seen, or kind kNone.
  const Qcow2CorruptionEvent& first_corruption() const { return first_corruption_; }

  // Use OpenQcow2().
  Qcow2Image() = default;
  Qcow2Image(const Qcow2Image&) = delete;
  Qcow2Image& operator=(const Qcow2Image&) = delete;

 private:
  friend class Qcow2SnapshotCursor;
  friend class Qcow2BitmapCursor;
  friend class Qcow2FeatureNameCursor;
  friend Result<Qcow2Image*> OpenQcow2(BlockDevice& file, DeviceOpener& opener, Arena& arena,
                                       const OpenOptions& options, const Qcow2OpenParams& params);
  friend class Qcow2Opener;
  friend class check_internal::Qcow2Checker;
  friend class check_internal::EntryStream;

  // Reads through the metadata cache, refusing ranges qemu's block layer
  // refuses (past BDRV_MAX_LENGTH).
  Status ReadMetadata(uint64_t offset, void* buffer, size_t length);
  // The big-endian table entry at `offset`, read by ReadMetadata.
  Result<uint64_t> LoadMetadataBE64(uint64_t offset);
  Status CheckReadRange(uint64_t offset, uint64_t length) const;
  Status Corruption(Qcow2CorruptionKind kind, uint64_t a, uint64_t b, uint64_t c = 0);
  Qcow2SubclusterType SubclusterType(uint64_t l2_entry, uint64_t l2_bitmap,
                                     uint32_t sc_index) const;
  Result<int64_t> SubclusterRangeType(uint64_t l2_entry, uint64_t l2_bitmap, uint32_t sc_from,
                                      Qcow2SubclusterType* type) const;
  // Count of contiguous subclusters like `first`, qemu's
  // count_contiguous_subclusters(); *bad_index names an invalid entry.
  Result<int64_t> CountContiguousSubclusters(uint64_t slice_base, uint64_t slice_index,
                                             uint64_t nb_clusters, uint32_t sc_index,
                                             uint64_t* bad_index);
  // Snapshot table entry at *offset (aligned up to 8 first); advances *offset.
  Status ReadSnapshotEntry(uint64_t* offset, Qcow2Snapshot* out, char* id_buffer,
                           char* name_buffer);
  // Bitmap directory entry at `position` in the directory, already checked.
  Status ReadBitmapEntry(uint64_t position, Qcow2Bitmap* out, char* name_buffer,
                         uint64_t* next_position);

  BlockDevice* file_ = nullptr;
  BlockDevice* data_file_ = nullptr;  // file_ when there is no external one
  TableCache* cache_ = nullptr;
  QemuVersion compat_;

  Qcow2Header header_;
  uint64_t virtual_size_ = 0;
  uint32_t subcluster_bits_ = 0;
  uint32_t l2_bits_ = 0;              // log2 of L2 entries per table
  uint64_t l2_slice_entries_ = 0;     // qemu's l2_slice_size
  uint32_t refcount_block_bits_ = 0;  // log2 of refcounts per block
  uint64_t refcount_table_entries_ = 0;
  uint64_t vm_state_offset_ = 0;
  uint64_t crypto_header_offset_ = 0;
  uint64_t crypto_header_length_ = 0;

  Qcow2Text backing_file_;
  Qcow2Text backing_format_;
  Qcow2Text data_file_name_;

  uint32_t snapshot_count_ = 0;
  uint32_t bitmap_count_ = 0;
  uint64_t bitmap_directory_offset_ = 0;
  uint64_t bitmap_directory_size_ = 0;
  bool bitmaps_extension_ignored_ = false;
  const uint8_t* bitmap_skipped_ = nullptr;  // bit i: entry i is not loaded
  uint64_t feature_table_offset_ = 0;
  uint32_t feature_name_count_ = 0;

  bool metadata_preallocation_checked_ = false;
  bool metadata_preallocated_ = false;
  Qcow2CorruptionEvent first_corruption_;
};

// Opens `file` as qcow2. The external data file, when the image names one
// and qemu would open it, is opened through `opener`.
Result<Qcow2Image*> OpenQcow2(BlockDevice& file, DeviceOpener& opener, Arena& arena,
                              const OpenOptions& options, const Qcow2OpenParams& params);

// Whether `compat`'s qemu-img can open zstd-compressed images (the Debian
// build of 5.2 in the matrix has no zstd).
bool Qcow2SupportsZstd(const QemuVersion& compat);
// Whether `compat`'s qemu-img reports BDRV_BLOCK_COMPRESSED (8.2 and later).
bool Qcow2ReportsCompressed(const QemuVersion& compat);

}  // namespace instar

#endif  // INSTAR_ENGINE_QCOW2_H_
