// DeviceTable: the host files one guest run may reach, by device number.
//
// Device 0 is the image the user named. The guest may ask to open more by
// name (a vmdk extent, an external data file): the name is resolved the way
// qemu's path_combine() does, relative to the directory of device 0 unless
// absolute, and opened read-only, up to abi::kMaxDevices, by one audited
// path: a regular file only, never one in /proc, /sys or /dev (but
// /dev/shm) whatever symlinks lead there (the user may name such a file;
// the guest may not).
// Reads past EOF return zeros (qemu's file-posix behaviour);
// SeekData/SeekHole are lseek(2).
#ifndef INSTAR_VMM_SANDBOX_DEVICE_TABLE_H_
#define INSTAR_VMM_SANDBOX_DEVICE_TABLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "instar/guest/abi.h"

namespace instar::vmm {

class DeviceTable {
 public:
  DeviceTable() = default;
  ~DeviceTable();
  DeviceTable(const DeviceTable&) = delete;
  DeviceTable& operator=(const DeviceTable&) = delete;

  // Opens `path` read-only as the next device. On failure returns false and
  // sets *error to "Could not open '<path>': <strerror>".
  bool OpenPath(const std::string& path, std::string* error);
  // kOpen from the guest: resolves `name` against device 0's directory and
  // opens it by the audited path; kDenied for a file the guest may not reach.
  abi::CallError OpenByName(const std::string& name, abi::OpenBase base, uint32_t* device);

  size_t count() const { return fds_.size(); }
  bool Valid(uint32_t device) const { return device < fds_.size(); }
  const std::string& path(uint32_t device) const { return paths_[device]; }
  int fd(uint32_t device) const { return fds_[device]; }

  // I/O on a valid device; errors as abi::CallError.
  abi::CallError Read(uint32_t device, uint64_t offset, uint8_t* out, uint64_t length);
  abi::CallError Size(uint32_t device, uint64_t* size);
  abi::CallError SeekData(uint32_t device, uint64_t offset, uint64_t* result);
  abi::CallError SeekHole(uint32_t device, uint64_t offset, uint64_t* result);
  // st_blocks * 512 of the file.
  abi::CallError AllocatedSize(uint32_t device, uint64_t* bytes);
  // Up to `capacity` runs of data from `offset` on (abi::DataExtent), by
  // SeekData and SeekHole in turn; *count says how many.
  abi::CallError DataExtents(uint32_t device, uint64_t offset, abi::DataExtent* extents,
                             size_t capacity, uint64_t* count);

 private:
  std::vector<int> fds_;
  std::vector<std::string> paths_;
};

}  // namespace instar::vmm

#endif  // INSTAR_VMM_SANDBOX_DEVICE_TABLE_H_
