#include "vhdx/vhdx_log.h"

#include "core/reader_util.h"
#include "instar/engine/bytes.h"
#include "vhdx/crc32c.h"

namespace instar::vhdx {

namespace {

constexpr uint32_t kEntrySignature = 0x65676f6c;           // "loge"
constexpr uint32_t kDataDescriptorSignature = 0x63736564;  // "desc"
constexpr uint32_t kZeroDescriptorSignature = 0x6f72657a;  // "zero"
constexpr size_t kEntryHeaderSize = 64;
constexpr size_t kDescriptorSize = 32;

struct EntryHeader {
  uint32_t signature;
  uint32_t checksum;
  uint32_t entry_length;
  uint64_t sequence_number;
  uint32_t descriptor_count;
  uint8_t log_guid[16];
};

// qemu's VHDXLogEntries as vhdx_log_search uses it: `write` is the log
// length (the log is assumed full), so reads never find it empty.
class LogWalk {
 public:
  LogWalk(BlockDevice& device, uint64_t offset, uint32_t length, const uint8_t* guid,
          uint64_t read_limit, uint8_t* sector)
      : device_(device),
        offset_(offset),
        length_(length),
        guid_(guid),
        read_limit_(read_limit),
        sector_(sector) {}

  uint32_t read() const { return read_; }
  // True when the header at the read position lies past the end of the file.
  bool PastEnd() const { return offset_ + read_ >= device_.Size(); }
  // vhdx_validate_log_entry; `*valid` and `*sequence` describe the entry.
  Status Validate(uint64_t previous_sequence, bool* valid, uint64_t* sequence);

 private:
  Status ReadAt(uint32_t position, uint8_t* buffer, size_t length) {
    const uint64_t at = offset_ + position;
    if (at > read_limit_ || length > read_limit_ - at) {
      return Status::Corruption("vhdx log lies beyond the largest file offset")
          .QemuErrno(QemuErrno::kEIO);
    }
    return device_.Read(at, buffer, length);
  }
  void Advance() { read_ = read_ + kLogSectorSize >= length_ ? 0 : read_ + kLogSectorSize; }
  Status PeekHeader(EntryHeader* header);
  bool HeaderIsValid(const EntryHeader& header) const;

  BlockDevice& device_;
  uint64_t offset_;
  uint32_t length_;
  const uint8_t* guid_;
  uint64_t read_limit_;
  uint8_t* sector_;
  uint32_t read_ = 0;
};

Status LogWalk::PeekHeader(EntryHeader* header) {
  // A header never straddles the end: the length is a multiple of 1 MiB and
  // the read position a multiple of 4 KiB.
  uint8_t raw[kEntryHeaderSize];
  INSTAR_RETURN_IF_ERROR(ReadAt(read_, raw, sizeof(raw)));
  header->signature = LoadLE32(raw + 0);
  header->checksum = LoadLE32(raw + 4);
  header->entry_length = LoadLE32(raw + 8);
  header->sequence_number = LoadLE64(raw + 16);
  header->descriptor_count = LoadLE32(raw + 24);
  CopyBytes(header->log_guid, raw + 32, 16);
  return Status::Ok();
}

bool LogWalk::HeaderIsValid(const EntryHeader& h) const {
  return h.signature == kEntrySignature && h.entry_length <= length_ &&
         h.entry_length % kLogSectorSize == 0 && h.sequence_number != 0 &&
         BytesEqual(h.log_guid, guid_, 16) &&
         uint64_t{h.descriptor_count} * kDescriptorSize <= h.entry_length;
}

Status LogWalk::Validate(uint64_t previous_sequence, bool* valid, uint64_t* sequence) {
  *valid = false;
  EntryHeader header;
  Status peek = PeekHeader(&header);
  if (!peek.ok()) {
    Advance();
    return peek;
  }
  if (!HeaderIsValid(header) ||
      (previous_sequence > 0 && header.sequence_number != previous_sequence + 1)) {
    Advance();
    return Status::Ok();
  }
  // The header and descriptors fill the first sectors (126 descriptors in
  // the first, 128 in each next); the checksum covers the whole entry with
  // its own field as zero.
  const uint32_t descriptor_sectors = (header.descriptor_count + 2 + 127) / 128;
  const uint32_t total_sectors = header.entry_length / kLogSectorSize;
  uint32_t crc = kCrc32cInit;
  for (uint32_t s = 0; s < descriptor_sectors; ++s) {
    const uint32_t position = read_;
    Advance();
    INSTAR_RETURN_IF_ERROR(ReadAt(position, sector_, kLogSectorSize));
    if (s == 0) FillBytes(sector_ + 4, 0, 4);
    crc = Crc32cUpdate(crc, sector_, kLogSectorSize);
    // Descriptor i sits at byte 64 + 32 * i of the descriptor sectors.
    const uint64_t first_byte = uint64_t{s} * kLogSectorSize;
    for (uint64_t byte = first_byte < kEntryHeaderSize ? kEntryHeaderSize : first_byte;
         byte < first_byte + kLogSectorSize; byte += kDescriptorSize) {
      const uint64_t index = (byte - kEntryHeaderSize) / kDescriptorSize;
      if (index >= header.descriptor_count) break;
      const uint8_t* d = sector_ + (byte - first_byte);
      const uint32_t signature = LoadLE32(d);
      bool ok = LoadLE64(d + 24) == header.sequence_number && LoadLE64(d + 16) % 4096 == 0;
      if (signature == kZeroDescriptorSignature) {
        ok = ok && LoadLE64(d + 8) % 4096 == 0;
      } else if (signature != kDataDescriptorSignature) {
        ok = false;
      }
      if (!ok)
        return Status::Corruption("vhdx log entry has an invalid descriptor")
            .QemuErrno(QemuErrno::kEINVAL);
    }
  }
  for (uint32_t s = descriptor_sectors; s < total_sectors; ++s) {
    const uint32_t position = read_;
    Advance();
    INSTAR_RETURN_IF_ERROR(ReadAt(position, sector_, kLogSectorSize));
    crc = Crc32cUpdate(crc, sector_, kLogSectorSize);
  }
  if (Crc32cFinish(crc) == header.checksum) {
    *valid = true;
    *sequence = header.sequence_number;
  }
  return Status::Ok();
}

}  // namespace

Result<bool> LogNeedsReplay(BlockDevice& device, uint64_t log_offset, uint32_t log_length,
                            const uint8_t* log_guid, uint64_t read_limit, uint8_t* sector) {
  // qemu peeks at the entry header of every sector of the log before the
  // walk wraps (past EOF too, where it reads zeros), and fails when one of
  // those reads ends past its limit; the last one ends highest.
  uint64_t last_header;
  if (log_length < kLogSectorSize ||
      !CheckedAdd(log_offset, log_length - kLogSectorSize, &last_header) ||
      last_header > read_limit || kEntryHeaderSize > read_limit - last_header) {
    return Status::Corruption("vhdx log lies beyond the largest file offset")
        .QemuErrno(QemuErrno::kEIO);
  }
  LogWalk walk(device, log_offset, log_length, log_guid, read_limit, sector);
  bool found = false;
  while (true) {
    // From here to the end every header reads as zeros: nothing more is
    // valid, and the walk would end when it wraps.
    if (walk.PastEnd()) break;
    const uint32_t tail = walk.read();
    bool valid;
    uint64_t sequence = 0;
    INSTAR_RETURN_IF_ERROR(walk.Validate(0, &valid, &sequence));
    if (valid) {
      found = true;
      // qemu follows the sequence to its end; only how far that reads
      // matters here.
      uint64_t previous = 0;
      while (true) {
        bool next_valid;
        uint64_t next_sequence = 0;
        INSTAR_RETURN_IF_ERROR(walk.Validate(previous, &next_valid, &next_sequence));
        if (!next_valid) break;
        previous = next_sequence;
      }
    }
    if (walk.read() < tail) break;
  }
  return found;
}

}  // namespace instar::vhdx
