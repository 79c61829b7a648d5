// FormatDriver: everything the engine knows about one image format, in one
// object, in the spirit of qemu's BlockDriver (bdrv_qcow2, bdrv_vmdk ...).
//
// Every format qemu-img knows by name has a driver: the five the engine
// reads (engine/qcow2, engine/vmdk, engine/vpc, engine/vhdx, engine/raw,
// each in a *_driver.cc of its folder) and the ones it only recognises so
// that it can refuse them by name (engine/core/recognised_drivers.cc).
// A driver is a struct of hooks; a null hook means the format cannot do
// that, and the command that needs it answers with qemu-img's own "does
// not support" wording, in one place per command (OpenImage(), Measure(),
// LookUpMeasureTarget(), CheckImage(); the words are in
// engine/measure/errors.cc and, for check, on the host).
//
// Commands never switch on the format: they look the driver up
// (FindFormatDriver) and call its hook. Adding a format is one driver
// object and one line in the table (engine/core/format_driver.cc).
#ifndef INSTAR_ENGINE_FORMAT_DRIVER_H_
#define INSTAR_ENGINE_FORMAT_DRIVER_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/check.h"
#include "instar/engine/create.h"
#include "instar/engine/image.h"
#include "instar/engine/measure.h"
#include "instar/engine/modify.h"

namespace instar {

class Qcow2Image;
class VmdkImage;

// What `qemu-img info` asks a format driver (block/qapi.c
// bdrv_query_image_info): bdrv_get_info(), encryption, the backing file
// as the image names it, and bdrv_get_specific_info().
struct ImageDescription {
  // bdrv_get_info(): `has_driver_info` false when it fails (qemu then
  // prints neither a cluster size nor a dirty flag); cluster_size 0: none.
  bool has_driver_info = true;
  uint64_t cluster_size = 0;
  bool dirty = false;
  bool encrypted = false;
  // The backing file name and format text as stored (not NUL-terminated);
  // length 0 when the image names none.
  const char* backing_name = nullptr;
  size_t backing_name_length = 0;
  const char* backing_format = nullptr;
  size_t backing_format_length = 0;
  // bdrv_get_specific_info(), qemu's ImageInfoSpecific union: at most one
  // is set, by the driver whose format has format-specific information.
  Qcow2Image* qcow2 = nullptr;
  VmdkImage* vmdk = nullptr;
};

// One key of a driver's create options (qemu's QemuOptsList create_opts).
enum class CreateOptionType : uint8_t { kString, kBool, kNumber, kSize };
struct CreateOption {
  const char* name;
  MeasureOptionKey key;
  CreateOptionType type;
  // The first release that has the key (0.0: every release of the matrix).
  uint16_t since_major = 0;
  uint16_t since_minor = 0;
};

// A driver's create options: `options[0 .. count)`; none when `options` is
// null (the driver cannot create images).
struct CreateOptionList {
  const CreateOption* options = nullptr;
  size_t count = 0;
};
template <size_t N>
constexpr CreateOptionList CreateOptions(const CreateOption (&options)[N]) {
  return {options, N};
}

// Defined with designated initializers that name only the hooks a driver
// has (as qemu's BlockDriver definitions do); the rest stay null.
struct FormatDriver {
  ImageFormat format = ImageFormat::kUnknown;
  // qemu's format_name: "qcow2", "vpc" ...
  const char* name = "";
  // The first release of the matrix whose Debian build has the driver
  // (0: all of them). Only `qemu-img measure -O` asks today.
  uint16_t since_major = 0;

  // bdrv_probe: a score for the first `size` bytes of the file (zero-padded
  // past its end) and the file name; 0 is "not this format", 100 certain.
  int (*probe)(const uint8_t* buffer, size_t size, const char* filename,
               size_t filename_length) = nullptr;
  // bdrv_open. Null for the formats the engine only recognises.
  Result<Image*> (*open)(BlockDevice& device, DeviceOpener& opener, Arena& arena,
                         const OpenOptions& options) = nullptr;
  // qemu's supports_backing: an unallocated run with no backing file open
  // reads as zeros.
  bool supports_backing = false;
  // The line qemu printed on stderr when a read found the image corrupt
  // (qcow2_signal_corruption(): "qcow2: Image is corrupt: ..."), into
  // out[0, capacity), NUL-terminated; returns its length, 0 when there was
  // none. Null: the format prints no such line.
  size_t (*corruption_report)(Image& image, char* out, size_t capacity) = nullptr;

  // bdrv_co_check, read-only: what `qemu-img check` finds in the image
  // (instar/engine/check.h); the lines qemu prints go to `log` in its
  // order. Null where qemu's driver has none: CheckImage() then answers
  // "does not support checks". An error Status is instar's own failure.
  Status (*check)(Image& image, const QemuVersion& compat, Arena& arena, CheckLog& log,
                  CheckResult* result) = nullptr;

  // Where the guest-visible bytes at `offset` (< the virtual size) lie, at
  // most `bytes` of them, for a format whose block status calls its runs
  // data without placing them (qemu's vhdx has no block status; its reads
  // go through the BAT): kOffsetValid with `map` and `file`, or kZero, and
  // `bytes` > 0. Null: the block status places every byte it can read.
  // ReadGuest() (instar/engine/compare.h) is its one caller.
  Result<BlockStatus> (*locate_data)(Image& image, uint64_t offset, uint64_t bytes) = nullptr;
  // Reads guest bytes from `offset` that the block status calls data
  // without placing and that no file holds as they are (qcow2's compressed
  // clusters, vmdk's compressed grains): at most `bytes` of them into
  // `out`, returning how many (> 0).
  // Buffers it needs come from `scratch` and are given back before it
  // returns. Null: the engine cannot read such data. ReadGuest() calls it.
  Result<uint64_t> (*read_data)(Image& image, uint64_t offset, uint64_t bytes, uint8_t* out,
                                Arena& scratch) = nullptr;
  // What the image says of itself for info (see ImageDescription); null:
  // nothing beyond the defaults (raw). Which of it a qemu-img version
  // reports is the info dialect's to decide (info_dialect.h), not the
  // driver's.
  void (*describe)(Image& image, ImageDescription* description) = nullptr;

  // create_opts (without the file protocol's, which every driver gets).
  // None: the driver cannot create images.
  CreateOptionList create_options = {};
  // What measure needs from a source image of this format beyond its
  // allocation: persistent dirty bitmaps (qcow2). Null: none.
  Status (*describe_measure_source)(Image& image, MeasureSource* source) = nullptr;
  // bdrv_measure for a target of this format. Null: qemu-img refuses.
  Status (*measure)(const MeasureRequest& request, MeasureSource* source, const QemuVersion& compat,
                    MeasureResult* result, MeasureError* error) = nullptr;
  // bdrv_co_create_opts: writes a new image of `request.size` bytes with
  // `request.options` to the empty `device`, as qemu-img create of
  // `compat` does (instar/engine/create.h). A refusal is a non-ok Status
  // and `error` in qemu's words. Null: the format cannot create images
  // (qemu-img then refuses with "Format driver '%T' does not support
  // image creation").
  Status (*create)(const CreateRequest& request, WritableDevice& device, const QemuVersion& compat,
                   Arena& arena, MeasureError* error) = nullptr;
  // The files a create of `options` and `size` bytes writes beside the
  // target named `target_name` (a vmdk monolithicFlat's `-flat` extent, a
  // split vmdk's extent per 2 GiB), each a base name in the target's
  // directory, into out[0, capacity); returns how many there are. When
  // that is more than capacity, out holds nothing of use (the create hook
  // refuses such a disk). The host creates them as outputs before the run
  // (DeviceTable::OpenSiblingOutput), and the create hook reaches them
  // through WritableDevice::OpenSibling(). Null: the image is one file.
  size_t (*sibling_outputs)(const ParsedMeasureOptions& options, MeasureText target_name,
                            uint64_t size, SiblingName* out, size_t capacity) = nullptr;
  // The files beside an existing image named `target_name` that a write
  // into it in place may change, as this format names them (a vmdk's
  // `-flat` extent; `convert -n`): the host opens those that exist for
  // writing in place (DeviceTable::OpenSiblingInPlace), and the writer
  // reaches them as it reaches sibling_outputs. An image that names
  // another file keeps it read-only. Null: none.
  size_t (*siblings_in_place)(MeasureText target_name, SiblingName* out, size_t capacity) = nullptr;
  // bdrv_co_truncate, as `qemu-img resize` calls it: changes `image`,
  // opened by this driver's reader over `device`, to `request.size` bytes
  // in place (instar/engine/modify.h). A refusal or a failure is a non-ok
  // Status in qemu's words. Null: qemu-img refuses ("Image format driver
  // does not support resize").
  Status (*resize)(Image& image, WritableDevice& device, const ResizeRequest& request,
                   const QemuVersion& compat, Arena& arena) = nullptr;
  // bdrv_amend_options: changes `image` in place as `qemu-img amend -o`
  // does. A refusal is a non-ok Status in qemu's words. Null: qemu-img
  // refuses ("Format driver '%s' does not support option amendment").
  Status (*amend)(Image& image, WritableDevice& device, const AmendRequest& request,
                  const QemuVersion& compat, Arena& arena) = nullptr;
  // Opens `image`, just written by this driver's create hook and opened by
  // its reader over `device`, for guest writes (dd, convert): the writer
  // lives in `arena`. Null: the engine cannot write guest data into this
  // format.
  Result<ImageWriter*> (*open_writer)(Image& image, WritableDevice& device,
                                      const WriterEntropy& entropy, const QemuVersion& compat,
                                      Arena& arena) = nullptr;

  // block_driver_can_compress(): the driver's writers take
  // WriteCompressed() (modify.h). False: `qemu-img convert -c` refuses
  // the format ("Compression not supported for this file format").
  bool compressed_writes = false;

  // instar's own prediction for a target qemu cannot measure, of a disk of
  // `virtual_size` bytes; used only when MeasureRequest::refuse_like_qemu
  // is false. Null: none.
  Status (*predict_size)(const MeasureRequest& request, uint64_t virtual_size,
                         MeasureSource* source, const QemuVersion& compat, MeasureResult* result,
                         MeasureError* error) = nullptr;
};

// The driver of `format`; nullptr for kUnknown.
const FormatDriver* FindFormatDriver(ImageFormat format);
// The driver qemu calls `name` (exactly its format_name); nullptr if none.
const FormatDriver* FindFormatDriverByName(const char* name, size_t length);
// Every driver, in the order qemu asks them to probe (on equal scores the
// earlier wins); raw, the fallback, is last.
const FormatDriver* const* FormatDrivers(size_t* count);

}  // namespace instar

#endif  // INSTAR_ENGINE_FORMAT_DRIVER_H_
