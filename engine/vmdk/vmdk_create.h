// Private to engine/vmdk: the create hook.
#ifndef INSTAR_ENGINE_VMDK_VMDK_CREATE_H_
#define INSTAR_ENGINE_VMDK_VMDK_CREATE_H_

#include <cstdint>

#include "instar/engine/create.h"
#include "instar/engine/measure.h"

namespace instar::vmdk {

// The create hook (FormatDriver::create): block/vmdk.c
// vmdk_co_create_opts() and vmdk_co_do_create(), for every subformat: the
// extent files of monolithicFlat, twoGbMaxExtentSparse and
// twoGbMaxExtentFlat through WritableDevice::OpenSibling().
Status CreateVmdk(const CreateRequest& request, WritableDevice& device, const QemuVersion& compat,
                  Arena& arena, MeasureError* error);

// The length of the name qemu gives an extent file of an image named
// `target` with a suffix of `suffix_length` bytes ("-flat", "-s001"):
// filename_decompose() and g_path_get_basename() of the path, prefix,
// suffix and postfix. measure sums these for the descriptor's lines.
size_t ExtentFileNameLength(MeasureText target, size_t suffix_length);

// FormatDriver::siblings_in_place: the extent files an image named
// `target_name` has when qemu made it, of every subformat: "disk-flat.vmdk",
// then "disk-s001.vmdk" ... and "disk-f001.vmdk" ..., as many as `capacity`
// holds (the host opens those that exist).
size_t VmdkSiblingsInPlace(MeasureText target_name, SiblingName* out, size_t capacity);

// FormatDriver::sibling_outputs: the extent files of a disk of `size`
// bytes, named after the target as qemu names them ("disk.vmdk" ->
// "disk-flat.vmdk"; "disk-s001.vmdk", "disk-s002.vmdk" ... one per 2 GiB
// for twoGbMaxExtentSparse, "-f001" ... for twoGbMaxExtentFlat); nothing for
// the single-file subformats, a flat disk of size 0, or options qemu
// refuses.
size_t VmdkSiblingOutputs(const ParsedMeasureOptions& options, MeasureText target_name,
                          uint64_t size, SiblingName* out, size_t capacity);

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
