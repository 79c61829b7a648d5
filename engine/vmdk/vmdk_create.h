// Private to engine/vmdk: the create hook.
#ifndef INSTAR_ENGINE_VMDK_VMDK_CREATE_H_
#define INSTAR_ENGINE_VMDK_VMDK_CREATE_H_

#include <cstdint>

#include "instar/engine/create.h"
#include "instar/engine/measure.h"

namespace instar::vmdk {

// The create hook (FormatDriver::create): block/vmdk.c
// vmdk_co_create_opts() and vmdk_co_do_create(), for monolithicSparse,
// streamOptimized and monolithicFlat (its extent through
// WritableDevice::OpenSibling()).
Status CreateVmdk(const CreateRequest& request, WritableDevice& device, const QemuVersion& compat,
                  Arena& arena, MeasureError* error);

// FormatDriver::siblings_in_place: the extent a monolithicFlat named
// `target_name` has when qemu made it ("disk-flat.vmdk").
size_t VmdkSiblingsInPlace(MeasureText target_name, SiblingName* out, size_t capacity);

// FormatDriver::sibling_outputs: a monolithicFlat's extent, named after
// the target as qemu names it ("disk.vmdk" -> "disk-flat.vmdk"); nothing
// for the other subformats, or options qemu refuses.
size_t VmdkSiblingOutputs(const ParsedMeasureOptions& options, MeasureText target_name,
                          SiblingName* out, size_t capacity);

// Quirks of qemu's that the hook keeps: qemu-img create makes these
// images and qemu's own open then refuses them, as the engine's reader
// does: an empty disk (size 0; "Unsupported image type
// 'monolithicSparse'"), and a disk of more than 2^25 grain directory
// entries, which is past 1 PiB until the uint32_t count wraps ("L1 size
// too big"). True when CreateVmdk() makes such an image of `options` and
// `size` (the request's).
bool QemuRefusesCreatedImage(const ParsedMeasureOptions& options, uint64_t size);

}  // namespace instar::vmdk

#endif  // INSTAR_ENGINE_VMDK_VMDK_CREATE_H_
