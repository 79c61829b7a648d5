// Opening a qcow2 image: header checks, header extensions, data file,
// encryption, backing file name, snapshot table and bitmap directory, in the
// order of qemu's qcow2_do_open() (block/qcow2.c).
#include "core/formats.h"
#include "core/table_cache.h"
#include "instar/engine/bytes.h"
#include "instar/engine/info_dialect.h"
#include "instar/engine/qcow2.h"
#include "qcow2/qcow2_internal.h"

namespace instar {

bool Qcow2SupportsZstd(const QemuVersion& compat) { return compat.AtLeast(6, 0); }

bool Qcow2ReportsCompressed(const QemuVersion& compat) { return compat.AtLeast(8, 2); }

namespace {

using qcow2_internal::kBdrvMaxLength;

constexpr size_t kHeaderStructSize = 112;  // sizeof(QCowHeader)
constexpr uint32_t kMinClusterBits = 9;
constexpr uint32_t kMaxClusterBits = 21;
constexpr uint64_t kMaxReftableBytes = 8ull << 20;  // QCOW_MAX_REFTABLE_SIZE
constexpr uint64_t kMaxL1Bytes = 32ull << 20;       // QCOW_MAX_L1_SIZE
constexpr uint64_t kMaxSnapshots = 65536;           // QCOW_MAX_SNAPSHOTS
constexpr uint64_t kSnapshotHeaderBytes = 40;       // sizeof(QCowSnapshotHeader)
constexpr uint64_t kMaxSnapshotTableBytes = 1024 * kMaxSnapshots;
constexpr uint32_t kMaxBitmaps = 65535;  // QCOW2_MAX_BITMAPS
constexpr uint64_t kMaxBitmapDirectoryBytes = 1024ull * kMaxBitmaps;
constexpr uint64_t kIntMax = 0x7fffffff;
constexpr uint64_t kMaxBackingNameBytes = 1023;
constexpr uint64_t kBackingFileFieldBytes = 4096;          // sizeof(bs->backing_file)
constexpr uint64_t kBackingFormatFieldBytes = 16;          // sizeof(bs->backing_format)
constexpr uint64_t kDefaultL2CacheMaxBytes = 32ull << 20;  // DEFAULT_L2_CACHE_MAX_SIZE (Linux)
// 64 KiB of metadata at a time: an L1 window, an L2 slice and a refcount
// block or two per open image.
constexpr size_t kTableCacheSlots = 16;

}  // namespace

// The steps of qcow2_do_open(), each a method so the order reads top-down.
class Qcow2Opener {
 public:
  Qcow2Opener(BlockDevice& file, DeviceOpener& opener, Arena& arena, const OpenOptions& options,
              const Qcow2OpenParams& params)
      : file_(file), opener_(opener), arena_(arena), options_(options), params_(params) {}

  Result<Qcow2Image*> Open();

 private:
  Status ParseHeader(const uint8_t* raw);
  Status ValidateTable(uint64_t offset, uint64_t entries, uint64_t entry_bytes, uint64_t max_bytes,
                       const char* too_large, const char* bad_offset) const;
  Status ReadExtensions();
  Status ReadText(uint64_t offset, uint64_t length, Qcow2Text* out);
  Status OpenDataFile();
  Status CheckEncryption();
  Status ReadBackingFileName();
  Status ValidateSnapshotTable();
  Status LoadBitmaps();
  Status CheckBitmapEntry(const Qcow2Bitmap& bitmap) const;
  // `status` with the text of its "{s}" (a bitmap's name, read into a
  // buffer of the caller) copied where it outlives the buffer.
  Status KeepText(Status status);
  Status LoadBitmapTable(const Qcow2Bitmap& bitmap);
  Result<bool> SameBitmapName(uint64_t position_a, uint64_t position_b);

  BlockDevice& file_;
  DeviceOpener& opener_;
  Arena& arena_;
  const OpenOptions& options_;
  const Qcow2OpenParams& params_;
  Qcow2Image* image_ = nullptr;
  uint64_t ext_end_ = 0;
  bool crypto_opened_ = false;
};

Result<Qcow2Image*> OpenQcow2(BlockDevice& file, DeviceOpener& opener, Arena& arena,
                              const OpenOptions& options, const Qcow2OpenParams& params) {
  Qcow2Opener opener_steps(file, opener, arena, options, params);
  return opener_steps.Open();
}

Result<Image*> OpenQcow2Image(BlockDevice& device, DeviceOpener& opener, Arena& arena,
                              const OpenOptions& options) {
  Qcow2OpenParams params;
  params.no_io = options.no_io;
  params.check = options.check;
  INSTAR_ASSIGN_OR_RETURN(Qcow2Image * image, OpenQcow2(device, opener, arena, options, params));
  return static_cast<Image*>(image);
}

Result<Qcow2Image*> Qcow2Opener::Open() {
  uint8_t raw[kHeaderStructSize];
  if (!file_.Read(0, raw, sizeof(raw)).ok()) {
    return Status::IOError("Could not read qcow2 header");
  }
  image_ = arena_.New<Qcow2Image>();
  if (image_ == nullptr) return Status::NoSpace("no memory for the qcow2 reader");
  image_->file_ = &file_;
  image_->compat_ = options_.compat;
  INSTAR_RETURN_IF_ERROR(ParseHeader(raw));
  image_->cache_ = TableCache::Create(arena_, kTableCacheSlots);
  if (image_->cache_ == nullptr) return Status::NoSpace("no memory for the qcow2 table cache");
  INSTAR_RETURN_IF_ERROR(ReadExtensions());
  INSTAR_RETURN_IF_ERROR(OpenDataFile());
  INSTAR_RETURN_IF_ERROR(CheckEncryption());
  INSTAR_RETURN_IF_ERROR(ReadBackingFileName());
  if (!params_.check) {
    image_->snapshot_count_ = image_->header_.nb_snapshots;
    INSTAR_RETURN_IF_ERROR(ValidateSnapshotTable());
  }
  INSTAR_RETURN_IF_ERROR(LoadBitmaps());
  // bdrv_open_driver() then refreshes the length; since 6.0 a length past
  // BDRV_MAX_LENGTH fails there. 5.2 opens the image, and fails when a
  // command asks for the length (Length()); `qemu-img check` never asks.
  if (image_->virtual_size_ > kBdrvMaxLength) {
    const auto sectors = static_cast<int64_t>(image_->virtual_size_ / 512);
    if (QemuRefusesTotalSectors(sectors, options_.compat)) {
      return Status::OutOfRange("Could not refresh total sector count: File too large");
    }
    if (params_.check || !QemuLengthOf(sectors).ok) return image_;
    // A length 5.2 could give, past what instar reads: its own refusal.
    return Status::OutOfRange("Can't get image size: File too large");
  }
  return image_;
}

Status Qcow2Opener::ParseHeader(const uint8_t* raw) {
  Qcow2Header& h = image_->header_;
  h.magic = LoadBE32(raw + 0);
  h.version = LoadBE32(raw + 4);
  h.backing_file_offset = LoadBE64(raw + 8);
  h.backing_file_size = LoadBE32(raw + 16);
  h.cluster_bits = LoadBE32(raw + 20);
  h.size = LoadBE64(raw + 24);
  h.crypt_method = LoadBE32(raw + 32);
  h.l1_size = LoadBE32(raw + 36);
  h.l1_table_offset = LoadBE64(raw + 40);
  h.refcount_table_offset = LoadBE64(raw + 48);
  h.refcount_table_clusters = LoadBE32(raw + 56);
  h.nb_snapshots = LoadBE32(raw + 60);
  h.snapshots_offset = LoadBE64(raw + 64);

  if (h.magic != qcow2::kMagic) return Status::Corruption("Image is not in qcow2 format");
  if (h.version < 2 || h.version > 3) {
    return Status::NotSupported("Unsupported qcow2 version {}").With(h.version);
  }
  if (h.cluster_bits < kMinClusterBits || h.cluster_bits > kMaxClusterBits) {
    return Status::NotSupported("Unsupported cluster size: 2^{}").With(h.cluster_bits);
  }
  const uint64_t cluster_size = uint64_t{1} << h.cluster_bits;

  if (h.version == 2) {
    h.incompatible_features = 0;
    h.compatible_features = 0;
    h.autoclear_features = 0;
    h.refcount_order = 4;
    h.header_length = 72;
  } else {
    h.incompatible_features = LoadBE64(raw + 72);
    h.compatible_features = LoadBE64(raw + 80);
    h.autoclear_features = LoadBE64(raw + 88);
    h.refcount_order = LoadBE32(raw + 96);
    h.header_length = LoadBE32(raw + 100);
    if (h.header_length < 104) return Status::Corruption("qcow2 header too short");
  }
  if (h.header_length > cluster_size) {
    return Status::Corruption("qcow2 header exceeds cluster size");
  }
  if (h.backing_file_offset > cluster_size) {
    return Status::Corruption("Invalid backing file offset");
  }
  ext_end_ = h.backing_file_offset != 0 ? h.backing_file_offset : cluster_size;

  // The compression type byte exists only when the header is long enough.
  h.compression_type = h.header_length > 104 ? raw[104] : qcow2::kCompressionZlib;
  const bool zstd_known = Qcow2SupportsZstd(options_.compat);
  if (h.compression_type != qcow2::kCompressionZlib &&
      !(h.compression_type == qcow2::kCompressionZstd && zstd_known)) {
    return Status::NotSupported("qcow2: unknown compression type: {}").With(h.compression_type);
  }
  const bool compression_bit = (h.incompatible_features & qcow2::kIncompatCompression) != 0;
  if (h.compression_type == qcow2::kCompressionZlib && compression_bit) {
    return Status::Corruption("qcow2: Compression type incompatible feature bit must not be set");
  }
  if (h.compression_type != qcow2::kCompressionZlib && !compression_bit) {
    return Status::Corruption("qcow2: Compression type incompatible feature bit must be set");
  }

  if ((h.incompatible_features & ~qcow2::kIncompatKnown) != 0) {
    return Status::NotSupported("Unsupported qcow2 feature(s): Unknown incompatible feature: {x}")
        .With(h.incompatible_features & ~qcow2::kIncompatKnown);
  }

  const bool extended_l2 = (h.incompatible_features & qcow2::kIncompatExtendedL2) != 0;
  image_->subcluster_bits_ = extended_l2 ? h.cluster_bits - 5 : h.cluster_bits;
  if (image_->subcluster_bits_ < kMinClusterBits) {
    return Status::NotSupported("Unsupported subcluster size: {}")
        .With(1u << image_->subcluster_bits_);
  }
  if (h.refcount_order > 6) {
    return Status::NotSupported("Reference count entry width too large; may not exceed 64 bits");
  }

  image_->l2_bits_ = h.cluster_bits - (extended_l2 ? 4 : 3);
  // Refcount entries are 2^refcount_order bits wide.
  image_->refcount_block_bits_ = h.cluster_bits + 3 - h.refcount_order;
  image_->virtual_size_ = h.size / 512 * 512;
  image_->refcount_table_entries_ = uint64_t{h.refcount_table_clusters} << (h.cluster_bits - 3);

  if (h.refcount_table_clusters == 0 && !params_.check) {
    return Status::Corruption("Image does not contain a reference count table");
  }
  INSTAR_RETURN_IF_ERROR(ValidateTable(
      h.refcount_table_offset, h.refcount_table_clusters, cluster_size, kMaxReftableBytes,
      "Reference count table too large", "Reference count table offset invalid"));
  if (!params_.check) {
    INSTAR_RETURN_IF_ERROR(ValidateTable(h.snapshots_offset, h.nb_snapshots, kSnapshotHeaderBytes,
                                         kSnapshotHeaderBytes * kMaxSnapshots,
                                         "Snapshot table too large",
                                         "Snapshot table offset invalid"));
  }
  INSTAR_RETURN_IF_ERROR(ValidateTable(h.l1_table_offset, h.l1_size, 8, kMaxL1Bytes,
                                       "Active L1 table too large",
                                       "Active L1 table offset invalid"));

  // size_to_l1(): qemu adds in 64-bit unsigned arithmetic, so a size within
  // one L1 entry's reach of 2^64 wraps to a small index.
  const uint32_t l1_shift = h.cluster_bits + image_->l2_bits_;
  const uint64_t l1_vm_state_index = (h.size + ((uint64_t{1} << l1_shift) - 1)) >> l1_shift;
  if (l1_vm_state_index > kIntMax) return Status::OutOfRange("Image is too big");
  if (h.l1_size < l1_vm_state_index) return Status::Corruption("L1 table is too small");
  image_->vm_state_offset_ = l1_vm_state_index << l1_shift;
  if (h.l1_size > 0 && !image_->CheckReadRange(h.l1_table_offset, uint64_t{h.l1_size} * 8).ok()) {
    return Status::IOError("Could not read L1 table: Input/output error");
  }

  // qcow2_update_options_prepare(): the L2 cache covers the whole disk up to
  // 32 MiB of tables; beyond that its entries (and so the reach of one block
  // status answer) shrink to 4 KiB slices.
  const uint64_t l2_entry_bytes = extended_l2 ? 16 : 8;
  const uint64_t max_l2_entries = DivRoundUp(image_->virtual_size_, cluster_size);
  const uint64_t max_l2_cache = AlignUp(max_l2_entries * l2_entry_bytes, cluster_size);
  uint64_t l2_cache_entry_bytes = cluster_size;
  if (max_l2_cache > kDefaultL2CacheMaxBytes) {
    l2_cache_entry_bytes = cluster_size < 4096 ? cluster_size : 4096;
  }
  image_->l2_slice_entries_ = l2_cache_entry_bytes / l2_entry_bytes;
  if (h.crypt_method > qcow2::kCryptLuks) {
    return Status::NotSupported("Unsupported encryption method {}").With(h.crypt_method);
  }

  // qcow2_refcount_init() reads the whole refcount table.
  if (image_->refcount_table_entries_ > 0 &&
      !image_->CheckReadRange(h.refcount_table_offset, image_->refcount_table_entries_ * 8).ok()) {
    return Status::IOError("Could not initialize refcount handling: Input/output error");
  }
  return Status::Ok();
}

// qcow2_validate_table().
Status Qcow2Opener::ValidateTable(uint64_t offset, uint64_t entries, uint64_t entry_bytes,
                                  uint64_t max_bytes, const char* too_large,
                                  const char* bad_offset) const {
  if (entries > max_bytes / entry_bytes) return Status::OutOfRange(too_large);
  const uint64_t int64_max = uint64_t{INT64_MAX};
  if (int64_max - entries * entry_bytes < offset || (offset & (image_->cluster_size() - 1)) != 0) {
    return Status::Corruption(bad_offset);
  }
  return Status::Ok();
}

// Copies `length` bytes at `offset` into the arena as a string cut at its
// first NUL. Only the bytes up to the NUL are kept, so a long name costs
// nothing beyond its text.
Status Qcow2Opener::ReadText(uint64_t offset, uint64_t length, Qcow2Text* out) {
  uint64_t text_length = 0;
  uint8_t byte = 1;
  while (text_length < length) {
    INSTAR_RETURN_IF_ERROR(image_->ReadMetadata(offset + text_length, &byte, 1));
    if (byte == 0) break;
    ++text_length;
  }
  char* text = arena_.AllocateArray<char>(static_cast<size_t>(text_length) + 1);
  if (text == nullptr) return Status::NoSpace("no memory for a name in the qcow2 header");
  INSTAR_RETURN_IF_ERROR(image_->ReadMetadata(offset, text, static_cast<size_t>(text_length)));
  text[text_length] = '\0';
  out->data = text;
  out->size = static_cast<size_t>(text_length);
  return Status::Ok();
}

// qcow2_read_extensions(): from the end of the header to the backing file
// name (or the end of the first cluster).
Status Qcow2Opener::ReadExtensions() {
  Qcow2Header& h = image_->header_;
  uint64_t offset = h.header_length;
  while (offset < ext_end_) {
    uint8_t ext[8];
    if (!image_->ReadMetadata(offset, ext, sizeof(ext)).ok()) {
      return Status::IOError("qcow2_read_extension: could not read a header extension");
    }
    const uint32_t magic = LoadBE32(ext);
    const uint32_t length = LoadBE32(ext + 4);
    offset += sizeof(ext);
    if (offset > ext_end_ || length > ext_end_ - offset) {
      return Status::Corruption("Header extension too large");
    }
    switch (magic) {
      case qcow2::kExtEnd:
        return Status::Ok();

      case qcow2::kExtBackingFormat:
        if (length >= kBackingFormatFieldBytes) {
          return Status::Corruption("ERROR: ext_backing_format: len={} too large (>=16)")
              .With(length);
        }
        INSTAR_RETURN_IF_ERROR(ReadText(offset, length, &image_->backing_format_));
        break;

      case qcow2::kExtFeatureTable:
        image_->feature_table_offset_ = offset;
        image_->feature_name_count_ = length / 48;
        break;

      case qcow2::kExtCryptoHeader: {
        if (h.crypt_method != qcow2::kCryptLuks) {
          return Status::Corruption(
              "CRYPTO header extension only expected with LUKS encryption method");
        }
        if (length != 16) {
          return Status::Corruption("CRYPTO header extension size {}, but expected size 16")
              .With(length);
        }
        uint8_t crypto[16];
        INSTAR_RETURN_IF_ERROR(image_->ReadMetadata(offset, crypto, sizeof(crypto)));
        image_->crypto_header_offset_ = LoadBE64(crypto);
        image_->crypto_header_length_ = LoadBE64(crypto + 8);
        if ((image_->crypto_header_offset_ & (image_->cluster_size() - 1)) != 0) {
          return Status::Corruption(
                     "Encryption header offset '{}' is not a multiple of cluster size '{}'")
              .With(image_->crypto_header_offset_, image_->cluster_size());
        }
        // qcrypto_block_open(): without BDRV_O_NO_IO it wants the key.
        if (!params_.no_io) {
          return Status::NotSupported("Parameter 'encrypt.key-secret' is required for cipher");
        }
        crypto_opened_ = true;
        break;
      }

      case qcow2::kExtBitmaps: {
        if (length != 24) {
          // 5.2 appended an errno it never set.
          return Status::Corruption(
              options_.compat.AtLeast(6, 0)
                  ? "bitmaps_ext: Invalid extension length"
                  : "bitmaps_ext: Invalid extension length: Unknown error -8");
        }
        if ((h.autoclear_features & qcow2::kAutoclearBitmaps) == 0) {
          // Written by a program that does not know bitmaps: qemu warns and
          // ignores them.
          image_->bitmaps_extension_ignored_ = true;
          break;
        }
        uint8_t bitmaps[24];
        INSTAR_RETURN_IF_ERROR(image_->ReadMetadata(offset, bitmaps, sizeof(bitmaps)));
        const uint32_t count = LoadBE32(bitmaps);
        if (LoadBE32(bitmaps + 4) != 0) {
          return Status::Corruption("bitmaps_ext: Reserved field is not zero");
        }
        const uint64_t directory_size = LoadBE64(bitmaps + 8);
        const uint64_t directory_offset = LoadBE64(bitmaps + 16);
        if (count > kMaxBitmaps) {
          return Status::OutOfRange(
                     "bitmaps_ext: Image has {} bitmaps, exceeding the QEMU supported maximum of "
                     "65535")
              .With(count);
        }
        if (count == 0) return Status::Corruption("found bitmaps extension with zero bitmaps");
        if ((directory_offset & (image_->cluster_size() - 1)) != 0) {
          return Status::Corruption("bitmaps_ext: invalid bitmap directory offset");
        }
        if (directory_size > kMaxBitmapDirectoryBytes) {
          return Status::OutOfRange(
                     "bitmaps_ext: bitmap directory size ({}) exceeds the maximum supported size "
                     "({})")
              .With(directory_size, kMaxBitmapDirectoryBytes);
        }
        image_->bitmap_count_ = count;
        image_->bitmap_directory_offset_ = directory_offset;
        image_->bitmap_directory_size_ = directory_size;
        break;
      }

      case qcow2::kExtDataFile:
        INSTAR_RETURN_IF_ERROR(ReadText(offset, length, &image_->data_file_name_));
        break;

      default:
        // Unknown extensions are kept by qemu only to rewrite the header.
        break;
    }
    offset += AlignUp(length, 8);
  }
  return Status::Ok();
}

Status Qcow2Opener::OpenDataFile() {
  const bool external = image_->has_external_data_file();
  // BDRV_O_NO_IO is how `qemu-img info` opens; its dialect says whether the
  // version leaves the data file closed.
  if (params_.no_io && InfoOpenDialectFor(options_.compat).no_io_skips_data_file) {
    image_->data_file_ = external ? nullptr : &file_;
    return Status::Ok();
  }
  if (!external) {
    if (image_->data_file_raw()) return Status::Corruption("data-file-raw requires a data file");
    image_->data_file_ = &file_;
    return Status::Ok();
  }
  if (!image_->data_file_name_.present()) {
    return Status::InvalidArgument("'data-file' is required for this image");
  }
  // qemu opens the data file by the name the header gives, relative to its
  // working directory, not to the image's (as it does a backing file).
  INSTAR_ASSIGN_OR_RETURN(
      BlockDevice * data_file,
      opener_.OpenAsGiven(image_->data_file_name_.data, image_->data_file_name_.size));
  image_->data_file_ = data_file;
  return Status::Ok();
}

Status Qcow2Opener::CheckEncryption() {
  const uint32_t method = image_->header_.crypt_method;
  if (method == qcow2::kCryptNone || crypto_opened_) return Status::Ok();
  if (method == qcow2::kCryptAes) {
    if (!params_.no_io) {
      return Status::NotSupported("Parameter 'encrypt.key-secret' is required for cipher");
    }
    return Status::Ok();
  }
  if (!params_.no_io || InfoOpenDialectFor(options_.compat).no_io_checks_crypto_header) {
    return Status::Corruption("Missing CRYPTO header for crypt method 2");
  }
  return Status::Ok();
}

Status Qcow2Opener::ReadBackingFileName() {
  const Qcow2Header& h = image_->header_;
  if (h.backing_file_offset == 0) return Status::Ok();
  const uint64_t room = image_->cluster_size() - h.backing_file_offset;
  const uint64_t limit = room < kMaxBackingNameBytes ? room : kMaxBackingNameBytes;
  if (h.backing_file_size > limit || h.backing_file_size >= kBackingFileFieldBytes) {
    return Status::Corruption("Backing file name too long");
  }
  return ReadText(h.backing_file_offset, h.backing_file_size, &image_->backing_file_);
}

// qcow2_read_snapshots(): walks the table so that a broken one fails the
// open, as it does in qemu; the entries themselves are read again by
// Qcow2SnapshotCursor.
Status Qcow2Opener::ValidateSnapshotTable() {
  const uint64_t start = image_->header_.snapshots_offset;
  uint64_t offset = start;
  uint64_t table_length = 0;
  char id[128];
  char name[256];
  for (uint32_t i = 0; i < image_->snapshot_count_; ++i) {
    Qcow2Snapshot snapshot;
    table_length = AlignUp(table_length, 8);
    if (Status read = image_->ReadSnapshotEntry(&offset, &snapshot, id, name); !read.ok()) {
      return read.has_argument() ? read : read.With(i);  // the entry's index, where it is named
    }
    table_length +=
        kSnapshotHeaderBytes + snapshot.extra_data_size + snapshot.id_size + snapshot.name_size;
    if (table_length > kMaxSnapshotTableBytes || offset - start > kIntMax) {
      return Status::OutOfRange("Snapshot table is too big");
    }
  }
  return Status::Ok();
}

Status Qcow2Opener::KeepText(Status status) {
  if (!status.has_text()) return status;
  return status.WithTextCopy(status.text(), status.text_length());
}

// check_dir_entry() of qcow2-bitmap.c.
Status Qcow2Opener::CheckBitmapEntry(const Qcow2Bitmap& bitmap) const {
  const uint64_t cluster_size = image_->cluster_size();
  const bool bad = bitmap.table_size == 0 || bitmap.table_offset == 0 ||
                   (bitmap.table_offset & (cluster_size - 1)) != 0 ||
                   bitmap.table_size > qcow2_internal::kMaxBitmapTableEntries ||
                   bitmap.granularity_bits > 31 || bitmap.granularity_bits < 9 ||
                   (bitmap.flags & ~uint32_t{3}) != 0 || bitmap.name_size > 1023 ||
                   bitmap.type != 1;
  const Status unsatisfied =
      Status::Corruption("Bitmap '{s}' doesn't satisfy the constraints")
          .WithText(bitmap.name.present() ? bitmap.name.data : "", bitmap.name.size);
  if (bad) return unsatisfied;
  const uint64_t physical_bytes = uint64_t{bitmap.table_size} * cluster_size;
  if (physical_bytes > qcow2_internal::kMaxBitmapPhysicalBytes) return unsatisfied;
  if (!bitmap.in_use() &&
      image_->virtual_size_ > ((physical_bytes * 8) << bitmap.granularity_bits)) {
    return unsatisfied;
  }
  return Status::Ok();
}

// bitmap_table_load() and the size check of load_bitmap_data().
Status Qcow2Opener::LoadBitmapTable(const Qcow2Bitmap& bitmap) {
  const uint64_t cluster_size = image_->cluster_size();
  if (!image_->CheckReadRange(bitmap.table_offset, uint64_t{bitmap.table_size} * 8).ok()) {
    return Status::IOError(
        "Could not read bitmap_table table from image for bitmap: Input/output error");
  }
  for (uint32_t i = 0; i < bitmap.table_size; ++i) {
    INSTAR_ASSIGN_OR_RETURN(uint64_t entry,
                            image_->cache_->LoadBE64(file_, bitmap.table_offset + uint64_t{i} * 8));
    const uint64_t data_offset = entry & qcow2_internal::kBitmapEntryOffsetMask;
    if ((entry & qcow2_internal::kBitmapEntryReservedMask) != 0 ||
        (data_offset != 0 && ((entry & 1) != 0 || (data_offset & (cluster_size - 1)) != 0))) {
      return Status::Corruption(
          "Could not read bitmap_table table from image for bitmap: Invalid argument");
    }
  }
  // The table must have exactly as many entries as the serialized bitmap has
  // clusters: 64-bit words of one bit per granule of the virtual disk.
  const uint64_t length = image_->virtual_size_;
  uint64_t serialized_bytes = 0;
  if (length > 0) {
    serialized_bytes = ((((length - 1) >> bitmap.granularity_bits) >> 6) + 1) * 8;
  }
  if (DivRoundUp(serialized_bytes, cluster_size) != bitmap.table_size) {
    return Status::Corruption("Could not read bitmap '{s}' from image: Invalid argument")
        .WithText(bitmap.name.present() ? bitmap.name.data : "", bitmap.name.size);
  }
  return Status::Ok();
}

Result<bool> Qcow2Opener::SameBitmapName(uint64_t position_a, uint64_t position_b) {
  Qcow2Bitmap a;
  Qcow2Bitmap b;
  char name_a[1024];
  char name_b[1024];
  uint64_t next;
  INSTAR_RETURN_IF_ERROR(image_->ReadBitmapEntry(position_a, &a, name_a, &next));
  INSTAR_RETURN_IF_ERROR(image_->ReadBitmapEntry(position_b, &b, name_b, &next));
  return a.name.size == b.name.size && BytesEqual(a.name.data, b.name.data, a.name.size);
}

// qcow2_load_dirty_bitmaps(): the directory is checked as bitmap_list_load()
// does, then every bitmap is loaded as qemu would, which fails on a second
// bitmap of the same name (unless it is in use) and on a broken bitmap table.
Status Qcow2Opener::LoadBitmaps() {
  const uint32_t count = image_->bitmap_count_;
  if (count == 0) return Status::Ok();
  const uint64_t directory_size = image_->bitmap_directory_size_;
  if (directory_size == 0) return Status::Corruption("Requested bitmap directory size is zero");
  if (!image_->CheckReadRange(image_->bitmap_directory_offset_, directory_size).ok()) {
    return Status::IOError("Failed to read bitmap directory: Input/output error");
  }

  // Pass 1: the directory's structure, entry by entry.
  uint64_t position = 0;
  uint32_t entries = 0;
  while (position < directory_size) {
    if (position + 24 > directory_size) return Status::Corruption("Broken bitmap directory");
    if (++entries > count) {
      return Status::Corruption("More bitmaps found than specified in header extension");
    }
    uint8_t raw[24];
    INSTAR_RETURN_IF_ERROR(
        image_->ReadMetadata(image_->bitmap_directory_offset_ + position, raw, sizeof(raw)));
    const uint16_t name_size = LoadBE16(raw + 18);
    const uint32_t extra_size = LoadBE32(raw + 20);
    // dir_entry_size() computes in int: a huge extra size wraps.
    const int32_t entry_size = static_cast<int32_t>(
        static_cast<uint32_t>(24u + name_size + extra_size + 7u) & ~uint32_t{7});
    const int64_t next = static_cast<int64_t>(position) + entry_size;
    if (next > static_cast<int64_t>(directory_size)) {
      return Status::Corruption("Broken bitmap directory");
    }
    if (extra_size != 0) return Status::NotSupported("Bitmap extra data is not supported");
    Qcow2Bitmap bitmap;
    char name[1024];
    uint64_t next_position;
    INSTAR_RETURN_IF_ERROR(image_->ReadBitmapEntry(position, &bitmap, name, &next_position));
    if (Status check = CheckBitmapEntry(bitmap); !check.ok()) return KeepText(check);
    position = next_position;
  }
  if (entries != count) {
    return Status::Corruption("Less bitmaps found than specified in header extension");
  }

  // Pass 2: load in directory order. Names already taken are found through a
  // hash table of entry positions that lives only for this pass.
  uint8_t* skipped = arena_.AllocateArray<uint8_t>(DivRoundUp(count, 8));
  if (skipped == nullptr) return Status::NoSpace("no memory for the bitmap list");
  FillBytes(skipped, 0, DivRoundUp(count, 8));
  image_->bitmap_skipped_ = skipped;

  const size_t mark = arena_.Mark();
  size_t slots = 4;
  while (slots < size_t{count} * 2) slots *= 2;
  uint32_t* slot_entry = arena_.AllocateArray<uint32_t>(slots);  // entry index + 1, 0 = free
  uint64_t* slot_position = arena_.AllocateArray<uint64_t>(slots);
  uint64_t* slot_hash = arena_.AllocateArray<uint64_t>(slots);
  if (slot_entry == nullptr || slot_position == nullptr || slot_hash == nullptr) {
    arena_.Reset(mark);
    return Status::NoSpace("no memory to load the bitmap list");
  }
  FillBytes(slot_entry, 0, slots * sizeof(uint32_t));

  Status status = Status::Ok();
  position = 0;
  char name[1024];  // outside the loop: a failure's Status may name the bitmap
  for (uint32_t i = 0; i < count && status.ok(); ++i) {
    Qcow2Bitmap bitmap;
    uint64_t next_position;
    status = image_->ReadBitmapEntry(position, &bitmap, name, &next_position);
    if (!status.ok()) break;
    uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a
    for (size_t k = 0; k < bitmap.name.size; ++k) {
      hash = (hash ^ static_cast<uint8_t>(bitmap.name.data[k])) * 0x100000001b3ull;
    }
    size_t slot = static_cast<size_t>(hash) & (slots - 1);
    bool exists = false;
    while (slot_entry[slot] != 0) {
      if (slot_hash[slot] == hash) {
        Result<bool> same = SameBitmapName(slot_position[slot], position);
        if (!same.ok()) {
          status = same.status();
          break;
        }
        if (*same) {
          exists = true;
          break;
        }
      }
      slot = (slot + 1) & (slots - 1);
    }
    if (!status.ok()) break;
    if (exists) {
      if (!bitmap.in_use()) {
        status = Status::Corruption("Bitmap already exists: {s}")
                     .WithText(bitmap.name.present() ? bitmap.name.data : "", bitmap.name.size);
        break;
      }
      skipped[i / 8] = static_cast<uint8_t>(skipped[i / 8] | (1u << (i % 8)));
    } else {
      slot_entry[slot] = i + 1;
      slot_position[slot] = position;
      slot_hash[slot] = hash;
      if (!bitmap.in_use()) status = LoadBitmapTable(bitmap);
    }
    position = next_position;
  }
  arena_.Reset(mark);
  return KeepText(status);
}

bool Qcow2Image::GetBackingReference(BackingReference* reference) const {
  if (backing_file_.size == 0) return false;
  reference->name = backing_file_.data;
  reference->name_length = backing_file_.size;
  reference->format = ImageFormat::kUnknown;
  reference->format_name = nullptr;
  reference->format_name_length = 0;
  // An empty backing format extension is as good as none: qemu probes.
  if (backing_format_.present() && backing_format_.size > 0) {
    reference->format = ImageFormatFromDriverName(backing_format_.data, backing_format_.size);
    reference->format_name = backing_format_.data;
    reference->format_name_length = backing_format_.size;
  }
  return true;
}

}  // namespace instar
