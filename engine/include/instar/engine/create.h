// Create: what the producing commands (create, resize, dd, amend, convert)
// write through, and the request a format driver's create hook answers.
//
// A producing command writes only to a WritableDevice: inside the sandbox a
// device the host opened for writing for that one operation (under a
// temporary name it renames when the guest reports success), in the tests
// a vector. Every write is bounds-checked by whoever serves the device; a
// writer never assumes a write landed without looking at its Status.
//
// The create hook of a FormatDriver (format_driver.h) is qemu's
// bdrv_co_create_opts for that format: given the target's -o options,
// already parsed and checked against the release's option table
// (ParseMeasureOptions(), instar/engine/measure.h) and the virtual size,
// it writes a new image to an empty device, as qemu-img create of
// `compat` writes it, byte for byte wherever qemu's layout is
// deterministic. Option errors use the option-error vocabulary measure
// and create share (MeasureError), worded by FormatMeasureError().
#ifndef INSTAR_ENGINE_CREATE_H_
#define INSTAR_ENGINE_CREATE_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/arena.h"
#include "instar/engine/device.h"
#include "instar/engine/measure.h"
#include "instar/engine/status.h"

namespace instar {

// A BlockDevice that can be written: the output of a producing command.
// Writes past the end grow the file (the bytes between read as zeros), as
// pwrite(2) does.
class WritableDevice : public BlockDevice {
 public:
  // Writes `length` bytes at `offset`. A range past kMaxRangeEnd or over
  // the device's limit is an error, and nothing is written.
  virtual Status Write(uint64_t offset, const void* data, size_t length) = 0;
  // Write(), the bytes lent: `data` may still be read after this returns,
  // until the run's next device call other than a read returns, and the
  // caller leaves it unchanged until then (no read before it lands there).
  // The host is spared a copy (abi.h, kCallLent). By default it is Write().
  virtual Status WriteLent(uint64_t offset, const void* data, size_t length) {
    return Write(offset, data, length);
  }
  // Sets the file's length (ftruncate(2)): shorter drops the tail, longer
  // adds a hole that reads as zeros.
  virtual Status Truncate(uint64_t size) = 0;
  // Reserves [offset, offset + length) on the file system without writing
  // it (posix_fallocate(2)), growing the file as needed: qemu's
  // preallocation=falloc.
  virtual Status Allocate(uint64_t offset, uint64_t length) = 0;
  // Makes what was written durable (fdatasync(2)); qemu flushes before it
  // reports a created image.
  virtual Status Flush() = 0;
  // Makes [offset, offset + length) read as zeros, deallocated where the
  // file system can (a hole punched), the file's length kept: qemu's
  // write-zeroes with unmap on a file (abi kZeroRange). NotSupported for a
  // device that cannot (the default).
  virtual Status ZeroRange(uint64_t /*offset*/, uint64_t /*length*/) {
    return Status::NotSupported("this device cannot zero a range");
  }
  // Another output of the same command, beside this one: the file `name`
  // (as the image names it, relative to this file's directory) that the
  // host created for the run (FormatDriver::sibling_outputs), made in
  // `arena`. An IOError when the host made no such output; NotSupported
  // for a device that has no siblings (the default).
  virtual Result<WritableDevice*> OpenSibling(const char* /*name*/, size_t /*length*/,
                                              Arena& /*arena*/) {
    return Status::NotSupported("no other output beside this one");
  }

 protected:
  ~WritableDevice() = default;
};

class Image;

// The backing file as a create hook that reads it opens it (vmdk's reads
// its parent's CID: vmdk_co_do_create() opens the file itself, even with
// qemu-img create -u): `name` as the backing_file option gives it,
// relative to the target's directory, read-only, without its own backing
// chain, its format probed. On failure the error, with `why`, a string
// literal, saying what went wrong.
class BackingFileOpener {
 public:
  virtual Result<Image*> Open(MeasureText name, const char** why) = 0;

 protected:
  ~BackingFileOpener() = default;
};

// What `qemu-img create` asks of a format driver.
struct CreateRequest {
  // The -o text parsed for the target format; its `target` is the format.
  const ParsedMeasureOptions* options = nullptr;
  // The virtual size in bytes (the size argument, or the backing file's
  // size when it is left out).
  uint64_t size = 0;
  // -b and -F are in `options` as backing_file and backing_fmt, where
  // qemu-img create puts them too; a hook that reads the backing file
  // opens it through `backing_opener` (null: the caller has none, and such
  // a hook refuses a backing file).
  BackingFileOpener* backing_opener = nullptr;
  // The name of the file being created as the user gave it (a vmdk
  // descriptor names its extents after it).
  MeasureText target_name;
  // What qemu takes from the clock and the random generator when it
  // creates an image (vpc's timestamp, vhdx's GUIDs, vmdk's CID): the guest
  // has neither, so the host passes them in. Seconds since the Unix epoch,
  // and random bytes a writer consumes in its own documented order.
  uint64_t now_seconds = 0;
  uint8_t random[64] = {};
};

// The name of a file beside the target that a create writes besides the
// target itself (FormatDriver::sibling_outputs): a base name, in the
// target's directory.
// The most files one image has beside its target, for the host to create
// (FormatDriver::sibling_outputs; a split vmdk's extents, 2 GiB each).
constexpr size_t kMaxSiblingOutputs = 256;

struct SiblingName {
  static constexpr size_t kCapacity = 256;  // NAME_MAX and its NUL
  char text[kCapacity] = {};
  size_t length = 0;
  // siblings_in_place: the file can be there only if the name before it
  // is (the next of a numbered series, which ends at its first missing
  // file), so the host looks for it only then.
  bool follows = false;
};

}  // namespace instar

#endif  // INSTAR_ENGINE_CREATE_H_
