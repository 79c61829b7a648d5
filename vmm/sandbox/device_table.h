// DeviceTable: the host files one guest run may reach, by device number.
//
// The first devices are the images the user named, opened by the host
// before the run (OpenPath): device 0, and for compare device 1 as well;
// these are the roots. The guest may ask to open more by name (a backing
// file, a vmdk extent, an external data file) on behalf of one root: the
// name is resolved the way qemu's path_combine() does, relative to that
// root's directory unless absolute, and opened read-only, up to
// abi::kMaxDevices, by one audited path: a regular file only, never one in
// /proc, /sys or /dev (but /dev/shm) whatever symlinks lead there (the user
// may name such a file; the guest may not). Every file a run reaches is in
// the table, by the path it was opened under. Reads past EOF return zeros
// (qemu's file-posix behaviour); SeekData/SeekHole are lseek(2).
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

  // Opens `path` read-only as the next device, a root. On failure returns
  // false and sets *error to "Could not open '<path>': <strerror>". Only
  // before the run, so the roots are the first devices.
  bool OpenPath(const std::string& path, std::string* error);
  // kOpen from the guest on behalf of root `root`: resolves `name` against
  // that root's directory (kImageDirectory) and opens it by the audited
  // path; kDenied for a file the guest may not reach, kBadDevice when
  // `root` is no root.
  abi::CallError OpenByName(const std::string& name, abi::OpenBase base, uint32_t root,
                            uint32_t* device);

  size_t count() const { return fds_.size(); }
  // How many devices are roots: the images the user named.
  size_t roots() const { return roots_; }
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
  size_t roots_ = 0;
};

}  // namespace instar::vmm

#endif  // INSTAR_VMM_SANDBOX_DEVICE_TABLE_H_
