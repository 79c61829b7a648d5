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
// The caches here hold one L2 table and one refcount block, written back
// when another is needed: what reaches the file is the same as qemu's
// larger caches write back later. Data goes through a WriteBatch
// (core/write_batch.h), metadata straight to the device; they never share
// a cluster.
//
// What dd cannot produce is refused as NotSupported: an image with a
// backing file, snapshots, encryption, an external data file, extended L2
// entries, a dirty or corrupt flag, compressed or zero clusters to write
// over, and a refcount table that would have to grow.
#include "qcow2/qcow2_write.h"

#include "core/write_batch.h"
#include "instar/engine/bytes.h"
#include "qcow2/qcow2_internal.h"

namespace instar::qcow2_internal {

namespace {

constexpr uint32_t kMagic = 0x514649fb;
constexpr uint64_t kHeaderBytes = 104;
constexpr uint64_t kIncompatibleCompression = 1u << 3;  // the only one a writer may meet

// One cached metadata cluster: an L2 table or a refcount block.
struct Table {
  uint64_t offset = 0;  // in the file; 0: nothing cached
  uint8_t* data = nullptr;
  bool dirty = false;
};

class Qcow2Writer final : public ImageWriter {
 public:
  explicit Qcow2Writer(WritableDevice& device) : device_(device), batch_(device) {}

  Status Init(Arena& arena);
  Status Write(uint64_t offset, const uint8_t* data, size_t length) override;
  Status Finish() override;

 private:
  uint64_t L2Entries() const { return cluster_size_ / 8; }

  // The caches.
  Status Load(Table& table, uint64_t offset);
  Status WriteBack(Table& table);
  Status LoadL2(uint64_t l1_index);

  // Refcounts.
  uint64_t GetEntry(uint64_t index) const;
  void SetEntry(uint64_t index, uint64_t value);
  Result<uint64_t> GetRefcount(uint64_t cluster);
  Status RefblockFor(uint64_t cluster, bool* again);
  Status UpdateRefcount(uint64_t first, uint64_t count, bool decrease, bool* again);
  Status AllocClustersNoref(uint64_t count, uint64_t* first);
  Status AllocClusters(uint64_t count, uint64_t* first);

  WritableDevice& device_;
  WriteBatch batch_;
  uint32_t cluster_bits_ = 0;
  uint64_t cluster_size_ = 0;
  uint64_t virtual_size_ = 0;
  uint32_t l2_bits_ = 0;
  uint64_t* l1_ = nullptr;
  uint64_t l1_size_ = 0;
  uint64_t l1_offset_ = 0;
  uint64_t* reftable_ = nullptr;
  uint64_t reftable_size_ = 0;
  uint64_t reftable_offset_ = 0;
  uint32_t refcount_order_ = 4;
  uint32_t refblock_bits_ = 0;  // log2 of the entries of a refcount block
  uint64_t refcount_max_ = 0;
  uint64_t free_cluster_index_ = 0;  // s->free_cluster_index: 0 at open
  Table l2_;
  Table refblock_;
  bool finished_ = false;
};

Status Qcow2Writer::Init(Arena& arena) {
  if (!batch_.Init(arena)) return Status::NoSpace("out of memory opening a qcow2 image to write");
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
  if (LoadBE64(header + 8) != 0) {
    return Status::NotSupported(
        "instar cannot write guest data to a qcow2 image with a backing "
        "file yet");
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
  }
  refblock_bits_ = cluster_bits_ + 3 - refcount_order_;
  refcount_max_ = refcount_order_ == 6 ? UINT64_MAX : (uint64_t{1} << (1u << refcount_order_)) - 1;
  // The tables qemu reads at open.
  const uint64_t l2_span_bits = cluster_bits_ + l2_bits_;
  const uint64_t needed_l1 =
      l2_span_bits >= 64 ? 1 : DivRoundUp(virtual_size_, uint64_t{1} << l2_span_bits);
  if (l1_size_ < needed_l1 || reftable_size_ == 0 || reftable_size_ > (uint64_t{1} << 24)) {
    return Status::Corruption("qcow2 writer: the tables do not fit the image");
  }
  l1_ = arena.AllocateArray<uint64_t>(l1_size_ == 0 ? 1 : l1_size_);
  reftable_ = arena.AllocateArray<uint64_t>(reftable_size_);
  l2_.data = arena.AllocateArray<uint8_t>(cluster_size_);
  refblock_.data = arena.AllocateArray<uint8_t>(cluster_size_);
  uint8_t* raw =
      arena.AllocateArray<uint8_t>(8 * (l1_size_ > reftable_size_ ? l1_size_ : reftable_size_));
  if (l1_ == nullptr || reftable_ == nullptr || l2_.data == nullptr || refblock_.data == nullptr ||
      raw == nullptr) {
    return Status::NoSpace("out of memory opening a qcow2 image to write");
  }
  INSTAR_RETURN_IF_ERROR(device_.Read(l1_offset_, raw, 8 * l1_size_));
  for (uint64_t i = 0; i < l1_size_; ++i) l1_[i] = LoadBE64(raw + 8 * i);
  INSTAR_RETURN_IF_ERROR(device_.Read(reftable_offset_, raw, 8 * reftable_size_));
  for (uint64_t i = 0; i < reftable_size_; ++i) reftable_[i] = LoadBE64(raw + 8 * i);
  return Status::Ok();
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

uint64_t Qcow2Writer::GetEntry(uint64_t index) const {
  const uint8_t* b = refblock_.data;
  switch (refcount_order_) {
    case 3:
      return b[index];
    case 4:
      return LoadBE16(b + 2 * index);
    case 5:
      return LoadBE32(b + 4 * index);
    case 6:
      return LoadBE64(b + 8 * index);
    default: {
      const uint32_t bits = 1u << refcount_order_;
      const uint32_t per_byte = 8 >> refcount_order_;
      const uint32_t shift = static_cast<uint32_t>(index % per_byte) * bits;
      return (b[index / per_byte] >> shift) & ((1u << bits) - 1);
    }
  }
}

void Qcow2Writer::SetEntry(uint64_t index, uint64_t value) {
  uint8_t* b = refblock_.data;
  refblock_.dirty = true;
  switch (refcount_order_) {
    case 3:
      b[index] = static_cast<uint8_t>(value);
      return;
    case 4:
      StoreBE16(b + 2 * index, static_cast<uint16_t>(value));
      return;
    case 5:
      StoreBE32(b + 4 * index, static_cast<uint32_t>(value));
      return;
    case 6:
      StoreBE64(b + 8 * index, value);
      return;
    default: {
      const uint32_t bits = 1u << refcount_order_;
      const uint32_t per_byte = 8 >> refcount_order_;
      const uint32_t shift = static_cast<uint32_t>(index % per_byte) * bits;
      const uint32_t mask = ((1u << bits) - 1) << shift;
      uint8_t& byte = b[index / per_byte];
      byte = static_cast<uint8_t>((byte & ~mask) | ((value << shift) & mask));
    }
  }
}

// qcow2_get_refcount(): 0 beyond the table and where no block exists.
Result<uint64_t> Qcow2Writer::GetRefcount(uint64_t cluster) {
  const uint64_t table_index = cluster >> refblock_bits_;
  if (table_index >= reftable_size_) return uint64_t{0};
  const uint64_t block = reftable_[table_index] & kRefcountTableOffsetMask;
  if (block == 0) return uint64_t{0};
  INSTAR_RETURN_IF_ERROR(Load(refblock_, block));
  return GetEntry(cluster & ((uint64_t{1} << refblock_bits_) - 1));
}

// alloc_refcount_block(): the block of `cluster` in the cache, or a new
// block hooked into the table and *again set (qemu's -EAGAIN: the caller
// undoes what it counted and starts over).
Status Qcow2Writer::RefblockFor(uint64_t cluster, bool* again) {
  *again = false;
  const uint64_t table_index = cluster >> refblock_bits_;
  if (table_index < reftable_size_) {
    const uint64_t block = reftable_[table_index] & kRefcountTableOffsetMask;
    if (block != 0) return Load(refblock_, block);
  } else {
    return Status::NotSupported("instar cannot grow a qcow2 refcount table yet");
  }
  uint64_t new_block = 0;
  INSTAR_RETURN_IF_ERROR(AllocClustersNoref(1, &new_block));
  if ((new_block >> refblock_bits_) == table_index) {
    // The block describes itself.
    INSTAR_RETURN_IF_ERROR(WriteBack(refblock_));
    refblock_.offset = new_block << cluster_bits_;
    FillBytes(refblock_.data, 0, cluster_size_);
    SetEntry(new_block & ((uint64_t{1} << refblock_bits_) - 1), 1);
  } else {
    // Described elsewhere: counted first, then initialised.
    bool nested = false;
    INSTAR_RETURN_IF_ERROR(UpdateRefcount(new_block, 1, false, &nested));
    if (nested) {
      *again = true;
      return Status::Ok();
    }
    INSTAR_RETURN_IF_ERROR(WriteBack(refblock_));
    refblock_.offset = new_block << cluster_bits_;
    FillBytes(refblock_.data, 0, cluster_size_);
    refblock_.dirty = true;
  }
  INSTAR_RETURN_IF_ERROR(WriteBack(refblock_));
  reftable_[table_index] = new_block << cluster_bits_;
  uint8_t raw[8];
  StoreBE64(raw, reftable_[table_index]);
  INSTAR_RETURN_IF_ERROR(device_.Write(reftable_offset_ + 8 * table_index, raw, sizeof(raw)));
  *again = true;
  return Status::Ok();
}

// update_refcount() of clusters [first, first + count) by one.
Status Qcow2Writer::UpdateRefcount(uint64_t first, uint64_t count, bool decrease, bool* again) {
  *again = false;
  for (uint64_t cluster = first; cluster < first + count; ++cluster) {
    bool new_block = false;
    INSTAR_RETURN_IF_ERROR(RefblockFor(cluster, &new_block));
    if (new_block) {
      // The caller starts its search over from the same clusters: they may
      // still be free.
      if (free_cluster_index_ > first) free_cluster_index_ = first;
      if (cluster > first) {
        bool ignored = false;
        INSTAR_RETURN_IF_ERROR(UpdateRefcount(first, cluster - first, !decrease, &ignored));
      }
      *again = true;
      return Status::Ok();
    }
    const uint64_t index = cluster & ((uint64_t{1} << refblock_bits_) - 1);
    uint64_t refcount = GetEntry(index);
    if (decrease ? refcount == 0 : refcount == refcount_max_) {
      return Status::Corruption("qcow2 writer: a refcount would overflow");
    }
    refcount = decrease ? refcount - 1 : refcount + 1;
    if (refcount == 0 && cluster < free_cluster_index_) free_cluster_index_ = cluster;
    SetEntry(index, refcount);
  }
  return Status::Ok();
}

// alloc_clusters_noref(): the first run of `count` free clusters from
// free_cluster_index on.
Status Qcow2Writer::AllocClustersNoref(uint64_t count, uint64_t* first) {
  constexpr uint64_t kMaxClusterOffset = (uint64_t{1} << 56) - 1;  // QCOW_MAX_CLUSTER_OFFSET
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t cluster = free_cluster_index_++;
    INSTAR_ASSIGN_OR_RETURN(const uint64_t refcount, GetRefcount(cluster));
    if (refcount != 0) i = UINT64_MAX;  // start over after it (the loop adds one)
  }
  if (free_cluster_index_ > (kMaxClusterOffset >> cluster_bits_)) {
    return Status::NoSpace("qcow2: the image would grow past what qcow2 can address");
  }
  *first = free_cluster_index_ - count;
  return Status::Ok();
}

// qcow2_alloc_clusters().
Status Qcow2Writer::AllocClusters(uint64_t count, uint64_t* first) {
  for (;;) {
    INSTAR_RETURN_IF_ERROR(AllocClustersNoref(count, first));
    bool again = false;
    INSTAR_RETURN_IF_ERROR(UpdateRefcount(*first, count, false, &again));
    if (!again) return Status::Ok();
  }
}

Status Qcow2Writer::Write(uint64_t offset, const uint8_t* data, size_t length) {
  if (finished_) return Status::InvalidArgument("write after the image was closed");
  uint64_t end = 0;
  if (__builtin_add_overflow(offset, length, &end) || end > virtual_size_) {
    return Status::OutOfRange("write past the end of the image");
  }
  const uint64_t l2_entries = L2Entries();
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
    if (entry == 0) {
      // handle_alloc(): the unallocated clusters from here on.
      while (run < touched && LoadBE64(l2 + 8 * (l2_index + run)) == 0) ++run;
      uint64_t first = 0;
      INSTAR_RETURN_IF_ERROR(AllocClusters(run, &first));
      // The allocation may have written the L2 table back; it stays cached.
      const uint64_t host = first << cluster_bits_;
      const uint64_t span = run << cluster_bits_;
      bytes = span - in_cluster < length ? span - in_cluster : length;
      const uint64_t cow_end = in_cluster + bytes;
      if (in_cluster == 0 && cow_end == span) {
        INSTAR_RETURN_IF_ERROR(batch_.Write(host, data, bytes));
      } else if ((offset - in_cluster) + span <= virtual_size_) {
        // is_zero_cow(): both regions unallocated within the disk.
        INSTAR_RETURN_IF_ERROR(batch_.Allocate(host, span));
        INSTAR_RETURN_IF_ERROR(batch_.Write(host + in_cluster, data, bytes));
      } else {
        INSTAR_RETURN_IF_ERROR(batch_.WriteZeros(host, in_cluster));
        INSTAR_RETURN_IF_ERROR(batch_.Write(host + in_cluster, data, bytes));
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
      INSTAR_RETURN_IF_ERROR(batch_.Write(host + in_cluster, data, bytes));
    } else {
      return Status::NotSupported(
          "instar cannot write over a compressed, zero or shared qcow2 "
          "cluster yet");
    }
    offset += bytes;
    data += bytes;
    length -= static_cast<size_t>(bytes);
  }
  return Status::Ok();
}

Status Qcow2Writer::Finish() {
  if (finished_) return Status::InvalidArgument("the image was closed twice");
  finished_ = true;
  INSTAR_RETURN_IF_ERROR(batch_.Flush());
  INSTAR_RETURN_IF_ERROR(WriteBack(l2_));
  INSTAR_RETURN_IF_ERROR(WriteBack(refblock_));
  return device_.Flush();
}

}  // namespace

// The reader's parse is not needed: the writer reads the few header fields
// and tables it keeps from the device itself.
Result<ImageWriter*> OpenQcow2Writer(Image&, WritableDevice& device, const WriterEntropy&,
                                     const QemuVersion&, Arena& arena) {
  auto* writer = arena.New<Qcow2Writer>(device);
  if (writer == nullptr) return Status::NoSpace("out of memory opening a qcow2 image to write");
  INSTAR_RETURN_IF_ERROR(writer->Init(arena));
  return static_cast<ImageWriter*>(writer);
}

}  // namespace instar::qcow2_internal
