// The vhdx guest-data writer: block/vhdx.c vhdx_open (read-write),
// vhdx_update_headers, vhdx_co_writev, vhdx_allocate_block,
// vhdx_update_bat_table_entry, and block/vhdx-log.c
// vhdx_log_write_and_flush.
//
// Opening: qemu generates a session GUID and writes nothing (an image
// opened read-write and only read keeps its headers: qemu-io of 7.2).
// Each header update (vhdx_update_headers, always twice) gives the header
// that is not current the current one's sequence number + 1 and the
// session GUID as its file write GUID, writes it whole (4 KiB, CRC-32C)
// and makes it current.
//
// Writes: qemu's vhdx reads and writes whole 512-byte sectors, so the
// block layer pads a write that is not sector aligned with the sectors it
// reads first (through the driver: zeros where no block is present). The
// first write updates the headers, each with a new data write GUID. Then,
// block by block:
//  * a block whose BAT entry is not present, zero, unmapped or undefined
//    is allocated at the file's end rounded up to 1 MiB, the file is
//    truncated to the block's end (the new block reads as zeros; the
//    write then goes only where the guest data goes), its entry becomes
//    the offset | PAYLOAD_BLOCK_FULLY_PRESENT (6), and after the data the
//    entry goes through the log (below);
//  * a fully present block is written in place;
//  * any other state is an error (qemu's -EIO).
// The BAT index of payload block b is b + b / chunk_ratio (the sector
// bitmap entries are interleaved).
//
// The log (vhdx_log_write_and_flush), for each BAT entry: a new log GUID,
// the headers updated twice with it; one entry of two 4 KiB sectors
// written at the log's write position (after the previous entry: the log
// is never reset to its start): the entry header ("loge", CRC-32C over the
// entry, length 8192, the tail (where the previous entry ended), the
// sequence number (1, 2, ... since the open), one descriptor, the log
// GUID, and the file's length as both flushed and last file offset), the
// descriptor ("desc", the BAT sector's last 4 and first 8 bytes, its file
// offset, the sequence number), zeros to the sector's end, then the data
// sector ("data", the sequence number's high half, the sector's bytes 8 to
// 4092, its low half). The BAT sector is the one on disk with the entry
// merged in; for an entry at the start of a sector qemu before 8.0 and
// 7.2.2 (its trailing-bytes path) read the rest from the sector's start
// rather than from after the entry, so the sector's old entries move up by
// one and its last is lost: this writer does the same for those versions. The log is then replayed:
// the sector is written to the BAT, and the headers are updated twice with a zero log GUID (empty
// log).
//
// Nothing more is written at close (vhdx_close writes nothing); Finish()
// only flushes.
//
// From WriterEntropy::random, in qemu's order of generation, each made a
// version 4 UUID as qemu_uuid_generate() makes one: bytes 0-15 the session
// (file write) GUID; 16-31 and 32-47 the data write GUIDs of the first
// write's two header updates; 48-63 the first block allocation's log GUID.
// qemu takes a new log GUID for every block it allocates: those after the
// first come from a splitmix64 stream seeded by the 64 random bytes.
#include "vhdx/vhdx_write.h"

#include "instar/engine/bytes.h"
#include "instar/engine/vhdx.h"
#include "vhdx/crc32c.h"
#include "vhdx/vhdx_format.h"
#include "vhdx/vhdx_log.h"

namespace instar::vhdx {

namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr uint32_t kSector = 512;
constexpr size_t kEntryBytes = 2 * kLogSectorSize;
// Whether qemu reads a trailing partial log sector's old bytes from after
// the new ones, not from the sector's start: fixed in 8.0 ("block/vhdx:
// fix dynamic VHDX BAT corruption") and in the 7.2 series from 7.2.2.
bool ReadsTrailingBytesInPlace(const QemuVersion& v) {
  return v.AtLeast(8, 0, 0) || (v.major == 7 && v.minor == 2 && v.AtLeast(7, 2, 2));
}

bool IsAllocatable(uint8_t state) {
  using namespace vhdx_block_state;  // NOLINT(google-build-using-namespace)
  return state == kNotPresent || state == kZero || state == kUnmapped || state == kUnmappedV095 ||
         state == kUndefined;
}

class VhdxWriter final : public ImageWriter {
 public:
  VhdxWriter(WritableDevice& device, const VhdxImage& image, const WriterEntropy& entropy,
             const QemuVersion& compat, uint8_t* scratch)
      : device_(device),
        virtual_size_(image.VirtualSize()),
        block_size_(image.block_size()),
        chunk_ratio_bits_(CountTrailingZeros(image.chunk_ratio())),
        bat_offset_(image.bat_offset()),
        log_offset_(image.log_offset()),
        log_length_(image.log_length()),
        current_(image.current_header()),
        trailing_from_start_(!ReadsTrailingBytesInPlace(compat)),
        headers_{scratch, scratch + kHeaderSize},
        entry_(scratch + 2 * kHeaderSize),
        sector_(scratch + 2 * kHeaderSize + kEntryBytes) {
    CopyBytes(random_, entropy.random, sizeof(random_));
    uint64_t seed = 0;
    for (size_t i = 0; i < sizeof(random_); i += 8)
      seed = seed * 0x100000001b3ull ^ LoadLE64(random_ + i);
    stream_ = seed;
  }

  // vhdx_open() with BDRV_O_RDWR: the headers as read, a session GUID.
  Status Open() {
    INSTAR_RETURN_IF_ERROR(device_.Read(kHeader1Offset, headers_[0], kHeaderSize));
    INSTAR_RETURN_IF_ERROR(device_.Read(kHeader2Offset, headers_[1], kHeaderSize));
    NextGuid(session_);
    return Status::Ok();
  }

  Status Write(uint64_t offset, const uint8_t* data, size_t length) override {
    if (finished_) return Status::InvalidArgument("vhdx: write after the image was closed");
    uint64_t end;
    if (__builtin_add_overflow(offset, length, &end) || end > virtual_size_) {
      return Status::InvalidArgument("vhdx: write past the end of the virtual disk");
    }
    if (length == 0) return Status::Ok();
    const uint64_t head = offset % kSector;
    if (head != 0 || length < kSector) {
      // The block layer's padding: the sector read, the bytes merged.
      const uint64_t start = offset - head;
      uint8_t sector[kSector];
      INSTAR_RETURN_IF_ERROR(ReadSector(start, sector));
      const size_t n = length < kSector - head ? length : static_cast<size_t>(kSector - head);
      CopyBytes(sector + head, data, n);
      INSTAR_RETURN_IF_ERROR(WriteSectors(start, sector, kSector));
      offset += n;
      data += n;
      length -= n;
    }
    const size_t middle = length - length % kSector;
    if (middle > 0) INSTAR_RETURN_IF_ERROR(WriteSectors(offset, data, middle));
    offset += middle;
    data += middle;
    length -= middle;
    if (length > 0) {
      uint8_t sector[kSector];
      INSTAR_RETURN_IF_ERROR(ReadSector(offset, sector));
      CopyBytes(sector, data, length);
      INSTAR_RETURN_IF_ERROR(WriteSectors(offset, sector, kSector));
    }
    return Status::Ok();
  }

  Status Finish() override {
    finished_ = true;
    return device_.Flush();
  }

 private:
  // The next GUID qemu generates (see the file comment).
  void NextGuid(uint8_t* out) {
    if (random_used_ + 16 <= sizeof(random_)) {
      CopyBytes(out, random_ + random_used_, 16);
      random_used_ += 16;
    } else {
      for (int half = 0; half < 2; ++half) {
        uint64_t z = (stream_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        StoreLE64(out + 8 * half, z ^ (z >> 31));
      }
    }
    out[6] = static_cast<uint8_t>((out[6] & 0x0f) | 0x40);
    out[8] = static_cast<uint8_t>((out[8] & 0x3f) | 0x80);
  }

  // vhdx_update_header(), twice.
  Status UpdateHeaders(bool new_data_guid, const uint8_t* log_guid) {
    for (int i = 0; i < 2; ++i) {
      const int inactive = current_ == 0 ? 1 : 0;
      uint8_t* header = headers_[inactive];
      StoreLE64(header + 8, LoadLE64(headers_[current_] + 8) + 1);
      CopyBytes(header + 16, session_, 16);
      if (new_data_guid) NextGuid(header + 32);
      if (log_guid != nullptr) CopyBytes(header + 48, log_guid, 16);
      StoreLE32(header + 4, 0);
      StoreLE32(header + 4, Crc32c(header, kHeaderSize));
      INSTAR_RETURN_IF_ERROR(
          device_.Write(inactive == 0 ? kHeader1Offset : kHeader2Offset, header, kHeaderSize));
      current_ = inactive;
    }
    return Status::Ok();
  }

  uint64_t BatEntryOffset(uint64_t offset) const {
    const uint64_t block = offset / block_size_;
    return bat_offset_ + 8 * (block + (block >> chunk_ratio_bits_));
  }

  // vhdx_co_readv() of the sector at guest `offset`.
  Status ReadSector(uint64_t offset, uint8_t* out) {
    uint8_t entry[8];
    INSTAR_RETURN_IF_ERROR(device_.Read(BatEntryOffset(offset), entry, 8));
    const uint64_t value = LoadLE64(entry);
    if ((value & 7) == vhdx_block_state::kFullyPresent) {
      return device_.Read((value & kBatOffsetMask) + offset % block_size_, out, kSector);
    }
    if ((value & 7) == vhdx_block_state::kPartiallyPresent) {
      return Status::IOError("vhdx: a partially present block");
    }
    FillBytes(out, 0, kSector);
    return Status::Ok();
  }

  // vhdx_co_writev() of whole sectors.
  Status WriteSectors(uint64_t offset, const uint8_t* data, size_t length) {
    if (first_visible_write_) {
      first_visible_write_ = false;
      INSTAR_RETURN_IF_ERROR(UpdateHeaders(true, nullptr));
    }
    while (length > 0) {
      const uint64_t in_block = offset % block_size_;
      const size_t n =
          length < block_size_ - in_block ? length : static_cast<size_t>(block_size_ - in_block);
      const uint64_t entry_offset = BatEntryOffset(offset);
      uint8_t entry[8];
      INSTAR_RETURN_IF_ERROR(device_.Read(entry_offset, entry, 8));
      const uint64_t value = LoadLE64(entry);
      const auto state = static_cast<uint8_t>(value & 7);
      if (IsAllocatable(state)) {
        // vhdx_allocate_block(): the file's end rounded up to 1 MiB.
        uint64_t block_offset;
        if (!CheckedAlignUp(device_.Size(), kMiB, &block_offset) ||
            block_offset > (uint64_t{1} << 62)) {
          return Status::InvalidArgument("vhdx: the file is too large");
        }
        INSTAR_RETURN_IF_ERROR(device_.Truncate(block_offset + block_size_));
        INSTAR_RETURN_IF_ERROR(device_.Write(block_offset + in_block, data, n));
        StoreLE64(entry, block_offset | vhdx_block_state::kFullyPresent);
        INSTAR_RETURN_IF_ERROR(LogWriteAndFlush(entry, entry_offset));
      } else if (state == vhdx_block_state::kFullyPresent) {
        const uint64_t block_offset = value & kBatOffsetMask;
        if (block_offset < kMiB) return Status::Corruption("vhdx: a block in the header section");
        INSTAR_RETURN_IF_ERROR(device_.Write(block_offset + in_block, data, n));
      } else {
        return Status::IOError("vhdx: a block in a state qemu cannot write");
      }
      offset += n;
      data += n;
      length -= n;
    }
    return Status::Ok();
  }

  // vhdx_log_write_and_flush() of the 8-byte BAT entry at `offset`.
  Status LogWriteAndFlush(const uint8_t* value, uint64_t offset) {
    INSTAR_RETURN_IF_ERROR(device_.Flush());
    // vhdx_log_write().
    if (kEntryBytes > log_length_) return Status::InvalidArgument("vhdx: no room for a log entry");
    static constexpr uint8_t kZeroGuid[16] = {};
    if (!BytesEqual(headers_[current_] + 48, kZeroGuid, 16)) {
      return Status::NotSupported("vhdx: the log is not empty");
    }
    uint8_t log_guid[16];
    NextGuid(log_guid);
    INSTAR_RETURN_IF_ERROR(UpdateHeaders(false, log_guid));
    if (log_sequence_ == 0) log_sequence_ = 1;

    // The BAT sector with the entry merged in.
    const uint64_t sector_offset = offset % kLogSectorSize;
    const uint64_t file_offset = offset - sector_offset;
    if (sector_offset != 0) {
      INSTAR_RETURN_IF_ERROR(device_.Read(file_offset, sector_, kLogSectorSize));
      CopyBytes(sector_ + sector_offset, value, 8);
    } else {
      INSTAR_RETURN_IF_ERROR(device_.Read(file_offset + (trailing_from_start_ ? 0 : 8), sector_ + 8,
                                          kLogSectorSize - 8));
      CopyBytes(sector_, value, 8);
    }

    const uint64_t file_length = device_.Size();
    FillBytes(entry_, 0, kEntryBytes);
    CopyBytes(entry_, "loge", 4);
    StoreLE32(entry_ + 8, kEntryBytes);
    StoreLE32(entry_ + 12, log_tail_);
    StoreLE64(entry_ + 16, log_sequence_);
    StoreLE32(entry_ + 24, 1);
    CopyBytes(entry_ + 32, headers_[current_] + 48, 16);
    StoreLE64(entry_ + 48, file_length);
    StoreLE64(entry_ + 56, file_length);
    uint8_t* descriptor = entry_ + 64;
    CopyBytes(descriptor, "desc", 4);
    CopyBytes(descriptor + 4, sector_ + kLogSectorSize - 4, 4);
    CopyBytes(descriptor + 8, sector_, 8);
    StoreLE64(descriptor + 16, file_offset);
    StoreLE64(descriptor + 24, log_sequence_);
    uint8_t* data = entry_ + kLogSectorSize;
    CopyBytes(data, "data", 4);
    StoreLE32(data + 4, static_cast<uint32_t>(log_sequence_ >> 32));
    CopyBytes(data + 8, sector_ + 8, kLogSectorSize - 12);
    StoreLE32(data + kLogSectorSize - 4, static_cast<uint32_t>(log_sequence_));
    StoreLE32(entry_ + 4, Crc32c(entry_, kEntryBytes));

    // vhdx_log_write_sectors(): one sector open means full.
    uint32_t write = log_write_;
    for (size_t i = 0; i < kEntryBytes / kLogSectorSize; ++i) {
      const uint64_t at = log_offset_ + write;
      write = write + kLogSectorSize >= log_length_ ? 0 : write + kLogSectorSize;
      if (write == log_read_) return Status::InvalidArgument("vhdx: the log is full");
      INSTAR_RETURN_IF_ERROR(device_.Write(at, entry_ + i * kLogSectorSize, kLogSectorSize));
    }
    log_write_ = write;
    ++log_sequence_;
    log_tail_ = log_write_;

    // vhdx_log_flush(): the entry replayed (the sector written in place),
    // then the log made empty; its read position ends where the entry did.
    INSTAR_RETURN_IF_ERROR(device_.Flush());
    INSTAR_RETURN_IF_ERROR(device_.Write(file_offset, sector_, kLogSectorSize));
    INSTAR_RETURN_IF_ERROR(device_.Flush());
    log_read_ = log_write_;
    return UpdateHeaders(false, kZeroGuid);
  }

  WritableDevice& device_;
  const uint64_t virtual_size_;
  const uint32_t block_size_;
  const int chunk_ratio_bits_;
  const uint64_t bat_offset_;
  const uint64_t log_offset_;
  const uint32_t log_length_;
  int current_;
  const bool trailing_from_start_;
  uint8_t* const headers_[2];  // kHeaderSize each, as qemu holds them
  uint8_t* const entry_;       // kEntryBytes
  uint8_t* const sector_;      // kLogSectorSize
  uint8_t random_[sizeof(WriterEntropy::random)] = {};
  size_t random_used_ = 0;
  uint64_t stream_ = 0;
  uint8_t session_[16] = {};
  bool first_visible_write_ = true;
  uint32_t log_read_ = 0;
  uint32_t log_write_ = 0;
  uint32_t log_tail_ = 0;
  uint64_t log_sequence_ = 0;
  bool finished_ = false;
};

}  // namespace

Result<ImageWriter*> OpenVhdxWriter(Image& image, WritableDevice& device,
                                    const WriterEntropy& entropy, const QemuVersion& compat,
                                    Arena& arena) {
  const auto& vhdx = static_cast<const VhdxImage&>(image);
  static constexpr uint8_t kZeroGuid[16] = {};
  if (vhdx.has_parent()) return Status::NotSupported("vhdx: writing a differencing image");
  if (!BytesEqual(vhdx.log_guid().bytes, kZeroGuid, 16)) {
    return Status::NotSupported("vhdx: writing an image with a log to replay");
  }
  if (vhdx.logical_sector_size() != kSector || vhdx.block_size() == 0 || vhdx.chunk_ratio() == 0 ||
      (vhdx.chunk_ratio() & (vhdx.chunk_ratio() - 1)) != 0 || vhdx.log_length() < kEntryBytes) {
    return Status::NotSupported("vhdx: writing this image's geometry");
  }
  auto* scratch =
      static_cast<uint8_t*>(arena.Allocate(2 * kHeaderSize + kEntryBytes + kLogSectorSize));
  if (scratch == nullptr) return Status::NoSpace("no memory for the vhdx writer");
  auto* writer = arena.New<VhdxWriter>(device, vhdx, entropy, compat, scratch);
  if (writer == nullptr) return Status::NoSpace("no memory for the vhdx writer");
  INSTAR_RETURN_IF_ERROR(writer->Open());
  return static_cast<ImageWriter*>(writer);
}

}  // namespace instar::vhdx
