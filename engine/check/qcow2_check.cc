// qcow2's check (qemu's qcow2_co_check_locked()): the snapshot table read
// as check mode reads it (qcow2_check_read_snapshot_table()), then the
// refcounts rebuilt in memory from the header, the active and the
// snapshots' L1/L2 tables, the snapshot table, the refcount table and
// blocks, the LUKS header and the bitmaps (calculate_refcounts()),
// compared with the image's own (compare_refcounts()), and the
// OFLAG_COPIED flags checked against them (check_oflag_copied()), with the
// allocation statistics of the active L1 table on the way. Read-only: the
// "Repairing" paths are never taken.
//
// Versions: the reserved-bit checks (L1, L2 and refcount table entries),
// the subcluster bitmap checks and the checks of compressed clusters
// against a data file or a bitmap came after 5.2, which has none of them
// and takes a refcount table entry whole, reserved bits included, as the
// refblock offset; 7.2 has them all. The matrix has no release between the
// two, so instar draws the line at 6.0.
//
// Memory: one array of 4-byte refcounts, one per cluster of the file
// (kMaxCheckClusters at most); every table is read through the reader's
// metadata cache, never loaded whole.
#include "check/check_internal.h"
#include "core/reader_util.h"
#include "instar/engine/bytes.h"
#include "instar/engine/qcow2.h"
#include "instar/engine/text_builder.h"
#include "qcow2/qcow2_internal.h"

namespace instar {

namespace {

using namespace qcow2_internal;

constexpr uint64_t kL1ReservedMask = 0x7f000000000001ffull;     // L1E_RESERVED_MASK
constexpr uint64_t kL2StdReservedMask = 0x3f000000000001feull;  // L2E_STD_RESERVED_MASK
constexpr uint64_t kReftableReservedMask = 0x1ffull;            // REFT_RESERVED_MASK
constexpr uint64_t kBitmapAllAlloc = 0xffffffffull;             // QCOW_L2_BITMAP_ALL_ALLOC
constexpr uint64_t kBitmapEntryFlagAllOnes = 1;                 // BME_TABLE_ENTRY_FLAG_ALL_ONES
constexpr uint32_t kMaxSnapshots = 65536;                       // QCOW_MAX_SNAPSHOTS
constexpr uint64_t kSnapshotHeaderBytes = 40;                   // sizeof(QCowSnapshotHeader)
constexpr uint64_t kMaxSnapshotTableBytes = 64ull << 20;        // QCOW_MAX_SNAPSHOTS_SIZE
constexpr uint64_t kMaxL1Entries = (32ull << 20) / 8;           // QCOW_MAX_L1_SIZE / L1E_SIZE
constexpr uint64_t kIntMaxValue = 0x7fffffff;
constexpr int kFragInfo = 1;  // CHECK_FRAG_INFO

enum class ClusterType : uint8_t { kUnallocated, kZeroPlain, kZeroAlloc, kNormal, kCompressed };

}  // namespace

namespace check_internal {

// Reads a table's big-endian 64-bit entries in order, 4 KiB at a time
// through the reader's metadata cache: one call per 512 entries, not one
// per entry (a 4 M-entry L1 table is slow on the emulated CPU otherwise).
class EntryStream {
 public:
  EntryStream(Qcow2Image& image, uint64_t offset, uint64_t count)
      : image_(image), offset_(offset), left_(count) {}

  Result<uint64_t> Next() {
    if (at_ == filled_) {
      const uint64_t n = left_ < kChunk ? left_ : kChunk;
      INSTAR_RETURN_IF_ERROR(image_.ReadMetadata(offset_, chunk_, static_cast<size_t>(n * 8)));
      offset_ += n * 8;
      left_ -= n;
      filled_ = static_cast<size_t>(n);
      at_ = 0;
    }
    return LoadBE64(chunk_ + 8 * at_++);
  }

 private:
  static constexpr uint64_t kChunk = 512;
  Qcow2Image& image_;
  uint64_t offset_;
  uint64_t left_;
  size_t filled_ = 0;
  size_t at_ = 0;
  uint8_t chunk_[kChunk * 8];
};

// qcow2_check_refcounts() and what it calls, over one image. A friend of
// Qcow2Image: it reads the tables through the reader's metadata cache.
class Qcow2Checker {
 public:
  Qcow2Checker(Qcow2Image& image, const QemuVersion& compat, Arena& arena, CheckLog& log,
               CheckResult* result)
      : image_(image),
        arena_(arena),
        log_(log),
        res_(*result),
        modern_(compat.AtLeast(6, 0)),
        cluster_bits_(image.cluster_bits()),
        cluster_size_(image.cluster_size()),
        extended_l2_(image.extended_l2()),
        data_file_(image.has_external_data_file()) {}

  Status Run();

 private:
  // One stderr line.
  struct Line {
    char buffer[1024];
    TextBuilder text{buffer, sizeof(buffer)};
  };
  void Emit(const Line& line) { log_.Line(line.text.c_str(), line.text.length()); }
  static void AppendPlainHex(TextBuilder& text, uint64_t value) {
    char digits[16];
    size_t count = 0;
    do {
      const uint32_t d = static_cast<uint32_t>(value & 0xf);
      digits[count++] = static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
      value >>= 4;
    } while (value != 0);
    while (count > 0) text.Append(digits[--count]);
  }
  static void AppendSigned(TextBuilder& text, int64_t value) {
    if (value < 0) {
      text.Append('-');
      text.AppendDecimal(0 - static_cast<uint64_t>(value));
    } else {
      text.AppendDecimal(static_cast<uint64_t>(value));
    }
  }
  // Stops the check: qemu's `return -errno`.
  Status Fail(CheckFailure failure) {
    res_.failure = failure;
    return Status::Ok();
  }
  bool failed() const { return res_.failure != CheckFailure::kNone; }

  Status ReadSnapshotTable();
  Status CheckRefcounts();
  Status CalculateRefcounts();
  Status IncRefcounts(uint64_t offset, uint64_t size);
  Status CheckL1(uint64_t l1_offset, uint64_t l1_size, int flags);
  Status CheckL2(uint64_t l2_offset, int flags);
  Status CheckBitmaps();
  Status CheckRefblocks();
  void CompareRefcounts(uint64_t* highest_cluster);
  Status CheckOflagCopied();
  ClusterType TypeOf(uint64_t l2_entry) const;
  // qcow2_get_refcount(), with qemu's corruption line the first time one
  // is signalled.
  Result<uint64_t> Refcount(uint64_t cluster);
  // How many of `count` 8-byte entries at `offset` lie (at least partly)
  // in the file: the rest read as zeros, which no loop here acts on.
  uint64_t EntriesInFile(uint64_t offset, uint64_t count) const {
    const uint64_t size = image_.file_->Size();
    if (offset >= size) return 0;
    const uint64_t in_file = DivRoundUp(size - offset, 8);
    return in_file < count ? in_file : count;
  }
  // bdrv_pread() of table entries: the whole range must be readable.
  bool Readable(uint64_t offset, uint64_t length) const {
    return image_.CheckReadRange(offset, length).ok();
  }

  Qcow2Image& image_;
  Arena& arena_;
  CheckLog& log_;
  CheckResult& res_;
  const bool modern_;
  const uint32_t cluster_bits_;
  const uint64_t cluster_size_;
  const bool extended_l2_;
  const bool data_file_;

  uint64_t file_length_ = 0;
  uint32_t* refcounts_ = nullptr;  // the in-memory refcount table
  uint64_t capacity_ = 0;          // entries of refcounts_
  uint64_t nb_clusters_ = 0;       // entries in use
  uint64_t refcount_max_ = 0;
  // The snapshot table as check mode read it.
  uint32_t nb_snapshots_ = 0;
  uint64_t snapshots_size_ = 0;
  bool corruption_reported_ = false;
};

Status Qcow2Checker::Run() {
  // qcow2_check_read_snapshot_table() first; its failure ends the check.
  INSTAR_RETURN_IF_ERROR(ReadSnapshotTable());
  if (failed()) return Status::Ok();
  return CheckRefcounts();
}

// qcow2_validate_table() of the snapshot table, then qcow2_do_read_snapshots()
// without repair, then the v3 rule of 16 bytes of extra data at least.
Status Qcow2Checker::ReadSnapshotTable() {
  const Qcow2Header& h = image_.header();
  const uint64_t entries = h.nb_snapshots;
  const uint64_t offset = h.snapshots_offset;
  if (entries > kMaxSnapshots) {
    ++res_.check_errors;
    Line line;
    line.text.Append("qemu-img: ERROR snapshot table too large");
    Emit(line);
    Line hint;
    hint.text.Append("You can force-remove all ")
        .AppendDecimal(entries - kMaxSnapshots)
        .Append(" overhanging snapshots with qemu-img check -r all");
    Emit(hint);
    return Fail(CheckFailure::kFileTooLarge);
  }
  if (uint64_t{INT64_MAX} - entries * kSnapshotHeaderBytes < offset ||
      (offset & (cluster_size_ - 1)) != 0) {
    ++res_.check_errors;
    Line line;
    line.text.Append("qemu-img: ERROR snapshot table offset invalid");
    Emit(line);
    return Fail(CheckFailure::kInvalidArgument);
  }

  char id[128];
  char name[256];
  uint64_t at = offset;
  uint64_t table_length = 0;
  for (uint32_t i = 0; i < entries; ++i) {
    Qcow2Snapshot snapshot;
    table_length = AlignUp(table_length, 8);
    const Status read = image_.ReadSnapshotEntry(&at, &snapshot, id, name);
    if (!read.ok()) {
      ++res_.check_errors;
      Line line;
      line.text.Append("qemu-img: ERROR failed to read the snapshot table: ");
      if (read.code() == StatusCode::kOutOfRange) {
        line.text.Append("Too much extra metadata in snapshot table entry ").AppendDecimal(i);
        Emit(line);
        Line hint;
        hint.text.Append("You can force-remove this extra metadata with qemu-img check -r all");
        Emit(hint);
        return Fail(CheckFailure::kFileTooLarge);
      }
      line.text.Append("Failed to read snapshot table: Input/output error");
      Emit(line);
      return Fail(CheckFailure::kIOError);
    }
    table_length +=
        kSnapshotHeaderBytes + snapshot.extra_data_size + snapshot.id_size + snapshot.name_size;
    if (table_length > kMaxSnapshotTableBytes || at - offset > kIntMaxValue) {
      ++res_.check_errors;
      Line line;
      line.text.Append(
          "qemu-img: ERROR failed to read the snapshot table: Snapshot table is too big");
      Emit(line);
      Line hint;
      hint.text.Append("You can force-remove all ")
          .AppendDecimal(entries - i)
          .Append(" overhanging snapshots with qemu-img check -r all");
      Emit(hint);
      return Fail(CheckFailure::kFileTooLarge);
    }
  }
  nb_snapshots_ = static_cast<uint32_t>(entries);
  snapshots_size_ = at - offset;

  if (image_.version() >= 3) {
    at = offset;
    for (uint32_t i = 0; i < nb_snapshots_; ++i) {
      Qcow2Snapshot snapshot;
      INSTAR_RETURN_IF_ERROR(image_.ReadSnapshotEntry(&at, &snapshot, id, name));
      if (snapshot.extra_data_size < 16) {
        ++res_.corruptions;
        Line line;
        line.text.Append("ERROR snapshot table entry ").AppendDecimal(i).Append(" is incomplete");
        Emit(line);
      }
    }
  }
  return Status::Ok();
}

Status Qcow2Checker::CheckRefcounts() {
  file_length_ = SectorLength(image_.file());
  const uint64_t nb_clusters = DivRoundUp(file_length_, cluster_size_);
  if (nb_clusters > kIntMaxValue) {
    ++res_.check_errors;
    return Fail(CheckFailure::kFileTooLarge);
  }
  if (nb_clusters > kMaxCheckClusters) {
    return Status::NoSpace(
        "Check failed: the image file has more clusters than instar rebuilds refcounts for "
        "(16777216)");
  }
  // size_to_clusters() of bs->total_sectors * 512, in qemu's wrapping
  // 64-bit arithmetic (a 5.2 image may be that large).
  res_.total_clusters = (image_.VirtualSize() + cluster_size_ - 1) >> cluster_bits_;
  // A reference may reach into the cluster after the file's last one.
  capacity_ = nb_clusters + 1;
  refcounts_ = arena_.AllocateArray<uint32_t>(static_cast<size_t>(capacity_));
  if (refcounts_ == nullptr) {
    return Status::NoSpace("Check failed: no memory for the refcount table of the check");
  }
  FillBytes(refcounts_, 0, static_cast<size_t>(capacity_ * sizeof(uint32_t)));
  nb_clusters_ = nb_clusters;
  const uint32_t bits = image_.refcount_bits();
  refcount_max_ = bits >= 32 ? UINT32_MAX : (uint64_t{1} << bits) - 1;

  INSTAR_RETURN_IF_ERROR(CalculateRefcounts());
  if (failed()) return Status::Ok();
  uint64_t highest_cluster = 0;
  CompareRefcounts(&highest_cluster);
  INSTAR_RETURN_IF_ERROR(CheckOflagCopied());
  if (failed()) return Status::Ok();
  res_.image_end_offset = (highest_cluster + 1) * cluster_size_;
  return Status::Ok();
}

// qcow2_inc_refcounts_imrt().
Status Qcow2Checker::IncRefcounts(uint64_t offset, uint64_t size) {
  if (size == 0 || failed()) return Status::Ok();
  // qemu computes offset + size - file_len in int64_t and compares it
  // signed: an offset past INT64_MAX wraps below the file's end.
  const auto past_end = static_cast<int64_t>(offset + size - file_length_);
  if (past_end >= static_cast<int64_t>(cluster_size_)) {
    Line line;
    line.text.Append(
        "ERROR: counting reference for region exceeding the end of the file by one cluster "
        "or more: offset 0x");
    AppendPlainHex(line.text, offset);
    line.text.Append(" size 0x");
    AppendPlainHex(line.text, size);
    Emit(line);
    ++res_.corruptions;
    return Status::Ok();
  }
  const uint64_t start = offset & ~(cluster_size_ - 1);
  const uint64_t last = (offset + size - 1) & ~(cluster_size_ - 1);
  for (uint64_t cluster_offset = start;; cluster_offset += cluster_size_) {
    const uint64_t k = cluster_offset >> cluster_bits_;
    if (k >= nb_clusters_) {
      if (k >= capacity_) {
        // qemu's realloc_refcount_array() for a wrapped offset: more than
        // any memory holds.
        ++res_.check_errors;
        return Fail(CheckFailure::kNoMemory);
      }
      nb_clusters_ = k + 1;
    }
    if (refcounts_[k] == refcount_max_) {
      Line line;
      line.text.Append("ERROR: overflow cluster offset=0x");
      AppendPlainHex(line.text, cluster_offset);
      Emit(line);
      Line hint;
      hint.text.Append(
          "Use qemu-img amend to increase the refcount entry width or qemu-img convert to create "
          "a clean copy if the image cannot be opened for writing");
      Emit(hint);
      ++res_.corruptions;
    } else {
      ++refcounts_[k];
    }
    if (cluster_offset == last) break;
  }
  return Status::Ok();
}

// calculate_refcounts().
Status Qcow2Checker::CalculateRefcounts() {
  const Qcow2Header& h = image_.header();
  INSTAR_RETURN_IF_ERROR(IncRefcounts(0, cluster_size_));
  INSTAR_RETURN_IF_ERROR(CheckL1(h.l1_table_offset, h.l1_size, kFragInfo));
  if (failed()) return Status::Ok();

  if (data_file_ && nb_snapshots_ > 0) {
    Line line;
    line.text.Append("ERROR ")
        .AppendDecimal(nb_snapshots_)
        .Append(" snapshots in image with data file");
    Emit(line);
    ++res_.corruptions;
  }
  char id[128];
  char name[256];
  uint64_t at = h.snapshots_offset;
  for (uint32_t i = 0; i < nb_snapshots_; ++i) {
    Qcow2Snapshot sn;
    INSTAR_RETURN_IF_ERROR(image_.ReadSnapshotEntry(&at, &sn, id, name));
    if ((sn.l1_table_offset & (cluster_size_ - 1)) != 0) {
      Line line;
      line.text.Append("ERROR snapshot ")
          .Append(sn.id.data, sn.id.size)
          .Append(" (")
          .Append(sn.name.data, sn.name.size)
          .Append(") l1_offset=")
          .AppendHex(sn.l1_table_offset)
          .Append(": L1 table is not cluster aligned; snapshot table entry corrupted");
      Emit(line);
      ++res_.corruptions;
      continue;
    }
    if (sn.l1_size > kMaxL1Entries) {
      Line line;
      line.text.Append("ERROR snapshot ")
          .Append(sn.id.data, sn.id.size)
          .Append(" (")
          .Append(sn.name.data, sn.name.size)
          .Append(") l1_size=")
          .AppendHex(sn.l1_size)
          .Append(": L1 table is too large; snapshot table entry corrupted");
      Emit(line);
      ++res_.corruptions;
      continue;
    }
    INSTAR_RETURN_IF_ERROR(CheckL1(sn.l1_table_offset, sn.l1_size, 0));
    if (failed()) return Status::Ok();
  }
  INSTAR_RETURN_IF_ERROR(IncRefcounts(h.snapshots_offset, snapshots_size_));
  INSTAR_RETURN_IF_ERROR(IncRefcounts(h.refcount_table_offset,
                                      (uint64_t{h.refcount_table_clusters} << cluster_bits_)));
  if (image_.crypto_header_length() != 0) {
    INSTAR_RETURN_IF_ERROR(
        IncRefcounts(image_.crypto_header_offset(), image_.crypto_header_length()));
  }
  INSTAR_RETURN_IF_ERROR(CheckBitmaps());
  if (failed()) return Status::Ok();
  return CheckRefblocks();
}

// qcow2_get_cluster_type().
ClusterType Qcow2Checker::TypeOf(uint64_t l2_entry) const {
  if ((l2_entry & kL2Compressed) != 0) return ClusterType::kCompressed;
  if ((l2_entry & kL2Zero) != 0 && !extended_l2_) {
    return (l2_entry & kL2OffsetMask) != 0 ? ClusterType::kZeroAlloc : ClusterType::kZeroPlain;
  }
  if ((l2_entry & kL2OffsetMask) == 0) {
    // Offset 0 is a valid cluster of an external data file, told apart
    // from "unallocated" by the copied flag.
    return data_file_ && (l2_entry & kL2Copied) != 0 ? ClusterType::kNormal
                                                     : ClusterType::kUnallocated;
  }
  return ClusterType::kNormal;
}

// check_refcounts_l1().
Status Qcow2Checker::CheckL1(uint64_t l1_offset, uint64_t l1_size, int flags) {
  if (l1_size == 0) return Status::Ok();
  INSTAR_RETURN_IF_ERROR(IncRefcounts(l1_offset, l1_size * 8));
  if (failed()) return Status::Ok();
  if (!Readable(l1_offset, l1_size * 8)) {
    Line line;
    line.text.Append("ERROR: I/O error in check_refcounts_l1");
    Emit(line);
    ++res_.check_errors;
    return Fail(CheckFailure::kIOError);
  }
  const uint64_t l1_in_file = EntriesInFile(l1_offset, l1_size);
  EntryStream l1(image_, l1_offset, l1_in_file);
  for (uint64_t i = 0; i < l1_in_file; ++i) {
    Result<uint64_t> entry = l1.Next();
    if (!entry.ok()) {
      Line line;
      line.text.Append("ERROR: I/O error in check_refcounts_l1");
      Emit(line);
      ++res_.check_errors;
      return Fail(CheckFailure::kIOError);
    }
    const uint64_t l1_entry = *entry;
    if (l1_entry == 0) continue;
    if (modern_ && (l1_entry & kL1ReservedMask) != 0) {
      Line line;
      line.text.Append("ERROR found L1 entry with reserved bits set: ");
      AppendPlainHex(line.text, l1_entry);
      Emit(line);
      ++res_.corruptions;
    }
    const uint64_t l2_offset = l1_entry & kL1OffsetMask;
    INSTAR_RETURN_IF_ERROR(IncRefcounts(l2_offset, cluster_size_));
    if (failed()) return Status::Ok();
    if ((l2_offset & (cluster_size_ - 1)) != 0) {
      Line line;
      line.text.Append("ERROR l2_offset=");
      AppendPlainHex(line.text, l2_offset);
      line.text.Append(": Table is not cluster aligned; L1 entry corrupted");
      Emit(line);
      ++res_.corruptions;
    }
    INSTAR_RETURN_IF_ERROR(CheckL2(l2_offset, flags));
    if (failed()) return Status::Ok();
  }
  return Status::Ok();
}

// check_refcounts_l2().
Status Qcow2Checker::CheckL2(uint64_t l2_offset, int flags) {
  const uint64_t entry_bytes = extended_l2_ ? 16 : 8;
  const uint64_t l2_size = cluster_size_ / entry_bytes;
  if (!Readable(l2_offset, l2_size * entry_bytes)) {
    Line line;
    line.text.Append("ERROR: I/O error in check_refcounts_l2");
    Emit(line);
    ++res_.check_errors;
    return Fail(CheckFailure::kIOError);
  }
  const uint32_t csize_shift = 62 - (cluster_bits_ - 8);
  const uint64_t csize_mask = (uint64_t{1} << (cluster_bits_ - 8)) - 1;
  const uint64_t cluster_offset_mask = (uint64_t{1} << csize_shift) - 1;
  uint64_t next_contiguous_offset = 0;
  // Whole entries only: a zero entry (and bitmap) past the end does nothing.
  const uint64_t words = EntriesInFile(l2_offset, l2_size * (entry_bytes / 8));
  const uint64_t l2_in_file = DivRoundUp(words, entry_bytes / 8);
  EntryStream l2(image_, l2_offset, l2_in_file * (entry_bytes / 8));
  for (uint64_t i = 0; i < l2_in_file; ++i) {
    uint64_t raw[2] = {0, 0};
    INSTAR_ASSIGN_OR_RETURN(raw[0], l2.Next());
    if (extended_l2_) {
      INSTAR_ASSIGN_OR_RETURN(raw[1], l2.Next());
    }
    uint64_t l2_entry = raw[0];
    const uint64_t l2_bitmap = raw[1];
    const ClusterType type = TypeOf(l2_entry);
    if (modern_ && type != ClusterType::kCompressed && (l2_entry & kL2StdReservedMask) != 0) {
      Line line;
      line.text.Append("ERROR found l2 entry with reserved bits set: ");
      AppendPlainHex(line.text, l2_entry);
      Emit(line);
      ++res_.corruptions;
    }
    switch (type) {
      case ClusterType::kCompressed: {
        if ((l2_entry & kL2Copied) != 0) {
          Line line;
          line.text.Append("ERROR: coffset=0x");
          AppendPlainHex(line.text, l2_entry & cluster_offset_mask);
          line.text.Append(": copied flag must never be set for compressed clusters");
          Emit(line);
          l2_entry &= ~kL2Copied;
          ++res_.corruptions;
        }
        if (modern_ && data_file_) {
          Line line;
          line.text.Append("ERROR compressed cluster ")
              .AppendDecimal(i)
              .Append(" with data file, entry=0x");
          AppendPlainHex(line.text, l2_entry);
          Emit(line);
          ++res_.corruptions;
          break;
        }
        if (modern_ && l2_bitmap != 0) {
          Line line;
          line.text.Append("ERROR compressed cluster ")
              .AppendDecimal(i)
              .Append(" with non-zero subcluster allocation bitmap, entry=0x");
          AppendPlainHex(line.text, l2_entry);
          Emit(line);
          ++res_.corruptions;
          break;
        }
        const uint64_t coffset = l2_entry & cluster_offset_mask;
        const uint64_t nb_csectors = ((l2_entry >> csize_shift) & csize_mask) + 1;
        if (modern_) {
          INSTAR_RETURN_IF_ERROR(IncRefcounts(coffset, nb_csectors * 512 - (coffset & 511)));
        } else {
          INSTAR_RETURN_IF_ERROR(IncRefcounts(coffset & ~uint64_t{511}, nb_csectors * 512));
        }
        if (failed()) return Status::Ok();
        if ((flags & kFragInfo) != 0) {
          ++res_.allocated_clusters;
          ++res_.compressed_clusters;
          // Compressed clusters are fragmented by nature.
          ++res_.fragmented_clusters;
        }
        break;
      }
      case ClusterType::kZeroAlloc:
      case ClusterType::kNormal: {
        const uint64_t offset = l2_entry & kL2OffsetMask;
        if (modern_ && ((l2_bitmap >> 32) & l2_bitmap) != 0) {
          ++res_.corruptions;
          Line line;
          line.text.Append("ERROR offset=");
          AppendPlainHex(line.text, offset);
          line.text.Append(": Allocated cluster has corrupted subcluster allocation bitmap");
          Emit(line);
        }
        if ((offset & (cluster_size_ - 1)) != 0) {
          ++res_.corruptions;
          const bool contains_data =
              extended_l2_ ? (l2_bitmap & kBitmapAllAlloc) != 0 : (l2_entry & kL2Zero) == 0;
          Line line;
          line.text.Append("ERROR offset=");
          AppendPlainHex(line.text, offset);
          line.text.Append(contains_data
                               ? ": Data cluster is not properly aligned; L2 entry corrupted."
                               : ": Preallocated cluster is not properly aligned; L2 entry "
                                 "corrupted.");
          Emit(line);
        }
        if ((flags & kFragInfo) != 0) {
          ++res_.allocated_clusters;
          if (next_contiguous_offset != 0 && offset != next_contiguous_offset) {
            ++res_.fragmented_clusters;
          }
          next_contiguous_offset = offset + cluster_size_;
        }
        if (!data_file_) {
          INSTAR_RETURN_IF_ERROR(IncRefcounts(offset, cluster_size_));
          if (failed()) return Status::Ok();
        }
        break;
      }
      case ClusterType::kZeroPlain:
        break;
      case ClusterType::kUnallocated:
        if (modern_ && (l2_bitmap & kBitmapAllAlloc) != 0) {
          ++res_.corruptions;
          Line line;
          line.text.Append("ERROR: Unallocated cluster has non-zero subcluster allocation map");
          Emit(line);
        }
        break;
    }
  }
  return Status::Ok();
}

// qcow2_check_bitmaps_refcounts(): the directory, each bitmap's table and
// the clusters its entries name.
Status Qcow2Checker::CheckBitmaps() {
  if (image_.bitmap_count() == 0) return Status::Ok();
  INSTAR_RETURN_IF_ERROR(
      IncRefcounts(image_.bitmap_directory_offset(), image_.bitmap_directory_size()));
  if (failed()) return Status::Ok();
  Qcow2BitmapCursor cursor(image_);
  Qcow2Bitmap bitmap;
  for (;;) {
    Result<bool> next = cursor.Next(&bitmap);
    if (!next.ok()) {
      // bitmap_list_load() failed.
      ++res_.corruptions;
      return Fail(CheckFailure::kInvalidArgument);
    }
    if (!*next) break;
    INSTAR_RETURN_IF_ERROR(IncRefcounts(bitmap.table_offset, uint64_t{bitmap.table_size} * 8));
    if (failed()) return Status::Ok();
    if (!Readable(bitmap.table_offset, uint64_t{bitmap.table_size} * 8)) {
      ++res_.corruptions;
      return Fail(CheckFailure::kIOError);
    }
    EntryStream table(image_, bitmap.table_offset, bitmap.table_size);
    for (uint32_t i = 0; i < bitmap.table_size; ++i) {
      Result<uint64_t> entry = table.Next();
      if (!entry.ok()) {
        ++res_.corruptions;
        return Fail(CheckFailure::kIOError);
      }
      const uint64_t offset = *entry & kBitmapEntryOffsetMask;
      const bool bad = (*entry & kBitmapEntryReservedMask) != 0 ||
                       (offset != 0 && ((*entry & kBitmapEntryFlagAllOnes) != 0 ||
                                        (offset & (cluster_size_ - 1)) != 0));
      if (bad) {
        ++res_.corruptions;
        continue;
      }
      if (offset == 0) continue;
      INSTAR_RETURN_IF_ERROR(IncRefcounts(offset, cluster_size_));
      if (failed()) return Status::Ok();
    }
  }
  return Status::Ok();
}

// check_refblocks(), without repair.
Status Qcow2Checker::CheckRefblocks() {
  const Qcow2Header& h = image_.header();
  const uint64_t entries = uint64_t{h.refcount_table_clusters} << (cluster_bits_ - 3);
  EntryStream reftable(image_, h.refcount_table_offset, entries);
  for (uint64_t i = 0; i < entries; ++i) {
    Result<uint64_t> raw = reftable.Next();
    if (!raw.ok()) {
      ++res_.check_errors;
      return Fail(CheckFailure::kIOError);
    }
    uint64_t offset = *raw;
    if (modern_) {
      offset = *raw & kRefcountTableOffsetMask;
      if ((*raw & kReftableReservedMask) != 0) {
        Line line;
        line.text.Append("ERROR refcount table entry ")
            .AppendDecimal(i)
            .Append(" has reserved bits set");
        Emit(line);
        ++res_.corruptions;
        continue;
      }
    }
    const uint64_t cluster = offset >> cluster_bits_;
    if ((offset & (cluster_size_ - 1)) != 0) {
      Line line;
      line.text.Append("ERROR refcount block ")
          .AppendDecimal(i)
          .Append(" is not cluster aligned; refcount table entry corrupted");
      Emit(line);
      ++res_.corruptions;
      continue;
    }
    if (cluster >= nb_clusters_) {
      ++res_.corruptions;
      Line line;
      line.text.Append("ERROR refcount block ").AppendDecimal(i).Append(" is outside image");
      Emit(line);
      continue;
    }
    if (offset != 0) {
      INSTAR_RETURN_IF_ERROR(IncRefcounts(offset, cluster_size_));
      if (failed()) return Status::Ok();
      if (refcounts_[cluster] != 1) {
        Line line;
        line.text.Append("ERROR refcount block ")
            .AppendDecimal(i)
            .Append(" refcount=")
            .AppendDecimal(refcounts_[cluster]);
        Emit(line);
        ++res_.corruptions;
      }
    }
  }
  return Status::Ok();
}

Result<uint64_t> Qcow2Checker::Refcount(uint64_t cluster) {
  Result<uint64_t> refcount = image_.GetRefcount(cluster);
  if (!refcount.ok() && !corruption_reported_ &&
      image_.first_corruption().kind != Qcow2CorruptionKind::kNone) {
    corruption_reported_ = true;
    char text[256];
    FormatQcow2Corruption(image_.first_corruption(), text, sizeof(text));
    Line line;
    line.text.Append("qemu-img: qcow2: Image is corrupt: ")
        .Append(text)
        .Append("; further non-fatal corruption events will be suppressed");
    Emit(line);
  }
  return refcount;
}

// compare_refcounts(), without repair.
void Qcow2Checker::CompareRefcounts(uint64_t* highest_cluster) {
  *highest_cluster = 0;
  for (uint64_t i = 0; i < nb_clusters_; ++i) {
    Result<uint64_t> on_disk = Refcount(i);
    if (!on_disk.ok()) {
      Line line;
      line.text.Append("Can't get refcount for cluster ")
          .AppendDecimal(i)
          .Append(": Input/output error");
      Emit(line);
      ++res_.check_errors;
      continue;
    }
    const uint64_t refcount1 = *on_disk;
    const uint64_t refcount2 = refcounts_[i];
    if (refcount1 > 0 || refcount2 > 0) *highest_cluster = i;
    if (refcount1 == refcount2) continue;
    Line line;
    line.text.Append(refcount1 < refcount2 ? "ERROR" : "Leaked")
        .Append(" cluster ")
        .AppendDecimal(i)
        .Append(" refcount=")
        .AppendDecimal(refcount1)
        .Append(" reference=")
        .AppendDecimal(refcount2);
    Emit(line);
    if (refcount1 < refcount2) {
      ++res_.corruptions;
    } else {
      ++res_.leaks;
    }
  }
}

// check_oflag_copied(), without repair: the active L1 table and its L2
// tables against the refcounts on disk.
Status Qcow2Checker::CheckOflagCopied() {
  const Qcow2Header& h = image_.header();
  const uint64_t entry_bytes = extended_l2_ ? 16 : 8;
  const uint64_t l2_size = cluster_size_ / entry_bytes;
  const uint64_t l1_in_file = EntriesInFile(h.l1_table_offset, h.l1_size);
  EntryStream l1(image_, h.l1_table_offset, l1_in_file);
  for (uint64_t i = 0; i < l1_in_file; ++i) {
    INSTAR_ASSIGN_OR_RETURN(const uint64_t l1_entry, l1.Next());
    const uint64_t l2_offset = l1_entry & kL1OffsetMask;
    if (l2_offset == 0) continue;
    Result<uint64_t> refcount = Refcount(l2_offset >> cluster_bits_);
    if (!refcount.ok()) continue;
    if ((*refcount == 1) != ((l1_entry & kL2Copied) != 0)) {
      ++res_.corruptions;
      Line line;
      line.text.Append("ERROR OFLAG_COPIED L2 cluster: l1_index=")
          .AppendDecimal(i)
          .Append(" l1_entry=");
      AppendPlainHex(line.text, l1_entry);
      line.text.Append(" refcount=").AppendDecimal(*refcount);
      Emit(line);
    }
    if (!Readable(l2_offset, l2_size * entry_bytes)) {
      Line line;
      line.text.Append("ERROR: Could not read L2 table: Input/output error");
      Emit(line);
      ++res_.check_errors;
      return Fail(CheckFailure::kIOError);
    }
    const uint64_t words = EntriesInFile(l2_offset, l2_size * (entry_bytes / 8));
    const uint64_t l2_in_file = DivRoundUp(words, entry_bytes / 8);
    EntryStream l2(image_, l2_offset, l2_in_file * (entry_bytes / 8));
    for (uint64_t j = 0; j < l2_in_file; ++j) {
      INSTAR_ASSIGN_OR_RETURN(const uint64_t l2_entry, l2.Next());
      if (extended_l2_) INSTAR_RETURN_IF_ERROR(l2.Next().status());
      const ClusterType type = TypeOf(l2_entry);
      if (type != ClusterType::kNormal && type != ClusterType::kZeroAlloc) continue;
      uint64_t data_refcount = 1;
      if (!data_file_) {
        Result<uint64_t> r = Refcount((l2_entry & kL2OffsetMask) >> cluster_bits_);
        if (!r.ok()) continue;
        data_refcount = *r;
      }
      if ((data_refcount == 1) != ((l2_entry & kL2Copied) != 0)) {
        ++res_.corruptions;
        Line line;
        line.text.Append("ERROR OFLAG_COPIED data cluster: l2_entry=");
        AppendPlainHex(line.text, l2_entry);
        line.text.Append(" refcount=").AppendDecimal(data_refcount);
        Emit(line);
      }
    }
  }
  return Status::Ok();
}

}  // namespace check_internal

Status CheckQcow2(Image& image, const QemuVersion& compat, Arena& arena, CheckLog& log,
                  CheckResult* result) {
  check_internal::Qcow2Checker checker(static_cast<Qcow2Image&>(image), compat, arena, log, result);
  return checker.Run();
}

}  // namespace instar
