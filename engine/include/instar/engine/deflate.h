// Deflate: DEFLATE (RFC 1951) encoding, the writing side of inflate.h: the
// data of compressed qcow2 clusters (raw deflate with a 4 KiB window, as
// qemu's zlib deflateInit2() with windowBits -12 writes it) and the grains
// of a streamOptimized vmdk (zlib streams, as zlib's compress() writes
// them: Compress()). Freestanding: the caller hands in the input, the
// output and an Arena for the matcher's tables; nothing else is allocated.
//
// The encoder is built for speed over ratio, in the spirit of zlib's level
// 1: a greedy LZ77 matcher over a hash table with short chains (it gives
// up early and strides over data that does not match, so incompressible
// input costs little), and per block the cheapest of a dynamic Huffman, a
// fixed Huffman and a stored block. The stream it writes is its own (not
// byte for byte zlib's), but any RFC 1951 decoder reads it.
//
// Memory: kDeflateScratchBytes of the arena at most, released before the
// call returns.
//
// Output that would not fit in out_capacity is a Status::NoSpace, found out
// as soon as a block's size is known to pass it: a caller that only wants
// compression where it pays (a qcow2 cluster, capacity cluster_size - 1)
// learns that cheaply and writes the data uncompressed instead.
#ifndef INSTAR_ENGINE_DEFLATE_H_
#define INSTAR_ENGINE_DEFLATE_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/arena.h"
#include "instar/engine/status.h"

namespace instar {

// The most a Deflate() or Compress() call takes from its Arena (alignment
// included).
extern const size_t kDeflateScratchBytes;

// Raw DEFLATE of in[0, in_size) into out[0, out_capacity), distances at
// most 4096 (a 4 KiB window: what qcow2's zlib clusters are written with,
// so that a reader with a window that small decodes them); returns the
// bytes written. Status::NoSpace when the stream does not fit (or the
// arena is too small).
Result<size_t> Deflate(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_capacity,
                       Arena& scratch);

// zlib's compress(): a zlib stream (RFC 1950: the two-byte header of a
// 32 KiB window without dictionary, raw DEFLATE with distances up to
// 32 KiB, the Adler-32 of the data) of in[0, in_size) into
// out[0, out_capacity); returns the bytes written. Status::NoSpace when the
// stream does not fit.
Result<size_t> Compress(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_capacity,
                        Arena& scratch);

}  // namespace instar

#endif  // INSTAR_ENGINE_DEFLATE_H_
