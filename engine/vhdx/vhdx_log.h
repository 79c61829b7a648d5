// Whether a VHDX log holds entries qemu would replay.
//
// qemu replays the log of a VHDX image at open (vhdx_parse_log) and refuses
// a read-only open when there is something to replay. Deciding that means
// walking the circular log like qemu's vhdx_log_search: from the start,
// validate an entry at each position (header, descriptors, CRC-32C over the
// whole entry), advance by what the validation consumed, and stop after the
// read position wraps. Any valid entry makes a sequence to replay.
//
// The walk reads one 4 KiB sector at a time and never holds an entry in
// memory. Positions past the end of the file read as zeros and cannot hold
// an entry, so the walk stops there. Private to engine/vhdx.
#ifndef INSTAR_ENGINE_VHDX_VHDX_LOG_H_
#define INSTAR_ENGINE_VHDX_VHDX_LOG_H_

#include <cstdint>

#include "instar/engine/device.h"
#include "instar/engine/status.h"

namespace instar::vhdx {

constexpr uint32_t kLogSectorSize = 4096;

// The log region and the log GUID of the current header. `sector` is a
// scratch buffer of kLogSectorSize bytes. Fails (as qemu's open does) on an
// entry whose header is valid but whose descriptors are not, and on reads
// that end past `read_limit`, the end of what qemu may read: BDRV_MAX_LENGTH
// from 6.0; INT64_MAX in 5.2, which refuses only negative offsets (and the
// kernel a range ending past INT64_MAX).
Result<bool> LogNeedsReplay(BlockDevice& device, uint64_t log_offset, uint32_t log_length,
                            const uint8_t* log_guid, uint64_t read_limit, uint8_t* sector);

}  // namespace instar::vhdx

#endif  // INSTAR_ENGINE_VHDX_VHDX_LOG_H_
