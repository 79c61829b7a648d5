// Image: an opened disk image of any supported format, and format probing.
//
// Every format reader (engine/qcow2, engine/vmdk, engine/vpc, engine/vhdx,
// engine/raw) derives from Image. The interface is what format-independent
// code needs: the virtual size, and block status in qemu's sense, which is
// what `qemu-img measure` and `map` are built on. Format-specific detail
// (qcow2 header fields, vmdk extents ...) lives on the derived classes and
// is reached only through the format's driver (instar/engine/format_driver.h),
// whose hooks are the one place that static_casts to them (there is no
// RTTI); commands look the driver up by format() and never switch on it.
//
// Readers are arena-allocated and never destroyed.
#ifndef INSTAR_ENGINE_IMAGE_H_
#define INSTAR_ENGINE_IMAGE_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/arena.h"
#include "instar/engine/bytes.h"
#include "instar/engine/device.h"
#include "instar/engine/status.h"
#include "instar/engine/version.h"

namespace instar {

enum class ImageFormat : uint8_t {
  kUnknown = 0,
  // Formats we read.
  kRaw,
  kQcow2,
  kVmdk,
  kVpc,
  kVhdx,
  // Formats we recognise so we can refuse them by name instead of misreading
  // them as raw.
  kQed,
  kVdi,
  kQcow,  // qcow version 1
  kLuks,
  kBochs,
  kCloop,
  kDmg,
  kParallels,
};

// qemu's driver name: "raw", "qcow2", "vmdk", "vpc", "vhdx", "qed", "vdi",
// "qcow", "luks", "bochs", "cloop", "dmg", "parallels"; "" for kUnknown.
const char* ImageFormatName(ImageFormat format);
// The inverse; kUnknown for an unknown name.
ImageFormat ImageFormatFromDriverName(const char* name, size_t length);
// As a user may name a format (-f, -O): the driver names, and "vhd" for kVpc.
ImageFormat ImageFormatFromName(const char* name, size_t length);
// True for the formats this engine reads.
bool IsSupportedFormat(ImageFormat format);

// Picks the format the way qemu's bdrv_find_format/find_image_format does:
// every driver's probe scores the first bytes of the file (and, for dmg, the
// file name); the highest score wins and raw is the fallback.
// `filename` is the name the user gave (only its suffix is ever looked at).
Result<ImageFormat> ProbeFormat(BlockDevice& device, const char* filename, size_t filename_length);

// Block status flags, with the values and meaning of qemu's BDRV_BLOCK_*.
namespace block_status {
constexpr uint32_t kData = 0x01;         // reads return data stored in a file
constexpr uint32_t kZero = 0x02;         // reads return zeros
constexpr uint32_t kOffsetValid = 0x04;  // `map` is the offset in `file`
constexpr uint32_t kRaw = 0x08;          // ask `file` at `map` instead (raw format)
constexpr uint32_t kAllocated = 0x10;    // this layer provides the content
constexpr uint32_t kEof = 0x20;          // the run reaches the end of the image
constexpr uint32_t kRecurse = 0x40;      // consult `file` to refine kZero
constexpr uint32_t kCompressed = 0x80;   // compressed data (qcow2)
}  // namespace block_status

struct BlockStatus {
  uint32_t flags = 0;
  uint64_t bytes = 0;           // length of the run these flags describe (> 0)
  uint64_t map = 0;             // offset in `file`, when kOffsetValid
  BlockDevice* file = nullptr;  // device that `map` refers to
};

struct OpenOptions {
  // The qemu-img version whose behaviour to follow where versions differ.
  QemuVersion compat;
  // qemu's BDRV_O_NO_IO, with which `qemu-img info` opens images: only the
  // metadata a query needs is read (a qcow2 needs no key, and its external
  // data file is not opened where the compat version skips it).
  bool no_io = false;
  // qemu's BDRV_O_CHECK, with which `qemu-img check` opens the image: a
  // qcow2's snapshot table is left for the check to read, a missing
  // refcount table is allowed, and a vhdx's BAT is not validated.
  bool check = false;
};

// The backing file an image names: its name as stored (not NUL-terminated)
// and the format it records. `format` is kUnknown when the image records
// none (the opener then probes) and also when the recorded name is no
// driver qemu has; `format_name` keeps the recorded text either way (empty
// when there is none), for qemu's "Unknown driver '...'".
struct BackingReference {
  const char* name = nullptr;
  size_t name_length = 0;
  ImageFormat format = ImageFormat::kUnknown;
  const char* format_name = nullptr;
  size_t format_name_length = 0;
};

// qemu's bdrv_getlength() of a node whose bs->total_sectors is
// `total_sectors`, the int64 its driver computed (wrapped as C wraps it):
// the length in bytes, or the failure qemu reports then, as the errno it
// passes error_setg_errno() (-ret cut to an int; 0, no ": <strerror>",
// when the cut leaves nothing). A negative count fails with its own
// negation, a count past INT64_MAX / 512 with EFBIG.
struct QemuLength {
  bool ok = true;
  uint64_t bytes = 0;
  int error_number = 0;
};
QemuLength QemuLengthOf(int64_t total_sectors);

// Whether bdrv_open_driver() of `compat` refuses a node of `total_sectors`
// ("Could not refresh total sector count: File too large"): since 6.0 the
// length, computed in unsigned 64-bit arithmetic, must not pass
// BDRV_MAX_LENGTH. 5.2 opens it, and fails when the length is asked for.
bool QemuRefusesTotalSectors(int64_t total_sectors, const QemuVersion& compat);

class Image {
 public:
  virtual ImageFormat format() const = 0;
  // Guest-visible size in bytes.
  virtual uint64_t VirtualSize() const = 0;
  // bdrv_getlength(): VirtualSize(), unless the driver computed a size in
  // sectors qemu opens but cannot give as a length (see QemuLengthOf()).
  // Each command asks where qemu-img asks, and fails in its own words;
  // VirtualSize() of such an image is not the image's size and must not be
  // walked.
  virtual QemuLength Length() const { return QemuLength{true, VirtualSize(), 0}; }
  // The file the image was opened from (qemu's bs->file).
  virtual BlockDevice& file() = 0;
  // False when the driver has no block status of its own (qemu's vhdx): the
  // generic layer then reports everything as allocated data.
  virtual bool HasDriverBlockStatus() const = 0;
  // The driver's answer for [offset, offset + bytes), qemu's
  // drv->bdrv_co_block_status(): offset < VirtualSize(), bytes > 0.
  // `want_zero` asks for precise zero detection as qemu's flag does.
  virtual Result<BlockStatus> DriverBlockStatus(bool want_zero, uint64_t offset,
                                                uint64_t bytes) = 0;
  // The request alignment qemu's block layer uses for this node
  // (bs->bl.request_alignment).
  virtual uint64_t RequestAlignment() const { return 1; }
  // Whether the image names a backing file.
  virtual bool HasBacking() const { return false; }
  // The backing file the image names (see BackingReference). False when
  // there is none.
  virtual bool GetBackingReference(BackingReference* reference) const {
    (void)reference;
    return false;
  }

  // The opened image below this one in its backing chain, or nullptr when
  // the chain was not opened (qemu's "backing": null). Set by OpenBackingChain.
  Image* backing() const { return backing_; }
  void set_backing(Image* backing) { backing_ = backing; }

 protected:
  ~Image() = default;

 private:
  Image* backing_ = nullptr;
};

// Opens `device` as `format` (which must satisfy IsSupportedFormat).
Result<Image*> OpenImage(ImageFormat format, BlockDevice& device, DeviceOpener& opener,
                         Arena& arena, const OpenOptions& options);

// qemu's path_combine(): `name` relative to the directory of `base`, or
// `name` alone when it is absolute. The result lives in `arena`.
Result<ByteView> PathCombine(ByteView base, const char* name, size_t name_length, Arena& arena);

// Where OpenBackingChain stopped, for qemu's message ("Could not open
// backing file: Could not open 'b.qcow2': No such file or directory").
struct BackingFailure {
  enum class Kind : uint8_t {
    kNone,
    kOpenFile,       // the file `path` could not be opened
    kUnknownDriver,  // `format_name` is no driver qemu has
    kOther,          // the returned Status says what
  };
  Kind kind = Kind::kNone;
  ByteView path;  // the backing file, relative to the top image's directory
  const char* format_name = nullptr;
  size_t format_name_length = 0;
};

// Opens the backing chain below `top`, as qemu does when it opens an image
// with its backing files: each backing file through `opener`, with the
// format the image above records or else probed, linked with set_backing().
// Formats we only recognise or do not know, a chain deeper than `max_depth`
// (or a loop) and files that cannot be opened are errors; `failure`, when
// given, says which.
constexpr int kMaxBackingDepth = 16;
Status OpenBackingChain(Image& top, DeviceOpener& opener, Arena& arena, const OpenOptions& options,
                        int max_depth = kMaxBackingDepth, BackingFailure* failure = nullptr);

// qemu's bdrv_block_status_above(image, NULL, ...): the driver's answer
// refined by the generic block layer (alignment, the file layer's holes via
// SeekData/SeekHole, end of file), and, where the image leaves a run
// unallocated, the answer of the images below it in the opened backing
// chain (Image::backing()). This is what `qemu-img measure` iterates over.
Result<BlockStatus> BlockStatusAbove(Image& image, uint64_t offset, uint64_t bytes,
                                     const QemuVersion& compat);

// qemu's bdrv_block_status(image, ...): the same answer for `image` alone,
// its backing chain not consulted (an unallocated run is left without
// kData and kZero unless nothing lies below it). `qemu-img map` asks each
// image of the chain in turn with it to learn the depth of each extent.
Result<BlockStatus> LayerBlockStatus(Image& image, uint64_t offset, uint64_t bytes,
                                     const QemuVersion& compat);

}  // namespace instar

#endif  // INSTAR_ENGINE_IMAGE_H_
