// What every operation gets, and the helpers they share. Private to
// guest/ops.
#ifndef INSTAR_GUEST_OPS_OPERATION_H_
#define INSTAR_GUEST_OPS_OPERATION_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/arena.h"
#include "instar/engine/create.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/image.h"
#include "instar/engine/modify.h"
#include "instar/engine/status.h"
#include "instar/engine/version.h"
#include "instar/guest/abi.h"
#include "instar/guest/command_table.h"
#include "instar/guest/result_codec.h"
#include "instar/guest/text_builder.h"
#include "instar/guest/transport.h"

namespace instar::guest {

struct OperationContext {
  const abi::OperationConfig& config;
  Transport& transport;
  Arena& arena;
  ResultWriter& writer;  // started for config.operation
  // What the user sees when the operation fails: the lines qemu-img would
  // print on stderr, error lines starting with "qemu-img: " (the host puts
  // its own program name there), hint lines without. An operation that
  // leaves it empty is reported as "qemu-img: <Status message>".
  TextBuilder& error;
  QemuVersion compat;
};

// An operation writes its records on success; on failure it returns the
// Status (and may fill ctx.error) and RunOperation writes the error result.
// One per command the command table (instar/guest/command_table.h) marks
// IMPLEMENTED, each in its own <name>_operation.cc:
//   Status <Name>Operation(OperationContext& ctx);
#define INSTAR_DECLARE_OPERATION(name, Name, operation) \
  Status Name##Operation(OperationContext& ctx);
INSTAR_COMMAND_TABLE(INSTAR_DECLARE_OPERATION, INSTAR_COMMAND_SKIPPED)
#undef INSTAR_DECLARE_OPERATION

// The image the user named (device 0), probed unless -f gave a format, and
// opened. On failure ctx.error holds qemu's
// "qemu-img: Could not open '<name>': ...".
struct OpenedImage {
  Image* image = nullptr;
  ImageFormat format = ImageFormat::kUnknown;
  // With ImageOpenFlags::writable: the device the image was opened over,
  // the one the driver's resize and amend hooks write through.
  WritableDevice* writable = nullptr;
};
// How a command opens the user's image, as qemu-img's open flags say.
enum class BackingChain {
  kSkip,  // BDRV_O_NO_BACKING: named, not opened (`qemu-img info`)
  kOpen,  // the whole chain (`measure`, `map`, `check`)
};
struct ImageOpenFlags {
  BackingChain backing = BackingChain::kSkip;
  bool no_io = false;  // BDRV_O_NO_IO (`qemu-img info`), see OpenOptions
  bool check = false;  // BDRV_O_CHECK (`qemu-img check`), see OpenOptions
  // BDRV_O_RDWR (`qemu-img resize`, `amend`): the image is read through the
  // writable device the host opened in place (abi.h, "Writable devices").
  bool writable = false;
};
Result<OpenedImage> OpenUserImage(OperationContext& ctx, const ImageOpenFlags& flags);

// The "qcow2: Image is corrupt: ..." line each image of `top`'s chain
// printed when a read found it corrupt, top first, each with its newline:
// what qemu-img printed before the error line of a walk that failed there.
void AppendCorruptionReports(TextBuilder& text, Image& top);

// The same for any image the user named: `device` (0, or 1 for compare's
// second image), `name` as the user gave it (NUL-terminated, within
// `name_size` bytes), `format_hint` from -f/-F (0: probe). Its backing
// files are opened relative to its own directory.
Result<OpenedImage> OpenNamedImage(OperationContext& ctx, uint32_t device, const char* name,
                                   size_t name_size, uint32_t format_hint,
                                   const ImageOpenFlags& flags);

// The image the user named, opened for resize or amend (BDRV_O_RDWR, the
// backing chain opened read-only) over the in-place writable device; into
// `warning` the lines qemu prints on stderr when it opens an image for
// writing whose format it probed as raw (resize_operation.cc).
Result<OpenedImage> OpenImageForModify(OperationContext& ctx, TextBuilder& warning);
// A failure after that open: ctx.error (or "qemu-img: <status>" when it is
// empty) with the `warning` lines in front, as qemu printed them; returns
// `status`.
Status FailWithWarning(OperationContext& ctx, const TextBuilder& warning, Status status);

// strerror() of the errno a failed read or write of guest data returns in
// qemu: EIO for everything the engine reports as an I/O error or a
// corruption; instar's own words otherwise (compare, dd).
void AppendReadFailure(TextBuilder& text, const Status& status);

// The target of a producing command (dd, convert), just made by its
// driver's create hook on `output` (device 0): opened by the format's
// reader and, through the driver's open_writer, for guest writes, with
// the host's clock and random bytes. On failure ctx.error holds qemu's
// "Could not open 'NAME': ..." or, for a driver without a writer, instar's
// "NAME: instar cannot write guest data to a F image yet".
struct OpenedTarget {
  Image* image = nullptr;
  ImageWriter* writer = nullptr;
};
Result<OpenedTarget> OpenTargetForWrites(OperationContext& ctx, const FormatDriver& driver,
                                         WritableDevice& output, uint64_t now_seconds,
                                         const uint8_t* random);

// CreateRequest::backing_opener for the create and convert operations: the
// backing file opened on behalf of device 0 (the target), relative to its
// directory, read-only, without its chain, its format probed. After a
// failure ctx.error may hold the open's words: the callers word a create
// hook's failure themselves.
class CreateBackingOpener final : public BackingFileOpener {
 public:
  explicit CreateBackingOpener(OperationContext& ctx) : ctx_(ctx) {}
  Result<Image*> Open(MeasureText name, const char** why) override;

 private:
  OperationContext& ctx_;
};

// -l as the host put it in a config (MeasureConfig's and ConvertConfig's
// snapshot fields): the snapshot to load, kind kNone for none. An
// unterminated text or an unknown kind is InvalidArgument.
Status ReadSnapshotConfig(uint32_t kind, uint32_t flags, const char* name, size_t name_size,
                          const char* id, size_t id_size, MeasureSnapshot* out);

// Whether text[0, length) starts with prefix[0, prefix_length).
bool StartsWith(const char* text, size_t length, const char* prefix, size_t prefix_length);

// The length of an option error's text as create and amend print it: the
// engine's words (FormatMeasureError()) up to measure's own "Invalid
// options for file format" line, which img_measure prints and
// bdrv_img_create() and img_amend() do not, without trailing newlines.
size_t TrimOptionErrorText(const char* text, size_t length);

}  // namespace instar::guest

#endif  // INSTAR_GUEST_OPS_OPERATION_H_
