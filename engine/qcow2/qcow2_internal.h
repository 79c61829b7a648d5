// Constants shared by the qcow2 reader's files. Private to engine/qcow2.
#ifndef INSTAR_ENGINE_QCOW2_QCOW2_INTERNAL_H_
#define INSTAR_ENGINE_QCOW2_QCOW2_INTERNAL_H_

#include <cstdint>

#include "core/reader_util.h"
#include "instar/engine/create.h"
#include "instar/engine/modify.h"
#include "instar/engine/qcow2.h"
#include "instar/engine/version.h"

namespace instar::qcow2_internal {

// Since 6.0 the block layer refuses any request that reaches past it.
using ::instar::kBdrvMaxLength;

constexpr uint64_t kL1OffsetMask = 0x00fffffffffffe00ull;             // L1E_OFFSET_MASK
constexpr uint64_t kL2OffsetMask = 0x00fffffffffffe00ull;             // L2E_OFFSET_MASK
constexpr uint64_t kRefcountTableOffsetMask = 0xfffffffffffffe00ull;  // REFT_OFFSET_MASK
constexpr uint64_t kL2Copied = 1ull << 63;                            // QCOW_OFLAG_COPIED
constexpr uint64_t kL2Compressed = 1ull << 62;                        // QCOW_OFLAG_COMPRESSED
constexpr uint64_t kL2Zero = 1ull << 0;                               // QCOW_OFLAG_ZERO

// Bitmaps (qcow2-bitmap.c).
constexpr uint32_t kMaxBitmapTableEntries = 0x8000000;    // BME_MAX_TABLE_SIZE
constexpr uint64_t kMaxBitmapPhysicalBytes = 0x20000000;  // BME_MAX_PHYS_SIZE
constexpr uint64_t kBitmapEntryReservedMask = 0xff000000000001feull;
constexpr uint64_t kBitmapEntryOffsetMask = 0x00fffffffffffe00ull;

// Snapshots (qcow2-snapshot.c).
constexpr uint32_t kMaxSnapshotExtraData = 1024;  // QCOW_MAX_SNAPSHOT_EXTRA_DATA

// header_ext_add(): a header extension (magic, length, the data padded to
// 8 bytes) at `out`; the bytes taken, 0 when `room` is too small. The
// create and amend hooks write their headers with it.
size_t AddHeaderExtension(uint8_t* out, size_t room, uint32_t magic, const void* data,
                          size_t length);
// The feature name table qemu writes into a v3 header of clusters over
// 4 KiB: one 48-byte entry (type, bit, name) per feature it knows.
constexpr size_t kFeatureNameTableSize = 8 * 48;
void FillFeatureNameTable(uint8_t (&table)[kFeatureNameTableSize]);

// The create hook of the qcow2 driver (FormatDriver::create), qemu's
// qcow2_co_create_opts(): engine/qcow2/qcow2_create.cc.
Status CreateQcow2Image(const CreateRequest& request, WritableDevice& device,
                        const QemuVersion& compat, Arena& arena, MeasureError* error);

// The resize hook (FormatDriver::resize), qemu's qcow2_co_truncate() as
// qemu-img resize calls it: engine/qcow2/qcow2_resize.cc.
Status ResizeQcow2(Image& image, WritableDevice& device, const ResizeRequest& request,
                   const QemuVersion& compat, Arena& arena);
struct Qcow2LiveFields;
// qcow2_co_truncate() itself, for resize and amend's size=: `live` holds
// the header fields it starts from and gets those it leaves.
Status TruncateQcow2(Qcow2Image& image, WritableDevice& device, uint64_t offset,
                     Preallocation prealloc, bool shrink, Arena& arena, Qcow2LiveFields* live);
// The amend hook (FormatDriver::amend), qemu's qcow2_amend_options():
// engine/qcow2/qcow2_amend.cc.
Status AmendQcow2(Image& image, WritableDevice& device, const AmendRequest& request,
                  const QemuVersion& compat, Arena& arena);

}  // namespace instar::qcow2_internal

#endif  // INSTAR_ENGINE_QCOW2_QCOW2_INTERNAL_H_
