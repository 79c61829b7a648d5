// WriteBatch: the writers' one path to a WritableDevice for guest data.
//
// qemu issues one pwrite(2) per guest write, and `qemu-img dd` of bs=512
// issues a write per 512 bytes; through the sandbox each device write is a
// call to the host (15-20 us under KVM), so the writers gather contiguous
// data writes and posix_fallocate(2) ranges here and pass them on in as
// few calls as the file allows. What the file holds afterwards is what
// qemu's writes leave: data writes land in order, and an allocation never
// changes bytes (posix_fallocate mode 0 only reserves), so reserving a
// range before or after the data written into it is the same file, with
// the same st_blocks.
//
// A writer flushes the batch before anything reads the device or writes
// metadata it does not route through the batch, and in its Finish().
//
// The batch gathers into two buffers in turn and lends each one it passes
// on (WritableDevice::WriteLent): the host writes the file from it after
// the answer, with no copy, while the batch fills the other one. A loan
// ends when the next device call other than a read is answered, and the
// next flush is such a call, so the buffer lent last is never the one
// being filled. (The host's copy of every batch it wrote behind was 6.6 %
// of a process raw > qcow2 convert's samples, on the path the guest waits
// on, where each 2 MiB step carries 1 MiB of data.) With room for one buffer only,
// the batch writes with a copy.
#ifndef INSTAR_ENGINE_CORE_WRITE_BATCH_H_
#define INSTAR_ENGINE_CORE_WRITE_BATCH_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/arena.h"
#include "instar/engine/bytes.h"
#include "instar/engine/create.h"
#include "instar/engine/status.h"

namespace instar {

class WriteBatch {
 public:
  // The most bytes one batch holds: the ABI's kMaxTransfer.
  static constexpr size_t kCapacity = size_t{2} << 20;

  explicit WriteBatch(WritableDevice& device) : device_(&device) {}

  // The buffers, from `arena`; false when it has no room for one.
  bool Init(Arena& arena) {
    buffer_ = arena.AllocateArray<uint8_t>(kCapacity);
    other_ = arena.AllocateArray<uint8_t>(kCapacity);
    return buffer_ != nullptr;
  }

  // Writes `length` bytes at file offset `offset`, after what is pending
  // when it continues it.
  Status Write(uint64_t offset, const uint8_t* data, size_t length) {
    // A write as large as the batch goes as it is, without a copy.
    if (length >= kCapacity) {
      INSTAR_RETURN_IF_ERROR(FlushData());
      lent_ = false;
      loaned_to_ = nullptr;
      return device_->Write(offset, data, length);
    }
    while (length > 0) {
      if (pending_ > 0 && (offset != start_ + pending_ || pending_ == kCapacity)) {
        INSTAR_RETURN_IF_ERROR(FlushData());
      }
      if (pending_ == 0) start_ = offset;
      const size_t room = kCapacity - pending_;
      const size_t chunk = length < room ? length : room;
      CopyBytes(buffer_ + pending_, data, chunk);
      pending_ += chunk;
      offset += chunk;
      data += chunk;
      length -= chunk;
    }
    return Status::Ok();
  }

  // Write(), and a write as large as the batch goes lent
  // (WritableDevice::WriteLent, whose terms its caller keeps). When it
  // returns, no bytes of an earlier WriteLent are lent any more: a smaller
  // write goes into the batch, or, while an earlier one may still be lent,
  // as a device write of its own, whose answer ends that loan.
  Status WriteLent(uint64_t offset, const uint8_t* data, size_t length) {
    if (length >= kCapacity) {
      INSTAR_RETURN_IF_ERROR(FlushData());
      INSTAR_RETURN_IF_ERROR(device_->WriteLent(offset, data, length));
      lent_ = true;
      loaned_to_ = nullptr;
      return Status::Ok();
    }
    if (!lent_) return Write(offset, data, length);
    INSTAR_RETURN_IF_ERROR(FlushData());
    lent_ = false;
    loaned_to_ = nullptr;
    return device_->Write(offset, data, length);
  }

  // Writes `length` zero bytes at `offset` (a COW qemu wrote as data).
  Status WriteZeros(uint64_t offset, uint64_t length) {
    while (length > 0) {
      if (pending_ > 0 && (offset != start_ + pending_ || pending_ == kCapacity)) {
        INSTAR_RETURN_IF_ERROR(FlushData());
      }
      if (pending_ == 0) start_ = offset;
      const size_t room = kCapacity - pending_;
      const size_t chunk = length < room ? static_cast<size_t>(length) : room;
      FillBytes(buffer_ + pending_, 0, chunk);
      pending_ += chunk;
      offset += chunk;
      length -= chunk;
    }
    return Status::Ok();
  }

  // posix_fallocate(2) of [offset, offset + length), joined with the
  // pending range when the two touch.
  Status Allocate(uint64_t offset, uint64_t length) {
    if (allocate_length_ > 0 && offset == allocate_start_ + allocate_length_) {
      allocate_length_ += length;
      return Status::Ok();
    }
    INSTAR_RETURN_IF_ERROR(FlushAllocation());
    allocate_start_ = offset;
    allocate_length_ = length;
    return Status::Ok();
  }

  // Passes everything pending to the device.
  Status Flush() {
    INSTAR_RETURN_IF_ERROR(FlushAllocation());
    return FlushData();
  }

  // Flush(), then the batch goes to `device` (a writer of an image of
  // several files, moving to another one). The last batch is written with
  // a copy, and the file it leaves has no batch lent when the batch moves
  // on: the host ends a loan at its answer to any call, but a device that
  // keeps loans per file (the engine tests' MemoryDevice) ends one only at
  // a call on that file, so one is made there, of no bytes if need be.
  Status SwitchTo(WritableDevice& device) {
    if (&device == device_) return Status::Ok();
    const bool calls = pending_ > 0 || allocate_length_ > 0;
    INSTAR_RETURN_IF_ERROR(FlushAllocation());
    INSTAR_RETURN_IF_ERROR(FlushData(/*lend=*/false));
    if (!calls && loaned_to_ == device_) INSTAR_RETURN_IF_ERROR(device_->Write(0, buffer_, 0));
    loaned_to_ = nullptr;
    device_ = &device;
    return Status::Ok();
  }

 private:
  // The pending data written: lent when the batch has two buffers and
  // `lend`, and the other buffer filled next, whose loan ended with the
  // answer to this call (or an earlier one).
  Status FlushData(bool lend = true) {
    if (pending_ == 0) return Status::Ok();
    const size_t length = pending_;
    pending_ = 0;
    lent_ = false;
    loaned_to_ = nullptr;
    if (other_ == nullptr || !lend) return device_->Write(start_, buffer_, length);
    uint8_t* const lent = buffer_;
    buffer_ = other_;
    other_ = lent;
    loaned_to_ = device_;
    return device_->WriteLent(start_, lent, length);
  }
  Status FlushAllocation() {
    if (allocate_length_ == 0) return Status::Ok();
    const uint64_t length = allocate_length_;
    allocate_length_ = 0;
    lent_ = false;
    loaned_to_ = nullptr;
    return device_->Allocate(allocate_start_, length);
  }

  WritableDevice* device_;
  uint8_t* buffer_ = nullptr;  // the one being filled
  uint8_t* other_ = nullptr;   // the one lent last, or null: no room for two
  // The device the last call through the batch lent `other_` to; null
  // after any other call through it.
  WritableDevice* loaned_to_ = nullptr;
  uint64_t start_ = 0;
  size_t pending_ = 0;
  uint64_t allocate_start_ = 0;
  uint64_t allocate_length_ = 0;
  // A WriteLent's bytes may still be read: no device call other than a
  // read has been made through the batch since (the writer's own calls
  // may have ended the loan too; this errs on the side of a loan).
  bool lent_ = false;
};

}  // namespace instar

#endif  // INSTAR_ENGINE_CORE_WRITE_BATCH_H_
