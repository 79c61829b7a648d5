// Private to engine/vhdx: the create hook.
#ifndef INSTAR_ENGINE_VHDX_VHDX_CREATE_H_
#define INSTAR_ENGINE_VHDX_VHDX_CREATE_H_

#include <cstdint>

#include "instar/engine/create.h"
#include "instar/engine/measure.h"

namespace instar::vhdx {

// The create hook (FormatDriver::create): block/vhdx.c
// vhdx_co_create_opts() and vhdx_co_create().
Status CreateVhdx(const CreateRequest& request, WritableDevice& device, const QemuVersion& compat,
                  Arena& arena, MeasureError* error);

// A quirk of qemu's that the hook keeps: qemu-img create makes a fixed
// image without zero blocks (block_state_zero=off) whose size is not a
// whole number of blocks and that has a sector bitmap entry before its
// last payload entry, and qemu's own open then refuses it ("VHDX BAT entry
// N end offset ... points after end of file"): vhdx_check_bat_entries()
// counts the bitmap entries in its block index, so the partial last block
// looks whole and runs past the end of the file. The engine's reader
// refuses it the same way. True when CreateVhdx() makes such an image of
// `options` and `size` (the request's).
bool QemuRefusesCreatedImage(const ParsedMeasureOptions& options, uint64_t size);

}  // namespace instar::vhdx

#endif  // INSTAR_ENGINE_VHDX_VHDX_CREATE_H_
