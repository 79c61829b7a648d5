// Zstd: Zstandard (RFC 8878) frame decoding, for the data of qcow2 clusters
// compressed with compression_type=zstd. Freestanding: the caller hands in
// the input, the output and an Arena for the decoder's state; nothing else
// is allocated. There is no dictionary and no separate window: the output
// itself is the window, so a match that reaches back before the start of
// its frame's output is corrupt. Frames that name a dictionary are refused.
//
// Memory: one decoder state per call, about 137 KiB of the arena (the
// 128 KiB literals buffer of the largest block, the three sequence FSE
// tables and the Huffman table), released before the call returns
// (kZstdScratchBytes; zstd_test checks it stays under 140 KiB). The FSE
// table of compressed Huffman weights (256 bytes) and the weights
// themselves live on the stack.
//
// Every length, count and offset read from the input is checked before it
// is used: hostile input yields a Status::Corruption (or NotSupported for a
// dictionary), never a read or write outside the given buffers, and every
// loop is bounded by the input or the output size.
#ifndef INSTAR_ENGINE_ZSTD_H_
#define INSTAR_ENGINE_ZSTD_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/arena.h"
#include "instar/engine/status.h"

namespace instar {

// The most a ZstdDecompress*() call takes from its Arena (alignment
// included); the peak the guest must leave free for it.
extern const size_t kZstdScratchBytes;

// ZSTD_decompress(): in[0, in_size) must be one or more whole frames
// (skippable frames are skipped), decoded one after the other into
// out[0, out_size); returns the bytes written. Input that does not decode,
// ends inside a frame, is followed by bytes that are no frame, or decodes
// to more than out_size bytes is a Status::Corruption. Bytes of the output
// past the returned length may have been written to (the decoder copies in
// 16-byte chunks where the output has room).
Result<size_t> ZstdDecompress(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size,
                              Arena& scratch);

// qemu's qcow2_zstd_decompress() (block/qcow2-threads.c): frames are
// decoded from the start of in[0, in_size) until out[0, out_size) is
// exactly full at the end of a frame; whatever follows in the input is not
// looked at (a compressed cluster's size is rounded up to 512-byte
// sectors). A frame that would write past the output, input that ends
// before the output is full, or any malformed frame is an error (qemu's
// read then fails with EIO). Returns out_size on success.
Result<size_t> ZstdDecompressCluster(const uint8_t* in, size_t in_size, uint8_t* out,
                                     size_t out_size, Arena& scratch);

}  // namespace instar

#endif  // INSTAR_ENGINE_ZSTD_H_
