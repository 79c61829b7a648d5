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
//
// A producing command's output (OpenOutput, or OpenInPlace for a command
// that modifies the image the user named) is writable. OpenOutput's is
// device 0, a new file under a temporary name beside the target,
// `.<target's base name>.instar-XXXXXX` in the target's directory (so the
// final rename(2) is atomic), with the mode qemu creates files with (0644
// less the umask). A format whose image is several files (a vmdk
// monolithicFlat: the descriptor and its `-flat` extent) has more outputs,
// created the same way before the run by OpenSiblingOutput(): a base name
// only, in the target's directory, never elsewhere. The guest reaches one
// by name (kOpen with OpenBase::kOutput), and only those the host created.
// Writes, truncation and fallocate end within the write limit the command
// set, which bounds the outputs' sizes summed. CommitOutput() renames every
// output the guest used over its target (the others are removed),
// replacing existing files as qemu-img create does; anything else (an
// error, a guest crash, the table destroyed first, SIGINT, SIGTERM, SIGHUP,
// or the host confinement's SIGSYS) unlinks them all, so each target is
// either untouched or the complete new file. Only SIGKILL leaves temporary
// files behind, under that recognisable name.
//
// OpenInPlace's is the existing file itself, opened read-write (resize and
// amend modify an image in place, as qemu-img does): never created,
// truncated, renamed or removed by the table; the same write limit bounds
// every write, truncation and fallocate on it.
//
// OpenOutput's writes are done behind the guest (write_behind.h): the table
// answers a write once it has a copy, and waits for the queued writes
// before any other call on the output and before the commit, which fails
// ("Could not write '<target>': ...") when one of them did. OpenInPlace's
// are done before they are answered.
#ifndef INSTAR_VMM_SANDBOX_DEVICE_TABLE_H_
#define INSTAR_VMM_SANDBOX_DEVICE_TABLE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "instar/guest/abi.h"
#include "vmm/sandbox/write_behind.h"

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
  // Creates the output of a producing command as the next device, a root
  // (device 0: before any other), writable up to `write_limit` bytes. On
  // failure returns false with qemu's "Could not create '<target>': ..."
  // in *error.
  bool OpenOutput(const std::string& target, uint64_t write_limit, std::string* error);
  // Opens the existing image `path` read-write as the next device, a root
  // (device 0: before any other), writable up to `write_limit` bytes: the
  // output of a command that modifies it in place. Only a regular file or a
  // block device; on failure returns false with qemu's reason in *error
  // ("Could not open '<path>': <strerror>"), as OpenPath.
  bool OpenInPlace(const std::string& path, uint64_t write_limit, std::string* error);
  // Creates another output of the producing command, beside device 0's
  // target: the file `name` (a base name: no '/', not "." or "..") in the
  // target's directory, under its own temporary name, as the next device
  // (not a root: after every root the host opens). Only after OpenOutput();
  // at most kMaxOutputs outputs in all. The guest may then open it by name
  // (OpenBase::kOutput). On failure returns false with qemu's "Could not
  // create '<path>': ..." in *error.
  bool OpenSiblingOutput(const std::string& name, std::string* error);
  // The file `name` (a base name) beside an image OpenInPlace() opened,
  // opened for writing in place too as the next device (not a root), when
  // it exists: the file a write into that image in place may change, as
  // its format names it (FormatDriver::siblings_in_place; a vmdk's
  // `-flat` extent for `convert -n`). The guest reaches it as it reaches an
  // output: by name, and with OpenBase::kOutput. A missing file is no
  // error (nothing is opened; *found, when given, says which); any other
  // failure returns false with "Could not open '<path>': <strerror>" in
  // *error.
  bool OpenSiblingInPlace(const std::string& name, std::string* error, bool* found = nullptr);
  // Renames every output the guest used over its target (fdatasync first,
  // unless flushes are skipped), device 0's last; an output the guest never
  // opened is removed instead. The termination signals wait until the
  // renames are done. False with *error set when one fails: every
  // temporary file is then removed, and so is every target already renamed
  // in this commit.
  bool CommitOutput(std::string* error);
  // qemu's cache=unsafe for the output (what `qemu-img convert` opens its
  // target with unless -t says otherwise): the guest's flushes succeed
  // without an fdatasync, and so does the commit's. The file is complete
  // and renamed into place when the command ends, and the kernel writes it
  // back in its own time, as it does qemu-img's.
  void SkipFlushes() { skip_flushes_ = true; }
  // Removes every output's temporary file (a failed or aborted run).
  void DiscardOutput();
  // The outputs' descriptors, device 0's first; empty when the table has
  // none: the files the host confinement lets the host write to
  // (host_confinement.h).
  std::vector<int> output_fds() const;
  // Device 0's temporary name; empty for an output written in place, and
  // once committed or discarded.
  const std::string& output_temp_path() const;
  bool Writable(uint32_t device) const { return FindOutput(device) != nullptr; }
  uint64_t write_limit() const { return write_limit_; }
  // Whether a write, truncation or fallocate of writable `device` ending at
  // `end` keeps the outputs' sizes summed (each the furthest end reached on
  // it so far) within the write limit.
  bool WithinWriteLimit(uint32_t device, uint64_t end) const;

  // Device 0 and the files beside it (engine's kMaxSiblingOutputs: a split
  // vmdk of up to 512 GiB, an extent per 2 GiB).
  static constexpr size_t kMaxOutputs = 257;

  // kOpen from the guest on behalf of root `root`: resolves `name` against
  // that root's directory (kImageDirectory) and opens it by the audited
  // path; kDenied for a file the guest may not reach, kBadDevice when
  // `root` is no root. A name that resolves to an output's target is that
  // output (the file it will be), whatever lies there now. kOutput opens
  // only an output (OpenSiblingOutput's or OpenSiblingInPlace's), which it
  // marks as used, and is kNotFound for any other name.
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
  // I/O on the writable device; the caller (CallHandler) checked the range
  // against the write limit. A `lent` write (abi::kCallLent) of a new
  // output is written from `data` itself after Write() returns, not from a
  // copy: the memory must stay mapped until ReleaseLent().
  abi::CallError Write(uint32_t device, uint64_t offset, const uint8_t* data, uint64_t length,
                       bool lent = false);
  // The newest lent write whose memory may still be read (a ticket for
  // ReleaseLent), or 0.
  uint64_t lent_write() const { return lent_write_; }
  // Waits until lent write `ticket` (0: the newest) is done with its memory.
  void ReleaseLent(uint64_t ticket = 0);
  abi::CallError Truncate(uint32_t device, uint64_t size);
  abi::CallError Allocate(uint32_t device, uint64_t offset, uint64_t length);
  // kZeroRange: [offset, offset + length) of writable `device` reads as
  // zeros afterwards, as file-posix makes it for a write-zeroes with unmap
  // (handle_aiocb_write_zeroes_unmap): a hole punched (the file's length
  // kept), else, where the file system cannot punch one, the range zeroed
  // (FALLOC_FL_ZERO_RANGE), else zeros written.
  abi::CallError ZeroRange(uint32_t device, uint64_t offset, uint64_t length);
  abi::CallError Flush(uint32_t device);

 private:
  // One writable file: device 0's, or a sibling.
  struct Output {
    uint32_t device = 0;
    std::string target;   // where CommitOutput() puts it
    std::string temp;     // its temporary name; empty when written in place
    bool opened = false;  // the guest opened it by name (kOpen, kOutput)
    uint64_t reach = 0;   // the furthest end a write, truncate or fallocate reached
  };
  const Output* FindOutput(uint32_t device) const;
  Output* FindOutput(uint32_t device);
  // Creates `target` under its temporary name as the next device.
  bool CreateOutput(const std::string& target, std::string* error);
  // Opens the existing file `path` for writing in place as the next
  // device, an output with no temporary name.
  bool AddInPlaceOutput(const std::string& path, std::string* error);
  // The file `name` in device 0's directory.
  std::string BesideTarget(const std::string& name) const;
  void Reached(uint32_t device, uint64_t end);
  // Waits for the outputs' queued writes when `device` is an output: kOk,
  // or the error one of them met.
  abi::CallError Settle(uint32_t device);

  std::vector<int> fds_;
  std::vector<std::string> paths_;
  size_t roots_ = 0;
  std::vector<Output> outputs_;  // device 0's first
  uint64_t write_limit_ = 0;
  bool skip_flushes_ = false;
  // The new outputs' writes, done behind the guest (write_behind.h).
  std::unique_ptr<WriteBehind> write_behind_;
  uint64_t lent_write_ = 0;
};

// Waits, when it goes out of scope, until no lent write reads the guest's
// memory: each backend declares one after that memory, so a run that ends
// any way (a crash, a time-out) leaves no write reading memory unmapped.
class LentWritesReleased {
 public:
  explicit LentWritesReleased(DeviceTable& devices) : devices_(devices) {}
  ~LentWritesReleased() { devices_.ReleaseLent(); }
  LentWritesReleased(const LentWritesReleased&) = delete;
  LentWritesReleased& operator=(const LentWritesReleased&) = delete;

 private:
  DeviceTable& devices_;
};

// Removes every pending output's temporary file; async-signal-safe
// (unlink(2) of names kept in static buffers), for the host confinement's
// SIGSYS handler and the termination signals.
void UnlinkPendingOutput();

}  // namespace instar::vmm

#endif  // INSTAR_VMM_SANDBOX_DEVICE_TABLE_H_
