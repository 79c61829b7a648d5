#include "instar/engine/bytes.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/image.h"

#include "core/reader_util.h"

namespace instar {

QemuLength QemuLengthOf(int64_t total_sectors) {
  QemuLength length;
  if (total_sectors < 0) {
    length.ok = false;
    // qemu negates the int64 and hands error_setg_errno() an int: the
    // negation wraps at INT64_MIN and the cut keeps the low 32 bits.
    const uint64_t negated = uint64_t{0} - static_cast<uint64_t>(total_sectors);
    length.error_number = static_cast<int>(static_cast<uint32_t>(negated));
    return length;
  }
  if (static_cast<uint64_t>(total_sectors) > uint64_t{INT64_MAX} / 512) {
    length.ok = false;
    length.error_number = 27;  // EFBIG
    return length;
  }
  length.bytes = static_cast<uint64_t>(total_sectors) * 512;
  return length;
}

bool QemuRefusesTotalSectors(int64_t total_sectors, const QemuVersion& compat) {
  return compat.AtLeast(6, 0) && static_cast<uint64_t>(total_sectors) * 512 > kBdrvMaxLength;
}

Result<Image*> OpenImage(ImageFormat format, BlockDevice& device, DeviceOpener& opener,
                         Arena& arena, const OpenOptions& options) {
  const FormatDriver* driver = FindFormatDriver(format);
  if (driver == nullptr || driver->open == nullptr) {
    return Status::NotSupported("image format is not supported");
  }
  return driver->open(device, opener, arena, options);
}

Result<ByteView> PathCombine(ByteView base, const char* name, size_t name_length, Arena& arena) {
  size_t dir_length = 0;
  if (name_length == 0 || name[0] != '/') {
    for (size_t i = base.size; i > 0; --i) {
      if (base.data[i - 1] == '/') {
        dir_length = i;
        break;
      }
    }
  }
  auto* out = arena.AllocateArray<uint8_t>(dir_length + name_length);
  if (out == nullptr) return Status::NoSpace("out of memory for a backing file name");
  CopyBytes(out, base.data, dir_length);
  CopyBytes(out + dir_length, name, name_length);
  return ByteView{out, dir_length + name_length};
}

Status OpenBackingChain(Image& top, DeviceOpener& opener, Arena& arena, const OpenOptions& options,
                        int max_depth, BackingFailure* failure) {
  BackingFailure ignored;
  if (failure == nullptr) failure = &ignored;
  *failure = BackingFailure{};
  failure->kind = BackingFailure::Kind::kOther;
  Image* image = &top;
  ByteView path;  // of `image`, relative to the top image's directory
  for (int depth = 1;; ++depth) {
    BackingReference reference;
    if (!image->GetBackingReference(&reference)) {
      failure->kind = BackingFailure::Kind::kNone;
      return Status::Ok();
    }
    if (depth >= max_depth) {
      return Status::NotSupported("backing chain too deep (or a loop)");
    }
    // qemu looks the driver up before it opens the file.
    ImageFormat format = reference.format;
    if (format == ImageFormat::kUnknown && reference.format_name_length > 0) {
      failure->kind = BackingFailure::Kind::kUnknownDriver;
      failure->format_name = reference.format_name;
      failure->format_name_length = reference.format_name_length;
      return Status::InvalidArgument("Unknown driver");
    }
    INSTAR_ASSIGN_OR_RETURN(path, PathCombine(path, reference.name, reference.name_length, arena));
    failure->path = path;
    Result<BlockDevice*> device = opener.Open(reinterpret_cast<const char*>(path.data), path.size);
    if (!device.ok()) {
      failure->kind = BackingFailure::Kind::kOpenFile;
      return device.status();
    }
    if (format == ImageFormat::kUnknown) {
      INSTAR_ASSIGN_OR_RETURN(format, ProbeFormat(**device, reference.name, reference.name_length));
    }
    if (!IsSupportedFormat(format)) {
      return Status::NotSupported("backing file format is not supported");
    }
    INSTAR_ASSIGN_OR_RETURN(Image * backing, OpenImage(format, **device, opener, arena, options));
    image->set_backing(backing);
    image = backing;
  }
}

}  // namespace instar
