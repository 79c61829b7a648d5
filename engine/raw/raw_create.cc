// raw's create hook: qemu's raw_co_create_opts (block/raw-format.c), which
// hands the whole job to the file protocol (block/file-posix.c
// raw_co_create): the file is emptied, then grown to the size as the
// preallocation mode says (handle_aiocb_truncate()):
//
//   off       ftruncate(size): a hole that reads as zeros, but for its
//             first block: qemu's allocate_first_block() writes 4 KiB of
//             zeros at 0 (512 bytes when the file is smaller), so that
//             later O_DIRECT probing finds the block allocated (info's
//             actual-size then says 4096)
//   falloc    posix_fallocate(0, size): reserved, unwritten
//   full      ftruncate(size), then zeros written over [0, size) in 64 KiB
//             writes (qemu's buffer; instar sends them kMaxTransfer at a
//             time, the bytes on disk are the same)
//   metadata  refused after the file was made: "Unsupported preallocation
//             mode: metadata" (every release of the matrix)
//
// The size is rounded up to a multiple of 512 first (raw_co_create_opts
// in file-posix), so a 100-byte image is a 512-byte file.
//
// A value that is no preallocation mode is refused when the create runs
// ("invalid parameter value: X"), after qemu-img printed its Formatting
// line, as qemu's qapi_enum_parse() in raw_co_create_opts does.
// nocow and extent_size_hint are attributes of the host's file system
// (chattr +C, FS_IOC_FSSETXATTR) that qemu sets with ioctls where the
// file system has them; instar's host sets neither (docs/divergences.md).
#include "raw/raw_create.h"
#include "instar/engine/bytes.h"
#include "instar/engine/create.h"
#include "instar/engine/format_driver.h"
#include "measure/measure_internal.h"

namespace instar {

namespace {

using K = MeasureOptionKey;

enum class RawPreallocation : uint8_t { kOff, kMetadata, kFalloc, kFull };

// How many zero bytes one write of preallocation=full sends.
constexpr size_t kZeroChunkBytes = 1 << 20;
// file-posix's BDRV_SECTOR_SIZE and MAX_BLOCKSIZE.
constexpr uint64_t kSectorBytes = 512;
constexpr uint64_t kMaxBlockBytes = 4096;

bool TextIs(MeasureText text, const char* literal) {
  size_t i = 0;
  for (; i < text.length; ++i) {
    if (literal[i] == '\0' || literal[i] != text.data[i]) return false;
  }
  return literal[i] == '\0';
}

Status ParseRawPreallocation(const ParsedMeasureOptions& options, RawPreallocation* out,
                             MeasureError* error) {
  *out = RawPreallocation::kOff;
  const MeasureOptionValue& value = options.Get(K::kPreallocation);
  if (!value.present) return Status::Ok();
  static constexpr const char* kNames[] = {"off", "metadata", "falloc", "full"};
  for (size_t i = 0; i < sizeof(kNames) / sizeof(kNames[0]); ++i) {
    if (TextIs(value.text, kNames[i])) {
      *out = static_cast<RawPreallocation>(i);
      return Status::Ok();
    }
  }
  error->value = value.text;
  return measure_internal::MeasureFailure(error, MeasureErrorKind::kInvalidEnumValue,
                                          "invalid preallocation mode");
}

Status DeviceFailure(MeasureError* error, const char* words, const Status& status) {
  error->kind = MeasureErrorKind::kSourceLength;
  error->detail = words;
  error->source_code = status.code();
  return status;
}

}  // namespace

Status CreateRaw(const CreateRequest& request, WritableDevice& device,
                 const QemuVersion& /*compat*/, Arena& arena, MeasureError* error) {
  if (request.options == nullptr) return Status::InvalidArgument("create without options");
  RawPreallocation preallocation = RawPreallocation::kOff;
  INSTAR_RETURN_IF_ERROR(ParseRawPreallocation(*request.options, &preallocation, error));
  uint64_t size = 0;
  if (!CheckedAlignUp(request.size, kSectorBytes, &size) ||
      size > static_cast<uint64_t>(INT64_MAX)) {
    return DeviceFailure(error, "Could not resize file", Status::OutOfRange("size too large"));
  }
  // raw_co_create: the file is emptied before anything else.
  if (Status s = device.Truncate(0); !s.ok()) {
    return DeviceFailure(error, "Could not resize file", s);
  }
  switch (preallocation) {
    case RawPreallocation::kOff: {
      if (Status s = device.Truncate(size); !s.ok()) {
        return DeviceFailure(error, "Could not resize file", s);
      }
      if (size == 0) break;
      // allocate_first_block(): errors are ignored there too.
      static constexpr uint8_t kZeros[kMaxBlockBytes] = {};
      (void)device.Write(0, kZeros, size < kMaxBlockBytes ? kSectorBytes : kMaxBlockBytes);
      break;
    }
    case RawPreallocation::kMetadata:
      error->kind = MeasureErrorKind::kNotSupported;
      error->detail = "Unsupported preallocation mode: metadata";
      return Status::NotSupported("raw cannot preallocate metadata");
    case RawPreallocation::kFalloc:
      if (size == 0) break;
      if (Status s = device.Allocate(0, size); !s.ok()) {
        return DeviceFailure(error, "Could not preallocate new data", s);
      }
      break;
    case RawPreallocation::kFull: {
      if (Status s = device.Truncate(size); !s.ok()) {
        return DeviceFailure(error, "Could not resize file", s);
      }
      const size_t mark = arena.Mark();
      auto* zeros = arena.AllocateArray<uint8_t>(kZeroChunkBytes);
      if (zeros == nullptr) return Status::NoSpace("out of memory for preallocation");
      FillBytes(zeros, 0, kZeroChunkBytes);
      Status written = Status::Ok();
      for (uint64_t at = 0; at < size && written.ok();) {
        const uint64_t left = size - at;
        const size_t n = left < kZeroChunkBytes ? static_cast<size_t>(left) : kZeroChunkBytes;
        written = device.Write(at, zeros, n);
        at += n;
      }
      arena.Reset(mark);
      if (!written.ok())
        return DeviceFailure(error, "Could not write zeros for preallocation", written);
      break;
    }
  }
  if (Status s = device.Flush(); !s.ok()) {
    return DeviceFailure(error, "Could not flush", s);
  }
  return Status::Ok();
}

}  // namespace instar
