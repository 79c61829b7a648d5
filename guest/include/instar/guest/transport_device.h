// TransportDevice and TransportDeviceOpener: the engine's BlockDevice and
// DeviceOpener over the call table, shared by every guest runtime.
//
// A TransportDevice is one numbered host file. Reads are split into calls of
// at most abi::kMaxTransfer bytes; the size is asked once, when the device is
// made, and kept (the host's files do not change during a run). SeekData and
// SeekHole are kSeekData/kSeekHole. A failed call becomes Status::IOError.
//
// Reads shorter than a window come from kReadAheadWindows aligned windows of
// kReadAheadBytes, least recently used first out: a call costs an exit of
// 15-20 µs under KVM (a pipe round trip in the process backend), and the
// small reads of a format's metadata lie together (a qcow2 L1 table read 4
// KiB at a time is one call, not sixteen). Past the end of the file a window
// holds zeros, as kRead gives them.
//
// SeekData and SeekHole are answered from a list of the file's data runs
// (kDataExtents, up to kExtentCacheEntries at a time) rather than one
// kSeekData/kSeekHole call each: walking a file's allocation took two calls
// per run.
#ifndef INSTAR_GUEST_TRANSPORT_DEVICE_H_
#define INSTAR_GUEST_TRANSPORT_DEVICE_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/arena.h"
#include "instar/engine/create.h"
#include "instar/engine/device.h"
#include "instar/engine/status.h"
#include "instar/guest/transport.h"

namespace instar::guest {

class TransportDevice final : public BlockDevice {
 public:
  // Asks the host for the size of `device` and makes the device in `arena`.
  static Result<TransportDevice*> Create(Transport& transport, uint32_t device, Arena& arena);

  static constexpr size_t kReadAheadBytes = 64 * 1024;
  static constexpr size_t kReadAheadWindows = 4;
  static constexpr size_t kExtentCacheEntries = 256;

  // `windows` holds kReadAheadWindows * kReadAheadBytes bytes, or is null
  // for a device that reads exactly what it is asked; `extents` holds
  // kExtentCacheEntries, or is null for one call per seek.
  TransportDevice(Transport& transport, uint32_t device, uint64_t size, uint8_t* windows,
                  abi::DataExtent* extents)
      : transport_(transport), device_(device), size_(size) {
    UseBuffers(windows, extents);
  }

  Status Read(uint64_t offset, void* buffer, size_t length) override;
  uint64_t Size() const override { return size_; }
  Result<uint64_t> SeekData(uint64_t offset) override;
  Result<uint64_t> SeekHole(uint64_t offset) override;
  // kAllocatedSize: the host's st_blocks, which the guest cannot see.
  Result<uint64_t> AllocatedBytes() override;

  uint32_t device() const { return device_; }

 private:
  struct Window {
    uint8_t* bytes = nullptr;  // kReadAheadBytes, or null: no window
    uint64_t base = 0;
    uint64_t last_use = 0;  // 0: empty
  };

  void UseBuffers(uint8_t* windows, abi::DataExtent* extents);
  // One call per kMaxTransfer bytes, straight into `out`.
  Status ReadDirect(uint64_t offset, uint8_t* out, size_t length);
  // The window holding `base` (kReadAheadBytes aligned), filled on a miss;
  // null when the device has no windows.
  Result<const uint8_t*> WindowAt(uint64_t base);
  // Makes the extent list cover `offset` (one kDataExtents from there when
  // it does not); false when the device has no list.
  Result<bool> CoverExtents(uint64_t offset);

  Transport& transport_;
  uint32_t device_;
  uint64_t size_;
  Window windows_[kReadAheadWindows];
  uint64_t uses_ = 0;
  // The data runs in [extents_from_, extents_to_): every run that starts in
  // that range is listed (the list was filled from extents_from_ and either
  // ended, extents_to_ = UINT64_MAX, or filled up, extents_to_ = the last
  // run's end). extents_to_ == 0: nothing listed yet.
  abi::DataExtent* extents_ = nullptr;
  size_t extent_count_ = 0;
  uint64_t extents_from_ = 0;
  uint64_t extents_to_ = 0;
};

// Opens further files with kOpen; the devices live in `arena`. `root` is
// the named image (device 0, or compare's second image, 1) whose directory
// a relative name starts from.
class TransportDeviceOpener final : public DeviceOpener {
 public:
  TransportDeviceOpener(Transport& transport, Arena& arena, uint32_t root = 0)
      : transport_(transport), arena_(arena), root_(root) {}

  Result<BlockDevice*> Open(const char* name, size_t name_length) override;
  Result<BlockDevice*> OpenAsGiven(const char* name, size_t name_length) override;

  // The last file OpenAsGiven() could not open (a qcow2's external data
  // file), for qemu's "Could not open '<name>': <reason>": `name` is the
  // caller's, as given; null when every such open succeeded.
  struct Failure {
    const char* name = nullptr;
    size_t name_length = 0;
    Status status;
  };
  const Failure& as_given_failure() const { return as_given_failure_; }
  // The last file Open() could not open (a vmdk extent), its name copied
  // here: the arena it came from is given back when the open fails.
  const Failure& relative_failure() const { return relative_failure_; }

 private:
  Result<BlockDevice*> OpenFrom(abi::OpenBase base, const char* name, size_t name_length);

  Transport& transport_;
  Arena& arena_;
  uint32_t root_;
  Failure as_given_failure_;
  Failure relative_failure_;
  char relative_failure_name_[abi::kMaxName];
};

// The output of a producing command: the one device the host opened for
// writing (abi.h, "Writable devices"). Writes go out in calls of at most
// abi::kMaxTransfer bytes, straight through (no window: what was written
// must read back as written); the size is kept here, grown by every write,
// truncate and allocate the host accepted. The host bounds every range
// against the operation's write limit: a refusal is Status::OutOfRange.
class TransportWritableDevice final : public WritableDevice {
 public:
  // Asks the host for the size of `device` and makes the device in `arena`.
  static Result<TransportWritableDevice*> Create(Transport& transport, uint32_t device,
                                                 Arena& arena);

  TransportWritableDevice(Transport& transport, uint32_t device, uint64_t size)
      : transport_(transport), device_(device), size_(size) {}

  Status Read(uint64_t offset, void* buffer, size_t length) override;
  uint64_t Size() const override { return size_; }
  Result<uint64_t> SeekData(uint64_t offset) override;
  Result<uint64_t> SeekHole(uint64_t offset) override;
  Result<uint64_t> AllocatedBytes() override;
  Status Write(uint64_t offset, const void* data, size_t length) override;
  // kWrite with abi::kCallLent.
  Status WriteLent(uint64_t offset, const void* data, size_t length) override;
  Status Truncate(uint64_t size) override;
  Status Allocate(uint64_t offset, uint64_t length) override;
  Status ZeroRange(uint64_t offset, uint64_t length) override;
  Status Flush() override;
  // kOpen with OpenBase::kOutput on behalf of this device (device 0, a
  // root): another output the host created beside it, writable as this
  // one is.
  Result<WritableDevice*> OpenSibling(const char* name, size_t length, Arena& arena) override;

  uint32_t device() const { return device_; }

 private:
  // kWrite calls of at most abi::kMaxTransfer, with `flags`.
  Status WriteCalls(uint64_t offset, const void* data, size_t length, uint64_t flags);

  Transport& transport_;
  uint32_t device_;
  uint64_t size_;
};

// Reads `length` bytes at `offset` of `device` with kRead calls of at most
// kMaxTransfer bytes each: the one read path of both transport devices.
Status ReadInTransfers(Transport& transport, uint32_t device, uint64_t offset, uint8_t* out,
                       size_t length);

// One call with no payload in either direction (kSize, kSeekData ...).
abi::CallReply SimpleCall(Transport& transport, abi::Call call, uint32_t device,
                          uint64_t offset = 0, uint64_t length = 0);

}  // namespace instar::guest

#endif  // INSTAR_GUEST_TRANSPORT_DEVICE_H_
