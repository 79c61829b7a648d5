// The result of Operation::kInfo: what `qemu-img info` reports about one
// image, as the facts qemu's bdrv_query_image_info() gathers from the format
// driver. Which of them a qemu-img version prints, under which key and in
// which layout, is the host's business (vmm/render/info_render.h); host
// metadata (disk size, file length, file names) is the host's too. The host
// walks a backing chain itself, one run per image.
//
// A successful stream holds, at top level and each at most once unless
// marked "repeated":
//   kTagFormat           bytes  qemu's driver name ("qcow2", "raw" ...)
//   kTagVirtualSize      u64    guest-visible size in bytes
//   kTagClusterSize      u64    only when qemu has one (BlockDriverInfo)
//   kTagDirtyFlag        bool   only when the driver's get_info succeeded
//   kTagEncrypted        bool   only when the image is encrypted
//   kTagBackingFilename  bytes  the backing file name as the image stores it
//   kTagBackingFormat    bytes  the backing format the image records
//   kTagSnapshot         bytes, repeated, in table order: one packed
//                        snapshot (layout below), standing for `repeat`
//                        identical snapshots in a row
//   kTagChild            object, repeated, in the order qemu attaches the
//                        node's children (the image file first):
//       kTagChildName    bytes  "file", "extents.0" ...
//       kTagChildDevice  u64    the sandbox device number of that file
//   kTagQcow2            object, qcow2 only (qcow2_get_specific_info):
//       kTagQcow2Compat           bytes  "0.10" or "1.1"
//       kTagQcow2LazyRefcounts, kTagQcow2Corrupt, kTagQcow2ExtendedL2
//                                 bool   version 3 only
//       kTagQcow2RefcountBits     u64
//       kTagQcow2CompressionType  bytes  "zlib" or "zstd"
//       kTagQcow2DataFile         bytes  only when the image names one
//       kTagQcow2DataFileRaw      bool   only with an external data file
//       kTagQcow2EncryptFormat    bytes  "aes"; only when encrypted
//       kTagQcow2Bitmap           object, repeated, in directory order:
//           kTagBitmapName bytes, kTagBitmapGranularity u64,
//           kTagBitmapFlags u64 (qcow2::kBitmapInUse | qcow2::kBitmapAuto)
//   kTagVmdk             object, vmdk only (vmdk_get_specific_info):
//       kTagVmdkCreateType bytes, kTagVmdkCid u64, kTagVmdkParentCid u64
//       kTagVmdkExtent     object, repeated, in extent order:
//           kTagExtentDevice u64 (device of the extent's file),
//           kTagExtentFormat bytes (the descriptor's type word, "" when none),
//           kTagExtentVirtualSize u64,
//           kTagExtentClusterSize u64 (not for flat extents),
//           kTagExtentCompressed bool (only when true)
// A failed one holds the abi kTagError object instead. Tags 1-3 are abi's.
//
// Snapshots are packed, and runs of identical ones folded, because qcow2
// allows 65536 of them and qemu lists them all: as objects even a table of
// empty snapshots would not fit the abi::kMaxResult bytes of one result.
// A kTagSnapshot record is, little endian:
//   0   u64  vm_state_size
//   8   u64  date_sec
//   16  u64  date_nsec
//   24  u64  vm_clock_nsec
//   32  u64  icount (UINT64_MAX: none, qemu's -1)
//   40  u32  repeat (>= 1)
//   44  u8   id length (<= 127), then u8 name length (<= 255)
//   46  the id's bytes, then the name's
// and nothing after them.
#ifndef INSTAR_GUEST_INFO_RESULT_H_
#define INSTAR_GUEST_INFO_RESULT_H_

#include <cstddef>
#include <cstdint>

namespace instar::info_result {

constexpr uint16_t kTagFormat = 16;
constexpr uint16_t kTagVirtualSize = 17;
constexpr uint16_t kTagClusterSize = 18;
constexpr uint16_t kTagDirtyFlag = 19;
constexpr uint16_t kTagEncrypted = 20;
constexpr uint16_t kTagBackingFilename = 21;
constexpr uint16_t kTagBackingFormat = 22;

constexpr uint16_t kTagSnapshot = 32;
constexpr size_t kSnapshotFixedBytes = 46;
constexpr size_t kSnapshotMaxIdBytes = 127;
constexpr size_t kSnapshotMaxNameBytes = 255;
// qcow2's limit (QCOW_MAX_SNAPSHOTS), which the host enforces on the sum of
// the repeats.
constexpr uint64_t kMaxSnapshots = 65536;

constexpr uint16_t kTagChild = 48;
constexpr uint16_t kTagChildName = 49;
constexpr uint16_t kTagChildDevice = 50;

constexpr uint16_t kTagQcow2 = 64;
constexpr uint16_t kTagQcow2Compat = 65;
constexpr uint16_t kTagQcow2LazyRefcounts = 66;
constexpr uint16_t kTagQcow2Corrupt = 67;
constexpr uint16_t kTagQcow2ExtendedL2 = 68;
constexpr uint16_t kTagQcow2RefcountBits = 69;
constexpr uint16_t kTagQcow2CompressionType = 70;
constexpr uint16_t kTagQcow2DataFile = 71;
constexpr uint16_t kTagQcow2DataFileRaw = 72;
constexpr uint16_t kTagQcow2EncryptFormat = 73;
constexpr uint16_t kTagQcow2Bitmap = 74;
constexpr uint16_t kTagBitmapName = 75;
constexpr uint16_t kTagBitmapGranularity = 76;
constexpr uint16_t kTagBitmapFlags = 77;

constexpr uint16_t kTagVmdk = 96;
constexpr uint16_t kTagVmdkCreateType = 97;
constexpr uint16_t kTagVmdkCid = 98;
constexpr uint16_t kTagVmdkParentCid = 99;
constexpr uint16_t kTagVmdkExtent = 100;
constexpr uint16_t kTagExtentDevice = 101;
constexpr uint16_t kTagExtentFormat = 102;
constexpr uint16_t kTagExtentVirtualSize = 103;
constexpr uint16_t kTagExtentClusterSize = 104;
constexpr uint16_t kTagExtentCompressed = 105;

}  // namespace instar::info_result

#endif  // INSTAR_GUEST_INFO_RESULT_H_
