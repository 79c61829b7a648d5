// Zstd: Zstandard (RFC 8878) frame decoding and encoding, for the data of
// qcow2 clusters compressed with compression_type=zstd. Freestanding: the
// caller hands in the input, the output and an Arena for the decoder's or
// the encoder's state; nothing else is allocated. There is no dictionary
// and no separate window: the output itself is the window, so a match that
// reaches back before the start of its frame's output is corrupt. Frames
// that name a dictionary are refused.
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
//
// The encoder (ZstdCompress()) writes one frame of any input, as qemu's
// qcow2_zstd_compress() asks libzstd for one (block/qcow2-threads.c): an
// LZ77 match finder over a hash table, sequences FSE-coded with the
// predefined or the block's own tables, literals Huffman-coded, raw or
// RLE, runs as RLE blocks and what does not compress as raw blocks. Its
// state (about 580 KiB: the hash table, a block's literals, sequences and
// FSE tables) is taken from the arena and given back
// (kZstdCompressScratchBytes).
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

// The most a ZstdCompress() call takes from its Arena (alignment included).
extern const size_t kZstdCompressScratchBytes;

// The largest frame ZstdCompress() writes for in_size bytes (every block
// raw): an out_capacity of this never fails for want of room.
size_t ZstdCompressBound(size_t in_size);

// ZSTD_compress() of in[0, in_size) into out[0, out_capacity): one frame
// with the content size in its header, no checksum and no dictionary,
// that libzstd and ZstdDecompress() decode back to the input; returns the
// bytes written. Status::NoSpace when the frame does not fit out_capacity
// (found out at the first block that fits neither compressed nor raw, so
// incompressible data costs little more than a look at it; the output is
// then undefined) or when the arena has no room for the state. Inputs up
// to 128 MiB are one single-segment frame (the window is the content);
// larger ones declare a 128 MiB window, the most zstd's streaming decoder
// takes by default, and no match reaches further back.
Result<size_t> ZstdCompress(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_capacity,
                            Arena& scratch);

}  // namespace instar

#endif  // INSTAR_ENGINE_ZSTD_H_
