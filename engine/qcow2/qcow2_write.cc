// qcow2's writer: qemu's qcow2_co_pwritev_part() for the sequences dd (and
// later convert) issue into an image qcow2's create hook has just written,
// so that the file is the one qemu writes, byte for byte:
//
//   - a write to a cluster range whose L2 table does not exist allocates
//     the table first (l2_allocate: one cluster, written as zeros, then
//     the L1 entry);
//   - a write to unallocated clusters allocates a run of them at once
//     (handle_alloc: as many unallocated clusters as the write touches,
//     within one L2 table), where qcow2_alloc_clusters() puts them;
//   - the parts of the run's first and last cluster the write leaves out
//     (the copy-on-write regions) are, when both read as zeros within the
//     virtual disk, reserved with one fallocate of the whole run before the
//     data is written (handle_alloc_space(): qemu's write_zeroes with
//     BDRV_REQ_NO_FALLBACK, which on a new file's tail is what
//     posix_fallocate(2) leaves: the same bytes and the same st_blocks, so
//     the same actual-size), and otherwise written as zeros around the
//     data (perform_cow() merged into one write): the last cluster of a
//     disk whose size is no multiple of the cluster size;
//   - a write to clusters already allocated (QCOW_OFLAG_COPIED) goes to
//     their place in the file;
//   - each allocation raises the refcounts (update_refcount()); a cluster
//     beyond the existing refcount blocks gets a new block as
//     alloc_refcount_block() places it: at the first free cluster, which
//     describes itself when it lies in its own range, after which the
//     allocation starts over from the same clusters (qemu's -EAGAIN), so
//     the data moves past the new block;
//   - at close (Finish()) the L2 tables and refcount blocks qemu keeps in
//     its caches are written and the file flushed; nothing else changes:
//     a created image has no dirty flag to clear.
//
// The refcounts are qemu's allocator's (Qcow2Allocator, which create,
// resize and amend share). The cache here holds one L2 table, written back
// when another is needed: what reaches the file is the same as qemu's
// larger caches write back later. Data goes through a WriteBatch
// (core/write_batch.h), metadata straight to the device; they never share
// a cluster.
//
// Compressed writes (WriteCompressed(), what `qemu-img convert -c` issues)
// are qcow2_co_pwritev_compressed_part() and _task(): cluster by cluster
// (the disk's short last cluster padded with zeros), each compressed into
// at most cluster_size - 1 bytes, with zlib as raw deflate (engine/deflate)
// or, when the image's compression_type is zstd, with zstd; a cluster that
// does not fit is written as a normal write of the same bytes. A cluster
// that fits goes where qcow2_alloc_compressed_cluster_offset() puts it:
// the L2 table as for a normal write, then qcow2_alloc_bytes() packs the
// data right after the previous compressed cluster's (the allocator's
// free_byte_offset), and the L2 entry gets the compressed flag, the host
// offset and the count of 512-byte sectors the data reaches into past its
// first (csize_shift = 62 - (cluster_bits - 8)). The data itself goes
// through the WriteBatch, so that a run of compressed clusters, which the
// packing makes contiguous, reaches the file in few calls.
//
// A target with a backing file (`qemu-img convert -B`) is written as qemu
// writes it: the reader opened its backing chain (Image::backing()), and
//   - a copy-on-write region of an allocation whose cluster is
//     unallocated in the target reads what the backing file holds there
//     (zeros past its end); when that is not all zeros it is written around
//     the data (perform_cow()), else as without a backing file;
//   - a zero cluster of the target (QCOW_OFLAG_ZERO, no offset) is
//     allocated as an unallocated one is (cluster_needs_new_alloc()), its
//     copy-on-write regions zeros.
//
// Zero writes (WriteZeroes(), convert's zero runs on such a target) are
// bdrv_co_do_pwrite_zeroes() split at cluster boundaries, each piece given
// to qcow2_co_pwrite_zeroes(): a piece of a cluster becomes a zero
// cluster when the rest of that cluster reads as zeros (is_zero(): the
// target's own entry, else the backing chain's block status as qemu asks
// it without want_zero, so a raw layer is data) and the cluster is
// unallocated or zero; whole clusters become zero clusters
// (qcow2_subcluster_zeroize(): the L2 table allocated first where there is
// none), and as convert asks with BDRV_REQ_MAY_UNMAP, an allocated cluster
// is freed on the way (its refcount lowered, the cluster punched out of
// the file, where the next allocation may find it again). Version 2 has no
// zero flag: without a backing file qemu discards instead (an allocated
// cluster freed, an unallocated one left), with one it falls back to
// writing the zeros as data, as it does for a piece it cannot zero.
//
// What dd and convert cannot produce is refused as NotSupported: a backing
// file that was not opened, snapshots, encryption, an external data file,
// extended L2 entries, a dirty or corrupt flag, compressed or allocated
// zero clusters to write data over, compressed or shared clusters to write
// zeroes over, and a refcount table that would have to grow.
#include "qcow2/qcow2_write.h"

#include "core/write_batch.h"
#include "instar/engine/bytes.h"
#include "instar/engine/compare.h"
#include "instar/engine/deflate.h"
#include "instar/engine/zstd.h"
#include "qcow2/qcow2_allocator.h"
#include "qcow2/qcow2_internal.h"

namespace instar::qcow2_internal {

namespace {

constexpr uint32_t kMagic = 0x514649fb;
constexpr uint64_t kHeaderBytes = 105;                  // through compression_type
constexpr uint64_t kIncompatibleCompression = 1u << 3;  // the only one a writer may meet
constexpr uint8_t kCompressionZlib = 0;
constexpr uint8_t kCompressionZstd = 1;

// cluster_needs_new_alloc() of an L2 entry a writer may meet: unallocated,
// or a zero cluster with no offset.
bool NeedsNewAlloc(uint64_t entry) { return entry == 0 || entry == kL2Zero; }

// An allocated cluster a zero write with unmap frees: a data cluster or an
// allocated zero cluster of this image alone (QCOW_OFLAG_COPIED).
bool FreeableOnZero(uint64_t entry) {
  return (entry & (kL2Copied | kL2Compressed)) == kL2Copied && (entry & kL2OffsetMask) != 0;
}

// The cached L2 table.
struct Table {
  uint64_t offset = 0;  // in the file; 0: nothing cached
  uint8_t* data = nullptr;
  bool dirty = false;
};

class Qcow2Writer final : public ImageWriter {
 public:
  explicit Qcow2Writer(WritableDevice& device) : device_(device), batch_(device) {}

  Status Init(Image& image, const QemuVersion& compat, Arena& arena);
  Status Write(uint64_t offset, const uint8_t* data, size_t length) override {
    return WriteData(offset, data, length, false);
  }
  Status WriteLent(uint64_t offset, const uint8_t* data, size_t length) override {
    return WriteData(offset, data, length, true);
  }
  Status WriteCompressed(uint64_t offset, const uint8_t* data, size_t length) override;
  Status WriteZeroes(uint64_t offset, uint64_t length) override;
  Status Finish() override;

 private:
  Status WriteData(uint64_t offset, const uint8_t* data, size_t length, bool lent);
  uint64_t L2Entries() const { return cluster_size_ / 8; }

  // The caches.
  Status Load(Table& table, uint64_t offset);
  Status WriteBack(Table& table);
  Status LoadL2(uint64_t l1_index);

  // qcow2_alloc_clusters() of `count` clusters: the first one's index.
  Status AllocClusters(uint64_t count, uint64_t* first);

  // The L2 entry of guest cluster `cluster`; 0 when its table does not
  // exist (which is not allocated for it).
  Result<uint64_t> L2Entry(uint64_t cluster);
  // qcow2_co_pwritev_compressed_task() of the cluster at `offset`.
  Status WriteCompressedCluster(uint64_t offset, const uint8_t* data, size_t length);
  // qcow2_co_compress(): `in` (one cluster) into compressed_, at most
  // cluster_size_ - 1 bytes; NoSpace when it does not fit.
  Result<size_t> CompressCluster(const uint8_t* in);

  // A copy-on-write region of guest cluster entry `entry` at guest
  // [offset, offset + length) into `out`: the backing file's bytes when
  // the cluster is unallocated in the target and there is one, else zeros.
  // True in *zero when every byte is zero.
  Status ReadCow(uint64_t entry, uint64_t offset, uint64_t length, uint8_t* out, bool* zero);
  // is_zero() of the target: whether guest [offset, offset + length),
  // within one cluster, reads as zeros by block status.
  Result<bool> ReadsAsZero(uint64_t offset, uint64_t length);
  // qcow2_co_pwrite_zeroes() of one piece, with the fallback to data.
  Status ZeroPiece(uint64_t offset, uint64_t length);
  // qcow2_subcluster_zeroize() of whole clusters [offset, offset +
  // length); false in *done where the driver answers -ENOTSUP.
  Status Zeroize(uint64_t offset, uint64_t length, bool* done);
  // The zeros of `length` bytes at `offset` written as data.
  Status WriteZerosAsData(uint64_t offset, uint64_t length);
  // The clusters a zero write freed whose refcount reached 0: the file
  // range qemu discards, joined while they follow each other.
  struct Discards {
    uint64_t offset = 0;
    uint64_t length = 0;
  };
  // qcow2_free_any_cluster() of the data cluster at host offset `host`,
  // its discard added to `discards`.
  Status FreeCluster(uint64_t host, Discards* discards);
  // qcow2_process_discards(): the range in `discards` punched in the file
  // (kZeroRange), and `discards` emptied.
  Status ProcessDiscards(Discards* discards);

  WritableDevice& device_;
  WriteBatch batch_;
  uint32_t cluster_bits_ = 0;
  uint64_t cluster_size_ = 0;
  uint64_t virtual_size_ = 0;
  uint32_t l2_bits_ = 0;
  uint64_t* l1_ = nullptr;
  uint64_t l1_size_ = 0;
  uint64_t l1_offset_ = 0;
  uint64_t reftable_size_ = 0;
  uint64_t reftable_offset_ = 0;
  uint32_t refcount_order_ = 4;
  // The refcounts, as qemu's allocator keeps them (free_cluster_index 0 at
  // open); its table is sized to the image's, so that a table that would
  // have to grow is refused.
  Qcow2Allocator* allocator_ = nullptr;
  Table l2_;
  bool finished_ = false;
  uint32_t version_ = 3;
  QemuVersion compat_;
  // The target's opened backing file, and what its copy-on-write reads
  // take: two regions and ReadGuest()'s scratch arena (the one the writer
  // was opened with, as convert's own reads use it).
  Image* backing_ = nullptr;
  uint8_t* cow_start_ = nullptr;
  uint8_t* cow_end_ = nullptr;
  Arena* arena_ = nullptr;
  // One cluster of zeros, for zeros written as data (taken when needed).
  uint8_t* zeros_ = nullptr;
  // Compressed writes: the image's compression_type, a cluster of zeros
  // padding the disk's short last cluster, the compressed data, and the
  // encoder's scratch memory.
  uint8_t compression_type_ = kCompressionZlib;
  uint8_t* padded_ = nullptr;
  uint8_t* compressed_ = nullptr;
  Arena* encoder_arena_ = nullptr;
};

Status Qcow2Writer::Init(Image& image, const QemuVersion& compat, Arena& arena) {
  compat_ = compat;
  arena_ = &arena;
  if (!batch_.Init(arena)) return Status::NoSpace("out of memory opening a qcow2 image to write");
  // The header's first 105 bytes: a version 2 header is shorter, but its
  // cluster holds them (the header extensions follow it).
  uint8_t header[kHeaderBytes] = {};
  INSTAR_RETURN_IF_ERROR(device_.Read(0, header, sizeof(header)));
  const uint32_t version = LoadBE32(header + 4);
  if (LoadBE32(header) != kMagic || version < 2 || version > 3) {
    return Status::Corruption("qcow2 writer: not an image qcow2's create hook wrote");
  }
  cluster_bits_ = LoadBE32(header + 20);
  if (cluster_bits_ < 9 || cluster_bits_ > 21) {
    return Status::Corruption("qcow2 writer: bad cluster size");
  }
  cluster_size_ = uint64_t{1} << cluster_bits_;
  l2_bits_ = cluster_bits_ - 3;
  virtual_size_ = LoadBE64(header + 24);
  version_ = version;
  if (LoadBE64(header + 8) != 0) {
    backing_ = image.backing();
    if (backing_ == nullptr) {
      return Status::NotSupported(
          "instar cannot write guest data to a qcow2 image whose backing file is not open");
    }
  }
  if (LoadBE32(header + 32) != 0) {
    return Status::NotSupported("instar cannot write guest data to an encrypted qcow2 image");
  }
  if (LoadBE32(header + 60) != 0) {
    return Status::NotSupported("instar cannot write guest data to a qcow2 image with snapshots");
  }
  l1_size_ = LoadBE32(header + 36);
  l1_offset_ = LoadBE64(header + 40);
  reftable_offset_ = LoadBE64(header + 48);
  reftable_size_ = (uint64_t{LoadBE32(header + 56)} << cluster_bits_) / 8;
  if (version >= 3) {
    if ((LoadBE64(header + 72) & ~kIncompatibleCompression) != 0) {
      return Status::NotSupported(
          "instar cannot write guest data to this qcow2 image (incompatible features)");
    }
    refcount_order_ = LoadBE32(header + 96);
    if (refcount_order_ > 6) return Status::Corruption("qcow2 writer: bad refcount order");
    // The compression type is read only where the incompatible bit says
    // it is not zlib (qcow2_read_extensions: a longer header with the bit
    // clear must say zlib).
    if ((LoadBE64(header + 72) & kIncompatibleCompression) != 0) {
      if (LoadBE32(header + 100) < kHeaderBytes) {
        return Status::Corruption("qcow2 writer: compression type bit without the field");
      }
      compression_type_ = header[104];
      if (compression_type_ != kCompressionZstd) {
        return Status::Corruption("qcow2 writer: unknown compression type");
      }
    }
  }
  // The tables qemu reads at open.
  const uint64_t l2_span_bits = cluster_bits_ + l2_bits_;
  const uint64_t needed_l1 =
      l2_span_bits >= 64 ? 1 : DivRoundUp(virtual_size_, uint64_t{1} << l2_span_bits);
  if (l1_size_ < needed_l1 || reftable_size_ == 0 || reftable_size_ > (uint64_t{1} << 24)) {
    return Status::Corruption("qcow2 writer: the tables do not fit the image");
  }
  l1_ = arena.AllocateArray<uint64_t>(l1_size_ == 0 ? 1 : l1_size_);
  l2_.data = arena.AllocateArray<uint8_t>(cluster_size_);
  uint8_t* raw = arena.AllocateArray<uint8_t>(8 * (l1_size_ == 0 ? 1 : l1_size_));
  uint64_t* reftable = arena.AllocateArray<uint64_t>(reftable_size_);
  uint8_t* block_buffers = arena.AllocateArray<uint8_t>(2 * cluster_size_);
  uint8_t* scratch = arena.AllocateArray<uint8_t>(cluster_size_);
  padded_ = arena.AllocateArray<uint8_t>(cluster_size_);
  compressed_ = arena.AllocateArray<uint8_t>(cluster_size_);
  // The encoder's scratch: the image's compression type's.
  const size_t encoder_bytes =
      compression_type_ == kCompressionZstd ? kZstdCompressScratchBytes : kDeflateScratchBytes;
  uint8_t* encoder_memory = arena.AllocateArray<uint8_t>(encoder_bytes);
  encoder_arena_ =
      encoder_memory != nullptr ? arena.New<Arena>(encoder_memory, encoder_bytes) : nullptr;
  if (backing_ != nullptr) {
    cow_start_ = arena.AllocateArray<uint8_t>(cluster_size_);
    cow_end_ = arena.AllocateArray<uint8_t>(cluster_size_);
    if (cow_start_ == nullptr || cow_end_ == nullptr) {
      return Status::NoSpace("out of memory opening a qcow2 image to write");
    }
  }
  if (l1_ == nullptr || l2_.data == nullptr || raw == nullptr || reftable == nullptr ||
      block_buffers == nullptr || scratch == nullptr || padded_ == nullptr ||
      compressed_ == nullptr || encoder_arena_ == nullptr) {
    return Status::NoSpace("out of memory opening a qcow2 image to write");
  }
  INSTAR_RETURN_IF_ERROR(device_.Read(l1_offset_, raw, 8 * l1_size_));
  for (uint64_t i = 0; i < l1_size_; ++i) l1_[i] = LoadBE64(raw + 8 * i);
  allocator_ = arena.New<Qcow2Allocator>(device_, cluster_bits_, refcount_order_, reftable,
                                         reftable_size_, block_buffers, scratch);
  if (allocator_ == nullptr) return Status::NoSpace("out of memory opening a qcow2 image to write");
  return allocator_->Load(reftable_offset_, reftable_size_);
}

Status Qcow2Writer::WriteBack(Table& table) {
  if (!table.dirty) return Status::Ok();
  table.dirty = false;
  return device_.Write(table.offset, table.data, cluster_size_);
}

Status Qcow2Writer::Load(Table& table, uint64_t offset) {
  if (table.offset == offset) return Status::Ok();
  INSTAR_RETURN_IF_ERROR(WriteBack(table));
  table.offset = 0;
  INSTAR_RETURN_IF_ERROR(device_.Read(offset, table.data, cluster_size_));
  table.offset = offset;
  return Status::Ok();
}

// The L2 table of `l1_index` in the cache, allocated as l2_allocate() does
// when the L1 entry is empty.
Status Qcow2Writer::LoadL2(uint64_t l1_index) {
  const uint64_t entry = l1_[l1_index];
  const uint64_t offset = entry & kL1OffsetMask;
  if (offset != 0) {
    if ((entry & kL2Copied) == 0) {
      return Status::NotSupported("instar cannot write through a shared qcow2 L2 table");
    }
    return Load(l2_, offset);
  }
  uint64_t cluster = 0;
  INSTAR_RETURN_IF_ERROR(AllocClusters(1, &cluster));
  INSTAR_RETURN_IF_ERROR(WriteBack(l2_));
  l2_.offset = cluster << cluster_bits_;
  FillBytes(l2_.data, 0, cluster_size_);
  l2_.dirty = true;
  // qemu writes the new table before the L1 entry that points to it.
  INSTAR_RETURN_IF_ERROR(WriteBack(l2_));
  l1_[l1_index] = l2_.offset | kL2Copied;
  uint8_t raw[8];
  StoreBE64(raw, l1_[l1_index]);
  return device_.Write(l1_offset_ + 8 * l1_index, raw, sizeof(raw));
}

Status Qcow2Writer::AllocClusters(uint64_t count, uint64_t* first) {
  INSTAR_ASSIGN_OR_RETURN(const uint64_t offset, allocator_->AllocClusters(count << cluster_bits_));
  *first = offset >> cluster_bits_;
  return Status::Ok();
}

Status Qcow2Writer::WriteData(uint64_t offset, const uint8_t* data, size_t length, bool lent) {
  if (finished_) return Status::InvalidArgument("write after the image was closed");
  uint64_t end = 0;
  if (__builtin_add_overflow(offset, length, &end) || end > virtual_size_) {
    return Status::OutOfRange("write past the end of the image");
  }
  const uint64_t l2_entries = L2Entries();
  // The caller's bytes, lent or not (its COW regions are the writer's own).
  const auto write_data = [this, lent, &data](uint64_t host, uint64_t bytes) {
    return lent ? batch_.WriteLent(host, data, static_cast<size_t>(bytes))
                : batch_.Write(host, data, static_cast<size_t>(bytes));
  };
  while (length > 0) {
    const uint64_t cluster = offset >> cluster_bits_;
    const uint64_t l1_index = cluster >> l2_bits_;
    const uint64_t l2_index = cluster & (l2_entries - 1);
    const uint64_t in_cluster = offset & (cluster_size_ - 1);
    uint64_t touched = DivRoundUp(in_cluster + length, cluster_size_);
    if (touched > l2_entries - l2_index) touched = l2_entries - l2_index;
    INSTAR_RETURN_IF_ERROR(LoadL2(l1_index));
    uint8_t* l2 = l2_.data;
    const uint64_t entry = LoadBE64(l2 + 8 * l2_index);
    uint64_t run = 1;
    uint64_t bytes = 0;
    if (NeedsNewAlloc(entry)) {
      // handle_alloc(): the unallocated (or zero) clusters from here on.
      while (run < touched && NeedsNewAlloc(LoadBE64(l2 + 8 * (l2_index + run)))) ++run;
      const uint64_t last_entry = LoadBE64(l2 + 8 * (l2_index + run - 1));
      uint64_t first = 0;
      INSTAR_RETURN_IF_ERROR(AllocClusters(run, &first));
      // The allocation may have written the L2 table back; it stays cached.
      const uint64_t host = first << cluster_bits_;
      const uint64_t span = run << cluster_bits_;
      bytes = span - in_cluster < length ? span - in_cluster : length;
      const uint64_t cow_end = in_cluster + bytes;
      const uint64_t guest = offset - in_cluster;
      // The regions as qemu reads them: from the backing file, or zeros.
      bool cow_zero = true;
      if (backing_ != nullptr && (in_cluster != 0 || cow_end != span)) {
        bool start_zero = true;
        bool end_zero = true;
        INSTAR_RETURN_IF_ERROR(ReadCow(entry, guest, in_cluster, cow_start_, &start_zero));
        INSTAR_RETURN_IF_ERROR(
            ReadCow(last_entry, guest + cow_end, span - cow_end, cow_end_, &end_zero));
        cow_zero = start_zero && end_zero;
      }
      if (in_cluster == 0 && cow_end == span) {
        INSTAR_RETURN_IF_ERROR(write_data(host, bytes));
      } else if (!cow_zero) {
        // perform_cow(): the regions read from the backing file, written
        // around the data.
        INSTAR_RETURN_IF_ERROR(batch_.Write(host, cow_start_, in_cluster));
        INSTAR_RETURN_IF_ERROR(write_data(host + in_cluster, bytes));
        INSTAR_RETURN_IF_ERROR(batch_.Write(host + cow_end, cow_end_, span - cow_end));
      } else if ((offset - in_cluster) + span <= virtual_size_) {
        // is_zero_cow(): both regions unallocated within the disk.
        INSTAR_RETURN_IF_ERROR(batch_.Allocate(host, span));
        INSTAR_RETURN_IF_ERROR(write_data(host + in_cluster, bytes));
      } else {
        INSTAR_RETURN_IF_ERROR(batch_.WriteZeros(host, in_cluster));
        INSTAR_RETURN_IF_ERROR(write_data(host + in_cluster, bytes));
        INSTAR_RETURN_IF_ERROR(batch_.WriteZeros(host + cow_end, span - cow_end));
      }
      for (uint64_t i = 0; i < run; ++i) {
        StoreBE64(l2 + 8 * (l2_index + i), (host + (i << cluster_bits_)) | kL2Copied);
      }
      l2_.dirty = true;
    } else if ((entry & (kL2Copied | kL2Compressed | kL2Zero)) == kL2Copied) {
      // handle_copied(): the run of clusters that follow in the file.
      const uint64_t host = entry & kL2OffsetMask;
      while (run < touched &&
             LoadBE64(l2 + 8 * (l2_index + run)) == ((host + (run << cluster_bits_)) | kL2Copied)) {
        ++run;
      }
      const uint64_t span = run << cluster_bits_;
      bytes = span - in_cluster < length ? span - in_cluster : length;
      INSTAR_RETURN_IF_ERROR(write_data(host + in_cluster, bytes));
    } else {
      return Status::NotSupported(
          "instar cannot write over a compressed, allocated zero or shared qcow2 "
          "cluster yet");
    }
    offset += bytes;
    data += bytes;
    length -= static_cast<size_t>(bytes);
  }
  return Status::Ok();
}

Status Qcow2Writer::WriteCompressed(uint64_t offset, const uint8_t* data, size_t length) {
  if (finished_) return Status::InvalidArgument("write after the image was closed");
  // qemu-img convert's last compressed write has no bytes: qcow2 then
  // truncates the file to its own length, which changes nothing.
  if (length == 0) return Status::Ok();
  uint64_t end = 0;
  if (__builtin_add_overflow(offset, length, &end) || end > virtual_size_) {
    return Status::OutOfRange("write past the end of the image");
  }
  if ((offset & (cluster_size_ - 1)) != 0) {
    return Status::InvalidArgument("qcow2: a compressed write must start on a cluster");
  }
  // Only the disk's last cluster may be short.
  if ((length & (cluster_size_ - 1)) != 0 && end != virtual_size_) {
    return Status::InvalidArgument("qcow2: a compressed write must cover whole clusters");
  }
  // Every cluster must be one nothing has written: qemu fails the cluster
  // that is not ("Compression can't overwrite anything") after writing
  // those before it; here nothing is written then.
  for (uint64_t at = offset; at < end; at += cluster_size_) {
    INSTAR_ASSIGN_OR_RETURN(const uint64_t entry, L2Entry(at >> cluster_bits_));
    if ((entry & kL2OffsetMask) != 0) {
      return Status::InvalidArgument("qcow2: a compressed write to a cluster already written");
    }
  }
  while (length > 0) {
    const size_t bytes = length < cluster_size_ ? length : static_cast<size_t>(cluster_size_);
    INSTAR_RETURN_IF_ERROR(WriteCompressedCluster(offset, data, bytes));
    offset += bytes;
    data += bytes;
    length -= bytes;
  }
  return Status::Ok();
}

Result<uint64_t> Qcow2Writer::L2Entry(uint64_t cluster) {
  const uint64_t table = l1_[cluster >> l2_bits_] & kL1OffsetMask;
  if (table == 0) return uint64_t{0};
  INSTAR_RETURN_IF_ERROR(Load(l2_, table));
  return LoadBE64(l2_.data + 8 * (cluster & (L2Entries() - 1)));
}

Result<size_t> Qcow2Writer::CompressCluster(const uint8_t* in) {
  if (compression_type_ == kCompressionZstd) {
    // qcow2_zstd_compress(): one frame, NoSpace when it does not fit.
    return ZstdCompress(in, cluster_size_, compressed_, cluster_size_ - 1, *encoder_arena_);
  }
  // qcow2_zlib_compress(): raw deflate, a 4 KiB window.
  return Deflate(in, cluster_size_, compressed_, cluster_size_ - 1, *encoder_arena_);
}

Status Qcow2Writer::WriteCompressedCluster(uint64_t offset, const uint8_t* data, size_t length) {
  const uint8_t* in = data;
  if (length < cluster_size_) {
    CopyBytes(padded_, data, length);
    FillBytes(padded_ + length, 0, cluster_size_ - length);
    in = padded_;
  }
  const Result<size_t> packed = CompressCluster(in);
  if (!packed.ok()) {
    // No smaller than the cluster: a normal write of the guest bytes.
    if (packed.status().code() == StatusCode::kNoSpace) return Write(offset, data, length);
    return packed.status();
  }
  const uint64_t size = *packed;

  // qcow2_alloc_compressed_cluster_offset().
  const uint64_t cluster = offset >> cluster_bits_;
  const uint64_t l2_index = cluster & (L2Entries() - 1);
  INSTAR_RETURN_IF_ERROR(LoadL2(cluster >> l2_bits_));
  INSTAR_ASSIGN_OR_RETURN(const uint64_t host, allocator_->AllocBytes(size));
  const uint32_t csize_shift = 62 - (cluster_bits_ - 8);
  const uint64_t sectors = (host + size - 1) / 512 - host / 512;
  if (host >= (uint64_t{1} << csize_shift) || sectors >= (uint64_t{1} << (cluster_bits_ - 8))) {
    return Status::OutOfRange("qcow2: compressed cluster offset out of range");
  }
  StoreBE64(l2_.data + 8 * l2_index, host | kL2Compressed | (sectors << csize_shift));
  l2_.dirty = true;
  return batch_.Write(host, compressed_, size);
}

Status Qcow2Writer::ReadCow(uint64_t entry, uint64_t offset, uint64_t length, uint8_t* out,
                            bool* zero) {
  *zero = true;
  if (length == 0) return Status::Ok();
  if (entry != 0 || backing_ == nullptr) {
    FillBytes(out, 0, length);
    return Status::Ok();
  }
  INSTAR_RETURN_IF_ERROR(ReadBackingGuest(*backing_, offset, length, out, compat_, *arena_));
  for (uint64_t i = 0; i < length; ++i) {
    if (out[i] != 0) {
      *zero = false;
      break;
    }
  }
  return Status::Ok();
}

Result<bool> Qcow2Writer::ReadsAsZero(uint64_t offset, uint64_t length) {
  if (length == 0) return true;
  INSTAR_ASSIGN_OR_RETURN(const uint64_t entry, L2Entry(offset >> cluster_bits_));
  if ((entry & kL2Zero) != 0 && (entry & kL2Compressed) == 0) return true;
  if (entry != 0) return false;
  // Unallocated here: the chain below answers, each layer asked alone; a
  // layer shorter than the run reads zeros (bdrv_co_common_block_status_
  // above() makes them allocated zeros), and a raw layer is data to a
  // query without want_zero.
  for (Image* layer = backing_; layer != nullptr; layer = layer->backing()) {
    if (offset >= AlignUp(layer->VirtualSize(), uint64_t{512})) return true;
    if (layer->format() == ImageFormat::kRaw) return false;
    INSTAR_ASSIGN_OR_RETURN(const BlockStatus status,
                            LayerBlockStatus(*layer, offset, length, compat_));
    if (status.bytes < length) return false;
    if ((status.flags & block_status::kZero) != 0) return true;
    if ((status.flags & (block_status::kData | block_status::kAllocated)) != 0) return false;
  }
  return true;
}

Status Qcow2Writer::WriteZerosAsData(uint64_t offset, uint64_t length) {
  // bdrv_co_do_pwrite_zeroes()'s bounce buffer, one cluster at a time:
  // the pieces are cluster-aligned but for the first and the last, so the
  // clusters are allocated in the same order as by one write. The zeros
  // are taken at the first such write (dd never makes one).
  if (zeros_ == nullptr) {
    zeros_ = arena_->AllocateArray<uint8_t>(cluster_size_);
    if (zeros_ == nullptr) return Status::NoSpace("out of memory for a qcow2 zero write");
    FillBytes(zeros_, 0, cluster_size_);
  }
  while (length > 0) {
    uint64_t count = cluster_size_ - (offset & (cluster_size_ - 1));
    if (count > length) count = length;
    INSTAR_RETURN_IF_ERROR(Write(offset, zeros_, static_cast<size_t>(count)));
    offset += count;
    length -= count;
  }
  return Status::Ok();
}

Status Qcow2Writer::Zeroize(uint64_t offset, uint64_t length, bool* done) {
  *done = false;
  // No zero flag before version 3: with a backing file that is -ENOTSUP;
  // without one qemu discards instead (qcow2_cluster_discard(), not a full
  // discard), which leaves an unallocated cluster as it is (after
  // allocating its L2 table) and frees an allocated one.
  if (version_ < 3 && backing_ != nullptr) return Status::Ok();
  const uint64_t end = offset + length;
  // Every entry is looked at before any changes, so that a run refused
  // here is left as it was for the zeros written as data.
  for (uint64_t at = offset; at < end; at += cluster_size_) {
    INSTAR_ASSIGN_OR_RETURN(const uint64_t entry, L2Entry(at >> cluster_bits_));
    if (entry != 0 && entry != kL2Zero && !FreeableOnZero(entry)) {
      return Status::NotSupported(
          "instar cannot write zeroes over a compressed or shared qcow2 cluster yet");
    }
  }
  // zero_in_l2_slice() with BDRV_REQ_MAY_UNMAP (discard_in_l2_slice() for
  // version 2): an allocated cluster, data or zero, becomes a zero cluster
  // without an offset (unallocated in version 2), then is freed
  // (qcow2_free_any_cluster(), QCOW2_DISCARD_REQUEST); a cluster whose
  // refcount reaches 0 is discarded in the file, which qemu-img's target
  // (opened with BDRV_O_UNMAP) passes down as a hole punched, all of them
  // at the end of the call (qcow2_process_discards()).
  Discards discards;
  for (uint64_t at = offset; at < end; at += cluster_size_) {
    const uint64_t cluster = at >> cluster_bits_;
    INSTAR_RETURN_IF_ERROR(LoadL2(cluster >> l2_bits_));
    uint8_t* slot = l2_.data + 8 * (cluster & (L2Entries() - 1));
    const uint64_t entry = LoadBE64(slot);
    const bool unmap = FreeableOnZero(entry);
    const uint64_t next = version_ >= 3 ? kL2Zero : 0;
    if (entry == next || (!unmap && version_ < 3)) continue;
    StoreBE64(slot, next);
    l2_.dirty = true;
    if (unmap) INSTAR_RETURN_IF_ERROR(FreeCluster(entry & kL2OffsetMask, &discards));
  }
  INSTAR_RETURN_IF_ERROR(ProcessDiscards(&discards));
  *done = true;
  return Status::Ok();
}

Status Qcow2Writer::FreeCluster(uint64_t host, Discards* discards) {
  INSTAR_RETURN_IF_ERROR(allocator_->FreeClusters(host, cluster_size_));
  INSTAR_ASSIGN_OR_RETURN(const uint64_t refcount, allocator_->GetRefcount(host >> cluster_bits_));
  if (refcount != 0) return Status::Ok();
  // update_refcount_discard(): joined with the range it touches.
  if (discards->length != 0 && host == discards->offset + discards->length) {
    discards->length += cluster_size_;
    return Status::Ok();
  }
  INSTAR_RETURN_IF_ERROR(ProcessDiscards(discards));
  *discards = Discards{host, cluster_size_};
  return Status::Ok();
}

Status Qcow2Writer::ProcessDiscards(Discards* discards) {
  const Discards range = *discards;
  *discards = Discards{};
  if (range.length == 0) return Status::Ok();
  // What the batch holds reaches the file first; the hole is punched after
  // it. A device that cannot punch one leaves the cluster's bytes, as
  // qemu ignores a discard that fails: the cluster is free either way.
  INSTAR_RETURN_IF_ERROR(batch_.Flush());
  const Status punched = device_.ZeroRange(range.offset, range.length);
  return punched.code() == StatusCode::kNotSupported ? Status::Ok() : punched;
}

Status Qcow2Writer::ZeroPiece(uint64_t offset, uint64_t length) {
  const uint64_t head = offset & (cluster_size_ - 1);
  const uint64_t end = offset + length;
  uint64_t tail =
      (end & (cluster_size_ - 1)) == 0 ? 0 : cluster_size_ - (end & (cluster_size_ - 1));
  if (end == virtual_size_) tail = 0;
  uint64_t start = offset;
  uint64_t bytes = length;
  if (head != 0 || tail != 0) {
    // The rest of the cluster must already read as zeros, and the cluster
    // be unallocated or zero: then all of it becomes a zero cluster.
    INSTAR_ASSIGN_OR_RETURN(const bool head_zero, ReadsAsZero(offset - head, head));
    INSTAR_ASSIGN_OR_RETURN(const bool tail_zero, ReadsAsZero(end, tail));
    INSTAR_ASSIGN_OR_RETURN(const uint64_t entry, L2Entry(offset >> cluster_bits_));
    // (qcow2_co_pwrite_zeroes(): the cluster unallocated or a zero one,
    // allocated or not.)
    const bool zero_type = entry == 0 || ((entry & kL2Zero) != 0 && (entry & kL2Compressed) == 0);
    if (!head_zero || !tail_zero || !zero_type) {
      return WriteZerosAsData(offset, length);
    }
    start = offset - head;
    bytes = cluster_size_;
  }
  bool done = false;
  INSTAR_RETURN_IF_ERROR(Zeroize(start, bytes, &done));
  if (!done) return WriteZerosAsData(offset, length);
  return Status::Ok();
}

Status Qcow2Writer::WriteZeroes(uint64_t offset, uint64_t length) {
  if (finished_) return Status::InvalidArgument("write after the image was closed");
  uint64_t end = 0;
  if (__builtin_add_overflow(offset, length, &end) || end > virtual_size_) {
    return Status::OutOfRange("write past the end of the image");
  }
  // bdrv_co_do_pwrite_zeroes(): a head up to the first cluster boundary,
  // whole clusters, and a tail, each a request of its own.
  uint64_t head = offset & (cluster_size_ - 1);
  const uint64_t tail = end & (cluster_size_ - 1);
  while (length > 0) {
    uint64_t count = length;
    if (head != 0) {
      if (count > cluster_size_ - head) count = cluster_size_ - head;
      head = (head + count) & (cluster_size_ - 1);
    } else if (tail != 0 && count > cluster_size_) {
      count -= tail;
    }
    INSTAR_RETURN_IF_ERROR(ZeroPiece(offset, count));
    offset += count;
    length -= count;
  }
  return Status::Ok();
}

Status Qcow2Writer::Finish() {
  if (finished_) return Status::InvalidArgument("the image was closed twice");
  finished_ = true;
  INSTAR_RETURN_IF_ERROR(batch_.Flush());
  INSTAR_RETURN_IF_ERROR(WriteBack(l2_));
  INSTAR_RETURN_IF_ERROR(allocator_->FlushBlocks());
  return device_.Flush();
}

}  // namespace

// The reader's parse is not needed: the writer reads the few header fields
// and tables it keeps from the device itself.
Result<ImageWriter*> OpenQcow2Writer(Image& image, WritableDevice& device, const WriterEntropy&,
                                     const QemuVersion& compat, Arena& arena) {
  auto* writer = arena.New<Qcow2Writer>(device);
  if (writer == nullptr) return Status::NoSpace("out of memory opening a qcow2 image to write");
  INSTAR_RETURN_IF_ERROR(writer->Init(image, compat, arena));
  return static_cast<ImageWriter*>(writer);
}

}  // namespace instar::qcow2_internal
