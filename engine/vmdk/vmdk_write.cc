// The vmdk guest-data writer: block/vmdk.c vmdk_pwritev, get_cluster_offset
// (allocate = true), get_whole_cluster, vmdk_write_extent, vmdk_L2update,
// vmdk_write_cid and vmdk_co_pwritev_compressed, the same in every release
// of the matrix (5.2 to 11.1), for the images our create hook makes, of
// every subformat, over a parent or not: monolithicSparse and streamOptimized
// (one hosted sparse extent in the image file), monolithicFlat (one flat
// extent in a file of its own), twoGbMaxExtentSparse and
// twoGbMaxExtentFlat (a sparse or flat extent per 2 GiB, each in a file
// of its own). The files beside the image are other outputs of the
// command, reached through WritableDevice::OpenSibling() when the writer
// first writes into them.
//
// A write is cut at the extents' boundaries, and each piece goes to its
// extent at its offset within it (qemu's find_extent, and
// vmdk_find_offset_in_cluster). A flat extent takes its piece as it comes,
// at the extent's flat_offset. A sparse extent is written as follows.
//
// Sparse extents. A piece is cut at grain boundaries. For each piece:
//  * The grain table of its directory entry (qemu's create writes every
//    one) gives the grain's sector. An allocated grain (not 0, and not 1
//    when the extent has zeroed grains) is written in place.
//  * Otherwise the grain goes at next_cluster_sector: at open, the image
//    extent file's length in sectors rounded up to whole grains (each
//    extent has its own); each allocation moves it by a grain. The grain
//    is written whole, as get_whole_cluster writes it: before and after
//    the piece, zeros, or with a parent (the backing file, whose CID must
//    be the image's parentCID) the parent's bytes at the grain's offset
//    within its extent, unless the grain was a zeroed one; then the piece. Then the grain's sector
//    goes into the grain table entry, and into the same entry of the redundant grain table (the one
//    the redundant directory names), little endian.
// A compressed write (vmdk_co_pwritev_compressed) is an ordinary write.
//
// streamOptimized (a compressed extent with markers). Every write, with or
// without BDRV_REQ_WRITE_COMPRESSED, takes the same path in vmdk_pwritev:
//  * A grain already allocated is refused: qemu prints "Could not write to
//    allocated cluster for streamOptimized" and fails with EIO.
//  * A piece that is not a whole grain (the disk's last grain may be
//    short) fails with EINVAL (vmdk_write_extent). qemu finds that only
//    after it has allocated the grain and written its zeros; the writer
//    finds it first and writes nothing (dd and convert discard the file).
//  * The grain goes at next_cluster_sector. get_whole_cluster writes a
//    grain of zeros there, then vmdk_write_extent writes a grain marker:
//    the grain's first sector (8 bytes), the zlib stream's length (4
//    bytes), then the stream (zlib's compress(), a 2-grain buffer). The
//    next grain starts at the sector after the stream's end, which may be
//    inside those zeros or past them. Then vmdk_L2update, as above.
// Of each grain's zeros, only the padding of the stream to its sector
// survives, and the tail behind the last grain: the writer writes the
// padding with the grain and the tail at Finish(), which leaves the bytes
// (and the written blocks) qemu leaves, without writing each grain twice.
// qemu writes no footer, no end-of-stream marker and no grain table
// markers: the header at sector 0 keeps the directory offsets create gave
// it, and the grain tables stay where create put them.
//
// Every subformat: after the first piece of the first write since the
// image was opened, vmdk_write_cid: the descriptor's 20 sectors (at 0x200
// of a monolithicSparse or streamOptimized file, at 0 of a descriptor
// file) are read,
// the text after "CID=" up to "parentCID" is replaced by the new CID in
// lower-case hex without leading zeros and a newline, and all 20 sectors
// are written back (the bytes after the text's new end are whatever was
// there, as qemu leaves its buffer).
//
// Through the sandbox every device call is a call to the host, so the
// writer keeps what qemu keeps in memory and more: an extent's grain
// directory and its redundant copy are read once, at its first write
// (create wrote them; a write never changes them), the grain table of the grain being written and
// its redundant copy are kept and written back (the span of entries that changed) when a write
// moves to another table or extent and at Finish(), and the grains go through one WriteBatch, which
// moves with the writes from file to file. The file is the one qemu's writes leave.
//
// vmdk_close writes nothing. `qemu-img convert` ends a compressed
// conversion (-c, or a streamOptimized target, whose bdrv_get_info sets
// needs_compressed_writes) with a compressed write of 0 bytes, on which
// vmdk rounds every extent file's length up to a whole sector: Finish() does that
// after any compressed write, and always for a streamOptimized image (a
// convert into one is always compressed). Then it flushes.
#include "vmdk/vmdk_write.h"

#include <new>

#include "core/write_batch.h"
#include "instar/engine/bytes.h"
#include "instar/engine/compare.h"
#include "instar/engine/deflate.h"
#include "instar/engine/vmdk.h"
#include "vmdk/vmdk_text.h"

namespace instar::vmdk {

namespace {

constexpr size_t kDescriptorBytes = 20 * 512;  // qemu's DESC_SIZE
constexpr uint64_t kMaxExtentSectors = uint64_t{1} << 32;
constexpr uint32_t kZeroedGrain = 1;       // VMDK_GTE_ZEROED
constexpr size_t kGrainMarkerBytes = 12;   // VmdkGrainMarker: lba, size
constexpr uint64_t kZerosBytes = 1 << 20;  // WriteZeroes()' writes of zeros

// What vmdk_pwritev prints (error_report()) before it fails with EIO.
constexpr char kAllocatedStreamGrain[] = "Could not write to allocated cluster for streamOptimized";

// Where `needle` (NUL-terminated) first occurs in the NUL-terminated
// `text`, as strstr() finds it; null when nowhere.
char* FindText(char* text, const char* needle) {
  size_t needle_length = 0;
  while (needle[needle_length] != '\0') ++needle_length;
  for (char* p = text; *p != '\0'; ++p) {
    size_t i = 0;
    while (i < needle_length && p[i] == needle[i]) ++i;
    if (i == needle_length) return p;
  }
  return nullptr;
}

// vmdk_write_cid() on the descriptor at `offset` of `device`, with
// `descriptor` and `tail` kDescriptorBytes each. qemu writes its 20-sector
// buffer back whole; from 7.x on (7.2 in the matrix) the write reaches
// no further than the file's end rounded up to a sector, which only a
// descriptor file shorter than 20 sectors (a monolithicFlat's) shows: 5.2
// leaves it 10240 bytes long, 7.2 and later 512 for a descriptor of 512
// bytes or less.
Status WriteDescriptorCid(WritableDevice& device, uint64_t offset, uint32_t new_cid,
                          const QemuVersion& compat, char* descriptor, char* tail) {
  INSTAR_RETURN_IF_ERROR(device.Read(offset, descriptor, kDescriptorBytes));
  descriptor[kDescriptorBytes - 1] = '\0';
  char* parent = FindText(descriptor, "parentCID");
  if (parent == nullptr) return Status::InvalidArgument("vmdk: no parentCID in the descriptor");
  size_t tail_length = 0;
  while (parent[tail_length] != '\0') {
    tail[tail_length] = parent[tail_length];
    ++tail_length;
  }
  char* cid = FindText(descriptor, "CID");
  if (cid != nullptr) {
    char* p = cid + 4;  // past "CID" and the character after it
    const char* end = descriptor + kDescriptorBytes;
    char hex[8];
    const size_t digits = PrintHex32(new_cid, hex);
    // snprintf of "%x\n" into what is left of the buffer, then pstrcat
    // of the text from "parentCID" on, both truncating at its end.
    size_t room = static_cast<size_t>(end - p);
    size_t at = 0;
    auto put = [&](char c) {
      if (at + 1 < room) p[at++] = c;
    };
    for (size_t i = 0; i < digits; ++i) put(hex[i]);
    put('\n');
    for (size_t i = 0; i < tail_length; ++i) put(tail[i]);
    if (room > 0) p[at] = '\0';
  }
  uint64_t length = kDescriptorBytes;
  if (compat.AtLeast(7, 0)) {
    const uint64_t file_end = AlignUp(device.Size(), 512);
    length = file_end <= offset ? 0 : file_end - offset < length ? file_end - offset : length;
  }
  return device.Write(offset, descriptor, static_cast<size_t>(length));
}

// The buffers a streamOptimized image needs on top of the others.
struct StreamBuffers {
  uint8_t* marker = nullptr;  // kGrainMarkerBytes + 2 grains (qemu's buf_len)
  size_t marker_capacity = 0;
  Arena* scratch = nullptr;  // the encoder's tables
};

// One extent of the image, and what the writer keeps of it: its file
// (opened at its first write), and for a sparse extent the directories
// (read then) and where its next grain goes.
struct ExtentState {
  const VmdkExtent* extent = nullptr;
  uint64_t start = 0;  // guest bytes
  uint64_t end = 0;
  WritableDevice* file = nullptr;
  uint64_t next_sector = 0;  // qemu's next_cluster_sector
  // The directories, little endian as in the file; rgd null without a
  // redundant directory.
  uint8_t* gd = nullptr;
  uint8_t* rgd = nullptr;
  // A stream extent: the end of the zeros get_whole_cluster wrote for the
  // last grain (from next_sector on, nothing else is there yet).
  uint64_t zero_end = 0;
  uint64_t written_end = 0;  // the end of the last grain written, or 0
};

class VmdkWriter final : public ImageWriter {
 public:
  VmdkWriter(WritableDevice& device, const VmdkImage& image, ExtentState* extents,
             const WriterEntropy& entropy, const QemuVersion& compat, uint8_t* grain,
             size_t zeros_bytes, uint64_t zero_alignment, char* descriptor, char* tail,
             const StreamBuffers& stream)
      : device_(device),
        compat_(compat),
        batch_(device),
        extents_(extents),
        extent_count_(image.extent_count()),
        virtual_size_(image.VirtualSize()),
        descriptor_offset_(image.descriptor_offset()),
        new_cid_(LoadLE32(entropy.random)),
        grain_(grain),
        zeros_bytes_(zeros_bytes),
        zero_alignment_(zero_alignment > 512 ? zero_alignment : 512),
        descriptor_(descriptor),
        tail_(tail),
        stream_(stream) {}

  // The batch's buffer, and the held tables, of `table_bytes` (the
  // largest sparse extent's); with `parent` (the backing file), a grain's
  // buffer for what is copied from it.
  bool Init(Arena& arena, size_t table_bytes, Image* parent, size_t grain_bytes) {
    arena_ = &arena;
    parent_ = parent;
    if (parent != nullptr && grain_bytes > 0) {
      cow_ = arena.AllocateArray<uint8_t>(grain_bytes);
      if (cow_ == nullptr) return false;
    }
    if (table_bytes > 0) {
      gt_ = arena.AllocateArray<uint8_t>(table_bytes);
      rgt_ = arena.AllocateArray<uint8_t>(table_bytes);
      if (gt_ == nullptr || rgt_ == nullptr) return false;
    }
    return batch_.Init(arena);
  }

  Status Write(uint64_t offset, const uint8_t* data, size_t length) override {
    if (finished_) return Status::InvalidArgument("vmdk: write after the image was closed");
    uint64_t end;
    if (__builtin_add_overflow(offset, length, &end) || end > virtual_size_) {
      return Status::InvalidArgument("vmdk: write past the end of the virtual disk");
    }
    // vmdk_pwritev: a piece per grain of a sparse extent, per extent for a
    // flat one; the CID after the first.
    while (length > 0) {
      INSTAR_RETURN_IF_ERROR(Activate(offset));
      ExtentState& e = extents_[active_];
      const VmdkExtent& extent = *e.extent;
      const uint64_t at = offset - e.start;  // within the extent
      uint64_t room = e.end - offset;
      if (extent.kind == VmdkExtentKind::kFlat) {
        const size_t n = length < room ? length : static_cast<size_t>(room);
        INSTAR_RETURN_IF_ERROR(batch_.Write(extent.flat_offset + at, data, n));
        room = n;
      } else {
        const uint64_t grain_bytes = extent.cluster_sectors * 512;
        const uint64_t in_grain = at % grain_bytes;
        if (grain_bytes - in_grain < room) room = grain_bytes - in_grain;
        const size_t n = length < room ? length : static_cast<size_t>(room);
        if (extent.compressed) {
          INSTAR_RETURN_IF_ERROR(WriteStreamGrain(e, offset, at, in_grain, data, n));
        } else {
          uint64_t grain_offset = 0;
          INSTAR_RETURN_IF_ERROR(GrainFor(e, at, in_grain, in_grain + n, &grain_offset));
          INSTAR_RETURN_IF_ERROR(batch_.Write(grain_offset + in_grain, data, n));
          if (pending_entry_ != 0) UpdateTables(grain_offset / 512);
        }
        room = n;
      }
      offset += room;
      data += room;
      length -= static_cast<size_t>(room);
      INSTAR_RETURN_IF_ERROR(UpdateCidOnce());
    }
    return Status::Ok();
  }

  // blk_co_pwrite_zeroes() as the block layer runs it on vmdk
  // (bdrv_co_do_pwrite_zeroes): cut at the grain alignment (a head up to
  // the first aligned offset, the aligned middle, the tail), each piece
  // first to vmdk_co_pwrite_zeroes, which marks whole grains zeroed in
  // their tables when every one of the piece is a whole grain of a sparse
  // extent with zeroed grains (a dry run first), and otherwise refuses
  // (ENOTSUP); then the fallback, zeros written as data, 16 MiB at a time
  // (MAX_BOUNCE_BUFFER), each write as Write() makes it.
  Status WriteZeroes(uint64_t offset, uint64_t length) override {
    if (finished_) return Status::InvalidArgument("vmdk: write after the image was closed");
    uint64_t end;
    if (__builtin_add_overflow(offset, length, &end) || end > virtual_size_) {
      return Status::InvalidArgument("vmdk: write past the end of the virtual disk");
    }
    constexpr uint64_t kMaxBounce = uint64_t{16} << 20;
    uint64_t head = offset % zero_alignment_;
    const uint64_t tail = end % zero_alignment_;
    while (length > 0) {
      uint64_t n = length;
      if (head != 0) {
        n = length < zero_alignment_ - head ? length : zero_alignment_ - head;
        if (n > kMaxBounce) n = kMaxBounce;
        head = (head + n) % zero_alignment_;
      } else if (tail != 0 && n > zero_alignment_) {
        n -= tail;
      }
      INSTAR_ASSIGN_OR_RETURN(const bool zeroed, MarkZeroed(offset, n, /*dry_run=*/true));
      if (zeroed) {
        INSTAR_RETURN_IF_ERROR(MarkZeroed(offset, n, /*dry_run=*/false).status());
      } else {
        if (n > kMaxBounce) n = kMaxBounce;
        for (uint64_t done = 0; done < n;) {
          const uint64_t chunk = n - done < zeros_bytes_ ? n - done : zeros_bytes_;
          INSTAR_RETURN_IF_ERROR(Write(offset + done, grain_, static_cast<size_t>(chunk)));
          done += chunk;
        }
      }
      offset += n;
      length -= n;
    }
    return Status::Ok();
  }

  // vmdk_co_pwritev_compressed: vmdk_co_pwritev, whatever the image.
  Status WriteCompressed(uint64_t offset, const uint8_t* data, size_t length) override {
    compressed_writes_ = true;
    return Write(offset, data, length);
  }

  // vmdk_co_get_info(): a compressed first extent.
  bool NeedsCompressedWrites() const override { return extents_[0].extent->compressed; }

  Status Finish() override {
    if (finished_) return device_.Flush();
    finished_ = true;
    INSTAR_RETURN_IF_ERROR(WriteBackTables());
    // The zeros get_whole_cluster wrote behind the last stream grain.
    if (active_ < extent_count_) {
      const ExtentState& e = extents_[active_];
      const uint64_t grain_bytes = e.extent->cluster_sectors * 512;
      for (uint64_t at = e.next_sector * 512; e.extent->compressed && at < e.zero_end;) {
        const uint64_t n = e.zero_end - at < grain_bytes ? e.zero_end - at : grain_bytes;
        INSTAR_RETURN_IF_ERROR(batch_.Write(at, grain_, static_cast<size_t>(n)));
        at += n;
      }
    }
    INSTAR_RETURN_IF_ERROR(batch_.Flush());
    for (size_t i = 0; i < extent_count_; ++i) {
      const ExtentState& e = extents_[i];
      if (e.file == nullptr) continue;
      // convert's compressed write of 0 bytes: each extent file's end to a
      // sector.
      if ((compressed_writes_ || e.extent->compressed) && e.written_end % 512 != 0) {
        INSTAR_RETURN_IF_ERROR(e.file->Truncate(AlignUp(e.written_end, 512)));
      }
      if (e.file != &device_) INSTAR_RETURN_IF_ERROR(e.file->Flush());
    }
    return device_.Flush();
  }

 private:
  // Makes the extent holding guest byte `offset` the one written: the
  // tables and the batch of the one before go to their file first, and an
  // extent written for the first time has its file opened and its
  // directories read.
  Status Activate(uint64_t offset) {
    if (active_ < extent_count_ && offset >= extents_[active_].start &&
        offset < extents_[active_].end) {
      return Status::Ok();
    }
    size_t i = 0;
    while (i < extent_count_ && offset >= extents_[i].end) ++i;
    if (i == extent_count_) return Status::InvalidArgument("vmdk: no extent holds the write");
    INSTAR_RETURN_IF_ERROR(WriteBackTables());
    gt_l1_ = UINT64_MAX;
    ExtentState& e = extents_[i];
    if (e.file == nullptr) INSTAR_RETURN_IF_ERROR(OpenExtent(e));
    INSTAR_RETURN_IF_ERROR(batch_.SwitchTo(*e.file));
    active_ = i;
    return Status::Ok();
  }

  // vmdk_pwritev(zeroed = true) over [offset, offset + length): false
  // (qemu's ENOTSUP) unless every piece is a whole grain of a sparse,
  // uncompressed extent with zeroed grains; a dry run changes nothing,
  // else each grain's table entry not zeroed yet becomes 1 (an allocated
  // grain's too: qemu drops it), and the CID follows the first piece.
  Result<bool> MarkZeroed(uint64_t offset, uint64_t length, bool dry_run) {
    while (length > 0) {
      INSTAR_RETURN_IF_ERROR(Activate(offset));
      ExtentState& e = extents_[active_];
      const VmdkExtent& extent = *e.extent;
      const uint64_t grain_bytes = extent.cluster_sectors * 512;
      const uint64_t at = offset - e.start;
      if (extent.kind == VmdkExtentKind::kFlat || extent.compressed || !extent.has_zero_grain ||
          at % grain_bytes != 0 || length < grain_bytes || e.end - offset < grain_bytes) {
        return false;
      }
      if (!dry_run) {
        uint64_t entry_offset;
        uint32_t grain_sector;
        INSTAR_RETURN_IF_ERROR(LookUp(e, at, &entry_offset, &grain_sector));
        if (grain_sector != kZeroedGrain) UpdateTables(kZeroedGrain);
        INSTAR_RETURN_IF_ERROR(UpdateCidOnce());
      }
      offset += grain_bytes;
      length -= grain_bytes;
    }
    return true;
  }

  // vmdk_write_cid() after the first piece written since the image was
  // opened.
  Status UpdateCidOnce() {
    if (cid_updated_) return Status::Ok();
    INSTAR_RETURN_IF_ERROR(batch_.Flush());
    INSTAR_RETURN_IF_ERROR(
        WriteDescriptorCid(device_, descriptor_offset_, new_cid_, compat_, descriptor_, tail_));
    cid_updated_ = true;
    return Status::Ok();
  }

  Status OpenExtent(ExtentState& e) {
    const VmdkExtent& extent = *e.extent;
    if (extent.in_image_file) {
      e.file = &device_;
    } else {
      INSTAR_ASSIGN_OR_RETURN(
          e.file, device_.OpenSibling(extent.file_name, extent.file_name_length, *arena_));
    }
    if (extent.kind == VmdkExtentKind::kFlat) return Status::Ok();
    e.next_sector = AlignUp(DivRoundUp(e.file->Size(), 512), extent.cluster_sectors);
    const size_t directory_bytes = size_t{extent.gd_entries} * 4;
    e.gd = arena_->AllocateArray<uint8_t>(directory_bytes);
    if (extent.rgd_offset != 0) e.rgd = arena_->AllocateArray<uint8_t>(directory_bytes);
    if (e.gd == nullptr || (extent.rgd_offset != 0 && e.rgd == nullptr)) {
      return Status::NoSpace("no memory for the vmdk writer");
    }
    INSTAR_RETURN_IF_ERROR(e.file->Read(extent.gd_offset, e.gd, directory_bytes));
    if (e.rgd != nullptr) {
      INSTAR_RETURN_IF_ERROR(e.file->Read(extent.rgd_offset, e.rgd, directory_bytes));
    }
    return Status::Ok();
  }

  // Where the grain table entry of the grain holding byte `at` of extent
  // `e` is (qemu's m_data), and what it holds.
  Status LookUp(const ExtentState& e, uint64_t at, uint64_t* entry_offset, uint32_t* grain_sector) {
    const VmdkExtent& extent = *e.extent;
    const uint64_t sector = at / 512;
    const uint64_t l1_index = sector / extent.gd_entry_sectors;
    if (l1_index >= extent.gd_entries) return Status::Corruption("vmdk: grain past the directory");
    const uint64_t l2_index = (sector / extent.cluster_sectors) % extent.gt_entries;
    const uint32_t table = LoadLE32(e.gd + 4 * l1_index);
    if (table == 0) return Status::NotSupported("vmdk: a grain directory entry without a table");
    *entry_offset = uint64_t{table} * 512 + 4 * l2_index;
    INSTAR_RETURN_IF_ERROR(LoadTables(e, l1_index));
    *grain_sector = LoadLE32(gt_ + 4 * l2_index);
    pending_l2_index_ = l2_index;
    return Status::Ok();
  }

  static bool Allocated(const VmdkExtent& extent, uint32_t grain_sector) {
    return grain_sector != 0 && !(extent.has_zero_grain && grain_sector == kZeroedGrain);
  }

  // get_cluster_offset() with allocation: where the grain holding byte
  // `at` of extent `e` starts in its file, a new one written whole but for
  // [skip_start, skip_end) when there was none (pending_entry_ then says
  // which table entries to update).
  Status GrainFor(ExtentState& e, uint64_t at, uint64_t skip_start, uint64_t skip_end,
                  uint64_t* grain_offset) {
    pending_entry_ = 0;
    uint64_t entry_offset;
    uint32_t grain_sector;
    INSTAR_RETURN_IF_ERROR(LookUp(e, at, &entry_offset, &grain_sector));
    if (Allocated(*e.extent, grain_sector)) {
      *grain_offset = uint64_t{grain_sector} * 512;
      return Status::Ok();
    }
    if (e.next_sector >= kMaxExtentSectors) return Status::NoSpace("vmdk: the extent is full");
    const uint64_t grain_bytes = e.extent->cluster_sectors * 512;
    *grain_offset = e.next_sector * 512;
    e.next_sector += e.extent->cluster_sectors;
    // get_whole_cluster(): around the piece the caller writes, the
    // parent's bytes (at the grain's offset within the extent, as qemu
    // reads them) unless the grain was a zeroed one, else zeros.
    const bool zeroed = e.extent->has_zero_grain && grain_sector == kZeroedGrain;
    const uint8_t* around = grain_;
    if (parent_ != nullptr && !zeroed) {
      const uint64_t grain_start = at - at % grain_bytes;
      INSTAR_RETURN_IF_ERROR(
          ReadBackingGuest(*parent_, grain_start, skip_start, cow_, compat_, *arena_));
      INSTAR_RETURN_IF_ERROR(ReadBackingGuest(*parent_, grain_start + skip_end,
                                              grain_bytes - skip_end, cow_ + skip_end, compat_,
                                              *arena_));
      around = cow_;
    }
    if (skip_start > 0) INSTAR_RETURN_IF_ERROR(batch_.Write(*grain_offset, around, skip_start));
    if (skip_end < grain_bytes) {
      INSTAR_RETURN_IF_ERROR(
          batch_.Write(*grain_offset + skip_end, around + skip_end, grain_bytes - skip_end));
    }
    e.written_end = *grain_offset + grain_bytes;
    pending_entry_ = entry_offset;
    return Status::Ok();
  }

  // vmdk_pwritev's compressed-extent path for one piece of a grain:
  // `length` bytes at guest `offset`, byte `at` of the extent, `in_grain`
  // into their grain.
  Status WriteStreamGrain(ExtentState& e, uint64_t offset, uint64_t at, uint64_t in_grain,
                          const uint8_t* data, size_t length) {
    uint64_t entry_offset;
    uint32_t grain_sector;
    INSTAR_RETURN_IF_ERROR(LookUp(e, at, &entry_offset, &grain_sector));
    if (Allocated(*e.extent, grain_sector)) {
      return Status::IOError("vmdk: a streamOptimized grain is written once")
          .QemuErrno(QemuErrno::kEIO)
          .WithText(kAllocatedStreamGrain, sizeof(kAllocatedStreamGrain) - 1);
    }
    const uint64_t grain_bytes = e.extent->cluster_sectors * 512;
    if (in_grain != 0 || (length < grain_bytes && offset + length != virtual_size_)) {
      return Status::InvalidArgument("vmdk: a streamOptimized image is written in whole grains")
          .QemuErrno(QemuErrno::kEINVAL);
    }
    if (e.next_sector >= kMaxExtentSectors) {
      return Status::NoSpace("vmdk: the extent is full").QemuErrno(QemuErrno::kEINVAL);
    }
    uint8_t* marker = stream_.marker;
    auto compressed = Compress(data, length, marker + kGrainMarkerBytes,
                               stream_.marker_capacity - kGrainMarkerBytes, *stream_.scratch);
    if (!compressed.ok()) {
      if (compressed.status().code() != StatusCode::kNoSpace) return compressed.status();
      return Status::InvalidArgument("vmdk: a grain compresses to more than two grains")
          .QemuErrno(QemuErrno::kEINVAL);
    }
    const uint64_t grain_offset = e.next_sector * 512;
    StoreLE64(marker, offset / 512);
    StoreLE32(marker + 8, static_cast<uint32_t>(*compressed));
    const uint64_t stream_bytes = kGrainMarkerBytes + *compressed;
    // The zeros under the stream's last sector are get_whole_cluster's
    // when the stream ends within the grain; past it qemu writes none.
    uint64_t write_bytes = stream_bytes;
    if (stream_bytes <= grain_bytes) {
      write_bytes = AlignUp(stream_bytes, 512);
      FillBytes(marker + stream_bytes, 0, static_cast<size_t>(write_bytes - stream_bytes));
    }
    INSTAR_RETURN_IF_ERROR(batch_.Write(grain_offset, marker, static_cast<size_t>(write_bytes)));
    e.next_sector = DivRoundUp(grain_offset + stream_bytes, 512);
    e.zero_end = grain_offset + grain_bytes;
    e.written_end = grain_offset + (stream_bytes > grain_bytes ? stream_bytes : grain_bytes);
    pending_entry_ = entry_offset;
    UpdateTables(grain_offset / 512);
    return Status::Ok();
  }

  // The grain tables of directory entry `l1_index` of extent `e` in gt_
  // and rgt_, the ones held before written back first.
  Status LoadTables(const ExtentState& e, uint64_t l1_index) {
    if (l1_index == gt_l1_) return Status::Ok();
    INSTAR_RETURN_IF_ERROR(WriteBackTables());
    INSTAR_RETURN_IF_ERROR(batch_.Flush());
    const size_t table_bytes = size_t{e.extent->gt_entries} * 4;
    INSTAR_RETURN_IF_ERROR(
        e.file->Read(uint64_t{LoadLE32(e.gd + 4 * l1_index)} * 512, gt_, table_bytes));
    if (e.rgd != nullptr) {
      INSTAR_RETURN_IF_ERROR(
          e.file->Read(uint64_t{LoadLE32(e.rgd + 4 * l1_index)} * 512, rgt_, table_bytes));
    }
    gt_l1_ = l1_index;
    return Status::Ok();
  }

  // The entries of the held tables (the active extent's) that changed,
  // [dirty_first_, dirty_end_), to the file: what qemu's 4-byte writes
  // left there.
  Status WriteBackTables() {
    if (dirty_first_ >= dirty_end_) return Status::Ok();
    const ExtentState& e = extents_[active_];
    const uint64_t at = 4 * dirty_first_;
    const size_t bytes = static_cast<size_t>(4 * (dirty_end_ - dirty_first_));
    INSTAR_RETURN_IF_ERROR(
        batch_.Write(uint64_t{LoadLE32(e.gd + 4 * gt_l1_)} * 512 + at, gt_ + at, bytes));
    if (e.rgd != nullptr) {
      INSTAR_RETURN_IF_ERROR(
          batch_.Write(uint64_t{LoadLE32(e.rgd + 4 * gt_l1_)} * 512 + at, rgt_ + at, bytes));
    }
    dirty_first_ = UINT64_MAX;
    dirty_end_ = 0;
    return Status::Ok();
  }

  // vmdk_L2update(): the grain table entry, then the redundant one, in
  // the held tables.
  void UpdateTables(uint64_t grain_sector) {
    StoreLE32(gt_ + 4 * pending_l2_index_, static_cast<uint32_t>(grain_sector));
    if (extents_[active_].rgd != nullptr) {
      StoreLE32(rgt_ + 4 * pending_l2_index_, static_cast<uint32_t>(grain_sector));
    }
    if (pending_l2_index_ < dirty_first_) dirty_first_ = pending_l2_index_;
    if (pending_l2_index_ + 1 > dirty_end_) dirty_end_ = pending_l2_index_ + 1;
    pending_entry_ = 0;
  }

  WritableDevice& device_;  // the image file (with the descriptor)
  const QemuVersion compat_;
  WriteBatch batch_;  // to the active extent's file
  ExtentState* const extents_;
  const size_t extent_count_;
  const uint64_t virtual_size_;
  const uint64_t descriptor_offset_;
  const uint32_t new_cid_;
  const uint8_t* const grain_;  // zeros_bytes_ of zeros (no fewer than a grain's)
  const size_t zeros_bytes_;
  // bl.pwrite_zeroes_alignment (vmdk_refresh_limits): the largest sparse
  // extent's grain, at least a sector.
  const uint64_t zero_alignment_;
  char* const descriptor_;      // kDescriptorBytes
  char* const tail_;            // kDescriptorBytes
  const StreamBuffers stream_;  // a streamOptimized image's; else empty
  Arena* arena_ = nullptr;      // the extents' files and directories, parent reads
  Image* parent_ = nullptr;     // the backing file, opened, or null
  uint8_t* cow_ = nullptr;      // a grain's bytes from the parent
  size_t active_ = SIZE_MAX;    // the extent written last
  uint64_t pending_entry_ = 0;  // a new grain's table entry, or 0
  uint64_t pending_l2_index_ = 0;
  // The active extent's grain table of directory entry gt_l1_, and its
  // redundant copy.
  uint8_t* gt_ = nullptr;
  uint8_t* rgt_ = nullptr;
  uint64_t gt_l1_ = UINT64_MAX;
  uint64_t dirty_first_ = UINT64_MAX;
  uint64_t dirty_end_ = 0;
  bool compressed_writes_ = false;
  bool cid_updated_ = false;
  bool finished_ = false;
};

// An extent the writer takes: a flat one in a file of its own, or a
// hosted sparse one (in the image file or its own) of the kind our create
// hook makes. A compressed extent without markers fails every write in
// qemu (vmdk_write_extent); our create hook never makes one, nor a
// compressed extent beside others.
bool Writable(const VmdkImage& vmdk, const VmdkExtent& extent) {
  if (extent.kind == VmdkExtentKind::kFlat) {
    return !extent.in_image_file && extent.file_name_length > 0;
  }
  return extent.kind == VmdkExtentKind::kHostedSparse &&
         !(extent.compressed && (!extent.has_marker || vmdk.extent_count() != 1)) &&
         extent.entry_size == 4 && extent.cluster_sectors != 0 && extent.gt_entries != 0 &&
         extent.gd_entry_sectors != 0;
}

}  // namespace

Result<ImageWriter*> OpenVmdkWriter(Image& image, WritableDevice& device,
                                    const WriterEntropy& entropy, const QemuVersion& compat,
                                    Arena& arena) {
  const auto& vmdk = static_cast<const VmdkImage&>(image);
  static constexpr char kWhat[] =
      "vmdk: writing is for an image of the subformats qemu-img creates";
  // A descriptor-file disk of size 0 (qemu-img aborts on it in
  // vmdk_co_get_info).
  if (vmdk.extent_count() == 0) {
    return Status::NotSupported("vmdk: an image of no extents has nothing to write to");
  }
  // A parent: copy-on-write reads it (get_whole_cluster), once its CID is
  // the image's parentCID (vmdk_is_cid_valid(); otherwise qemu fails every
  // write that allocates a grain).
  Image* parent = nullptr;
  if (vmdk.HasBacking()) {
    parent = image.backing();
    if (parent == nullptr) {
      return Status::NotSupported(
          "instar cannot write guest data to a vmdk image whose backing file is not open");
    }
    if (parent->format() != ImageFormat::kVmdk ||
        static_cast<const VmdkImage*>(parent)->cid() != vmdk.parent_cid()) {
      return Status::NotSupported(
          "instar cannot write guest data to a vmdk image whose parent's CID is not its "
          "parentCID");
    }
  }
  const size_t count = vmdk.extent_count();
  auto* extents =
      static_cast<ExtentState*>(arena.Allocate(count * sizeof(ExtentState), alignof(ExtentState)));
  if (extents == nullptr) return Status::NoSpace("no memory for the vmdk writer");
  uint64_t grain_bytes = 0;
  uint64_t table_bytes = 0;
  for (size_t i = 0; i < count; ++i) {
    const VmdkExtent& extent = vmdk.extent(i);
    if (!Writable(vmdk, extent)) return Status::NotSupported(kWhat);
    new (&extents[i]) ExtentState();
    extents[i].extent = &extent;
    extents[i].start = extent.start_sector() * 512;
    extents[i].end = extent.end_sector * 512;
    if (extent.kind == VmdkExtentKind::kFlat) continue;
    if (extent.cluster_sectors > (64 << 20) / 512) {
      return Status::NotSupported("vmdk: grains too large to write");
    }
    if (extent.cluster_sectors * 512 > grain_bytes) grain_bytes = extent.cluster_sectors * 512;
    if (uint64_t{extent.gt_entries} * 4 > table_bytes)
      table_bytes = uint64_t{extent.gt_entries} * 4;
  }
  // Zeros: a grain's, and no fewer than WriteZeroes() writes at a time.
  const size_t zeros_bytes =
      static_cast<size_t>(grain_bytes > kZerosBytes ? grain_bytes : kZerosBytes);
  auto* grain = static_cast<uint8_t*>(arena.Allocate(zeros_bytes));
  char* descriptor = arena.AllocateArray<char>(kDescriptorBytes);
  char* tail = arena.AllocateArray<char>(kDescriptorBytes);
  if (grain == nullptr || descriptor == nullptr || tail == nullptr) {
    return Status::NoSpace("no memory for the vmdk writer");
  }
  FillBytes(grain, 0, zeros_bytes);
  StreamBuffers stream;
  if (vmdk.extent(0).compressed) {
    stream.marker_capacity = kGrainMarkerBytes + 2 * static_cast<size_t>(grain_bytes);
    stream.marker = static_cast<uint8_t*>(arena.Allocate(stream.marker_capacity));
    void* tables = arena.Allocate(kDeflateScratchBytes);
    if (stream.marker == nullptr || tables == nullptr) {
      return Status::NoSpace("no memory for the vmdk writer");
    }
    stream.scratch = arena.New<Arena>(tables, kDeflateScratchBytes);
    if (stream.scratch == nullptr) return Status::NoSpace("no memory for the vmdk writer");
  }
  auto* writer = arena.New<VmdkWriter>(device, vmdk, extents, entropy, compat, grain, zeros_bytes,
                                       grain_bytes, descriptor, tail, stream);
  if (writer == nullptr || !writer->Init(arena, static_cast<size_t>(table_bytes), parent,
                                         static_cast<size_t>(grain_bytes))) {
    return Status::NoSpace("no memory for the vmdk writer");
  }
  return static_cast<ImageWriter*>(writer);
}

}  // namespace instar::vmdk
