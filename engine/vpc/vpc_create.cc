// The vpc (VHD) writer: what `qemu-img create -f vpc` writes (block/vpc.c
// vpc_co_create_opts, vpc_co_create, create_dynamic_disk,
// create_fixed_disk). Every release of the matrix (5.2 to 11.1) writes the
// same bytes but for the clock and the UUID.
//
// The footer (512 bytes, big endian; layout in docs/formats/vpc.md):
// "conectix", features 2, version 1.0, data offset (512 for dynamic, all
// ones for fixed), the timestamp, creator "qemu" 5.3 on "Wi2k" ("qem2"
// with force_size, which tells readers to trust the current size rather
// than the geometry), original and current size (the rounded size), the
// geometry, the disk type, the checksum and the UUID.
//
//   dynamic: footer copy at 0, the "cxsparse" header at 512 (2 MiB blocks,
//            the BAT at 1536), the BAT of n = ceil(sectors / 4096) entries
//            of 0xffffffff padded to 512 bytes, then the footer.
//   fixed:   the disk (a hole), then the footer.
//
// From the host (CreateRequest): the timestamp is now_seconds - 946684800
// (seconds since 2000-01-01 UTC, as uint32_t); the UUID is random[0..16)
// made a version 4 UUID (the high nibble of byte 6 is 4, the top two bits
// of byte 8 are 10), as qemu_uuid_generate() makes it. No other random
// byte is used.
#include "vpc/vpc_create.h"

#include "instar/engine/bytes.h"
#include "measure/measure_internal.h"

namespace instar::vpc {

namespace {

constexpr int64_t kChsMaxCylinders = 65535;
constexpr int64_t kMaxGeometry = kChsMaxCylinders * 16 * 255;  // VHD_MAX_GEOMETRY
constexpr int64_t kMaxSectors = 0xff000000;                    // 2040 GiB
constexpr uint32_t kBlockSize = 2 << 20;
constexpr uint64_t kUnixTimeOf2000 = 946684800;  // VHD_TIMESTAMP_BASE
constexpr size_t kFooterSize = 512;
constexpr size_t kDynamicHeaderSize = 1024;
constexpr uint64_t kBatOffset = 3 * 512;

// block/vpc.c calculate_geometry(), with its integer widths.
Geometry CalculateGeometry(int64_t total_sectors) {
  Geometry g;
  uint32_t cylinders_times_heads;
  if (total_sectors > kMaxGeometry) total_sectors = kMaxGeometry;
  if (total_sectors >= int64_t{65535} * 16 * 63) {
    g.sectors_per_track = 255;
    g.heads = 16;
    cylinders_times_heads = static_cast<uint32_t>(total_sectors / g.sectors_per_track);
  } else {
    g.sectors_per_track = 17;
    cylinders_times_heads = static_cast<uint32_t>(total_sectors / g.sectors_per_track);
    g.heads = static_cast<uint8_t>((cylinders_times_heads + 1023) / 1024);
    if (g.heads < 4) g.heads = 4;
    if (cylinders_times_heads >= uint32_t{g.heads} * 1024 || g.heads > 16) {
      g.sectors_per_track = 31;
      g.heads = 16;
      cylinders_times_heads = static_cast<uint32_t>(total_sectors / g.sectors_per_track);
    }
    if (cylinders_times_heads >= uint32_t{g.heads} * 1024) {
      g.sectors_per_track = 63;
      g.heads = 16;
      cylinders_times_heads = static_cast<uint32_t>(total_sectors / g.sectors_per_track);
    }
  }
  g.cylinders = static_cast<uint16_t>(cylinders_times_heads / g.heads);
  return g;
}

// vpc_checksum(): the one's complement of the byte sum.
uint32_t Checksum(const uint8_t* bytes, size_t length) {
  uint32_t sum = 0;
  for (size_t i = 0; i < length; ++i) sum += bytes[i];
  return ~sum;
}

void FillFooter(const CreateRequest& request, bool fixed, bool force_size,
                const RoundedSize& rounded, uint8_t* footer) {
  FillBytes(footer, 0, kFooterSize);
  CopyBytes(footer, "conectix", 8);
  StoreBE32(footer + 8, 2);            // features: reserved bit, always set
  StoreBE32(footer + 12, 0x00010000);  // file format version 1.0
  StoreBE64(footer + 16, fixed ? ~uint64_t{0} : kFooterSize);
  StoreBE32(footer + 24, static_cast<uint32_t>(request.now_seconds - kUnixTimeOf2000));
  CopyBytes(footer + 28, force_size ? "qem2" : "qemu", 4);
  StoreBE16(footer + 32, 5);  // Virtual PC 2007's version, 5.3
  StoreBE16(footer + 34, 3);
  CopyBytes(footer + 36, "Wi2k", 4);
  const uint64_t bytes = rounded.sectors * 512;
  StoreBE64(footer + 40, bytes);
  StoreBE64(footer + 48, bytes);
  StoreBE16(footer + 56, rounded.geometry.cylinders);
  footer[58] = rounded.geometry.heads;
  footer[59] = rounded.geometry.sectors_per_track;
  StoreBE32(footer + 60, fixed ? 2 : 3);
  CopyBytes(footer + 68, request.random, 16);
  footer[68 + 6] = static_cast<uint8_t>((footer[68 + 6] & 0x0f) | 0x40);
  footer[68 + 8] = static_cast<uint8_t>((footer[68 + 8] & 0x3f) | 0x80);
  StoreBE32(footer + 64, Checksum(footer, kFooterSize));
}

// Writes `length` bytes of `value` at `offset` through a buffer of at most
// 64 KiB from `arena`.
Status WriteFilled(WritableDevice& device, uint64_t offset, uint8_t value, uint64_t length,
                   Arena& arena) {
  if (length == 0) return Status::Ok();
  const size_t mark = arena.Mark();
  size_t chunk = length < (64 << 10) ? static_cast<size_t>(length) : size_t{64 << 10};
  auto* buffer = static_cast<uint8_t*>(arena.Allocate(chunk));
  if (buffer == nullptr) return Status::NoSpace("no memory for the vpc block allocation table");
  FillBytes(buffer, value, chunk);
  Status status;
  for (uint64_t done = 0; done < length && status.ok(); done += chunk) {
    if (length - done < chunk) chunk = static_cast<size_t>(length - done);
    status = device.Write(offset + done, buffer, chunk);
  }
  arena.Reset(mark);
  return status;
}

// vpc_co_create_opts() hands the options to QAPI, whose words for an
// unknown subformat depend on the release (5.2: "Invalid parameter
// 'VALUE'"); measure's ResolveVpcOptions() has the later wording.
Status ResolveOptions(const ParsedMeasureOptions& parsed, const QemuVersion& compat,
                      VpcTargetOptions* options, MeasureError* error) {
  const Status status = ResolveVpcOptions(parsed, options, error);
  if (!status.ok() && error->kind == MeasureErrorKind::kEnumNotAccepted) {
    error->kind = MeasureErrorKind::kObjectEnumValue;
    error->version = compat;
  }
  return status;
}

}  // namespace

Status RoundSize(uint64_t size, bool force_size, RoundedSize* out, MeasureError* error) {
  error->target = ImageFormat::kVpc;
  uint64_t aligned;
  if (!CheckedAlignUp(size, 512, &aligned) || aligned > static_cast<uint64_t>(INT64_MAX)) {
    return measure_internal::MeasureFailure(error, MeasureErrorKind::kImageTooLargeForFormat,
                                            "too large for vpc");
  }
  int64_t total_sectors = static_cast<int64_t>(aligned / 512);
  Geometry geometry;
  if (force_size) {
    geometry = Geometry{static_cast<uint16_t>(kChsMaxCylinders), 16, 255};
  } else {
    const int64_t wanted = total_sectors < kMaxGeometry ? total_sectors : kMaxGeometry;
    for (int64_t i = 0; wanted > geometry.Product(); ++i) {
      geometry = CalculateGeometry(wanted + i);
    }
  }
  if (geometry.Product() == kMaxGeometry) {
    if (total_sectors > kMaxSectors) {
      return measure_internal::MeasureFailure(error, MeasureErrorKind::kImageTooLargeForFormat,
                                              "too large for vpc");
    }
  } else {
    total_sectors = geometry.Product();
  }
  out->geometry = geometry;
  out->sectors = static_cast<uint64_t>(total_sectors);
  return Status::Ok();
}

Status CreateVpc(const CreateRequest& request, WritableDevice& device, const QemuVersion& compat,
                 Arena& arena, MeasureError* error) {
  VpcTargetOptions options;
  INSTAR_RETURN_IF_ERROR(ResolveOptions(*request.options, compat, &options, error));
  RoundedSize rounded;
  INSTAR_RETURN_IF_ERROR(RoundSize(request.size, options.force_size, &rounded, error));

  uint8_t footer[kFooterSize];
  FillFooter(request, options.fixed, options.force_size, rounded, footer);
  const uint64_t disk_bytes = rounded.sectors * 512;
  if (options.fixed) {
    // create_fixed_disk(): the file is made its full length first (the
    // file protocol's truncate then writes its first block of zeros, as
    // qemu's allocate_first_block() does: 4 KiB, or a sector of a smaller
    // file), then the footer goes at its end.
    INSTAR_RETURN_IF_ERROR(device.Truncate(disk_bytes + kFooterSize));
    static constexpr uint8_t kZeros[4096] = {};
    INSTAR_RETURN_IF_ERROR(
        device.Write(0, kZeros, disk_bytes + kFooterSize < sizeof(kZeros) ? 512 : sizeof(kZeros)));
    return device.Write(disk_bytes, footer, kFooterSize);
  }

  const uint64_t entries = DivRoundUp(rounded.sectors, kBlockSize / 512);
  const uint64_t bat_bytes = AlignUp(entries * 4, 512);
  INSTAR_RETURN_IF_ERROR(device.Write(0, footer, kFooterSize));
  INSTAR_RETURN_IF_ERROR(device.Write(kBatOffset + bat_bytes, footer, kFooterSize));
  INSTAR_RETURN_IF_ERROR(WriteFilled(device, kBatOffset, 0xff, bat_bytes, arena));

  uint8_t header[kDynamicHeaderSize] = {};
  CopyBytes(header, "cxsparse", 8);
  // All 64 bits of "no next structure" set: Microsoft's tools expect that,
  // though the specification says 0xFFFFFFFF.
  StoreBE64(header + 8, ~uint64_t{0});
  StoreBE64(header + 16, kBatOffset);
  StoreBE32(header + 24, 0x00010000);
  StoreBE32(header + 28, static_cast<uint32_t>(entries));
  StoreBE32(header + 32, kBlockSize);
  StoreBE32(header + 36, Checksum(header, kDynamicHeaderSize));
  return device.Write(kFooterSize, header, kDynamicHeaderSize);
}

}  // namespace instar::vpc
