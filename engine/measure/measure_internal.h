// Shared pieces of engine/measure: the source scan and the per-target
// calculators Measure() dispatches to. Private to engine/measure.
#ifndef INSTAR_ENGINE_MEASURE_MEASURE_INTERNAL_H_
#define INSTAR_ENGINE_MEASURE_MEASURE_INTERNAL_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/format_driver.h"
#include "instar/engine/measure.h"
#include "instar/engine/measure_dialect.h"

namespace instar::measure_internal {

// The release that added vmdk's "toolsversion" option, for vmdk's option
// table, and whether a release's descriptor has its line: both are the
// measure dialect's (kVmdkToolsVersionSince,
// MeasureDialect::vmdk_descriptor_has_tools_version).
constexpr uint16_t kVmdkToolsVersionMajor = kVmdkToolsVersionSince.major;
constexpr uint16_t kVmdkToolsVersionMinor = kVmdkToolsVersionSince.minor;
inline bool HasVmdkToolsVersion(const QemuVersion& compat) {
  return MeasureDialectFor(compat).vmdk_descriptor_has_tools_version;
}

// qemu's id_wellformed(): a letter, then letters, digits, '-', '.', '_'.
bool IdWellFormed(MeasureText id);

// Fills `error` and returns the matching Status.
Status MeasureFailure(MeasureError* error, MeasureErrorKind kind, const char* status_message);
Status SourceFailure(MeasureError* error, MeasureErrorKind kind, const Status& cause);
Status NotSupportedFailure(MeasureError* error, const char* reason);

// What qcow2_measure's scan loop finds in the source: the bytes of the
// source's `unit`-sized units that hold allocated data (each counted unit
// in full), and whether the last, possibly partial, unit is one of them.
struct AllocationScan {
  uint64_t source_size = 0;
  uint64_t allocated_bytes = 0;
  bool last_unit_allocated = false;
};

// The source's length (bdrv_getlength: Image::VirtualSize()).
Status SourceLength(MeasureSource& source, uint64_t* length, MeasureError* error);

// Walks the source with source.block_status as qcow2_measure() does:
// zero runs are skipped, runs that are both data and allocated are
// extended to the end of their unit and counted from the unit's start.
Status ScanAllocation(MeasureSource& source, uint64_t unit, const QemuVersion& compat,
                      AllocationScan* scan, MeasureError* error);

// ResolveVhdxOptions() with the image size known: the size limit is checked
// where vhdx_co_create() checks it, and an automatic block size is chosen.
Status ResolveVhdxOptionsForSize(const ParsedMeasureOptions& options, uint64_t image_size,
                                 VhdxTargetOptions* out, MeasureError* error);

// The instar-only targets. `virtual_size` is the --size value or the
// source length; `scan` is null in --size mode.
// The measure hooks of the drivers (FormatDriver::measure), qemu's
// bdrv_measure: qcow2_measure, raw_measure, block_crypto_measure.
Status MeasureQcow2(const MeasureRequest& request, MeasureSource* source, const QemuVersion& compat,
                    MeasureResult* result, MeasureError* error);
Status MeasureRaw(const MeasureRequest& request, MeasureSource* source, const QemuVersion& compat,
                  MeasureResult* result, MeasureError* error);
Status MeasureLuks(const MeasureRequest& request, MeasureSource* source, const QemuVersion& compat,
                   MeasureResult* result, MeasureError* error);
// qcow2's FormatDriver::describe_measure_source: its version and the
// persistent bitmaps qemu loads.
Status DescribeQcow2MeasureSource(Image& image, MeasureSource* source);

// instar's predictions for the targets qemu-img refuses to measure
// (FormatDriver::predict_size), in engine/{vmdk,vpc,vhdx}/*_measure.cc.
Status PredictVmdkSize(const MeasureRequest& request, uint64_t virtual_size, MeasureSource* source,
                       const QemuVersion& compat, MeasureResult* result, MeasureError* error);
Status PredictVpcSize(const MeasureRequest& request, uint64_t virtual_size, MeasureSource* source,
                      const QemuVersion& compat, MeasureResult* result, MeasureError* error);
Status PredictVhdxSize(const MeasureRequest& request, uint64_t virtual_size, MeasureSource* source,
                       const QemuVersion& compat, MeasureResult* result, MeasureError* error);

// block/file-posix.c raw_create_opts, which qemu-img appends to every
// driver's create options: `*count` entries.
const CreateOption* FileProtocolOptions(size_t* count);

}  // namespace instar::measure_internal

#endif  // INSTAR_ENGINE_MEASURE_MEASURE_INTERNAL_H_
