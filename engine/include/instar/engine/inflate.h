// Inflate: DEFLATE (RFC 1951) decoding, for the data of compressed qcow2
// clusters (raw deflate, as zlib's inflate() with negative windowBits reads
// it) and of a streamOptimized vmdk's grains (zlib streams: Uncompress()). Freestanding: no
// allocation, the caller hands in both buffers; the only window is the output itself (no preset
// dictionary), so a distance that reaches before the output's start is corrupt.
#ifndef INSTAR_ENGINE_INFLATE_H_
#define INSTAR_ENGINE_INFLATE_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/status.h"

namespace instar {

// Decodes the raw DEFLATE stream in[0, in_size) into out[0, out_size) until
// the final block ends or the output is full, whichever is first; returns
// the bytes written. Malformed input, or input that ends before either, is
// a Status::Corruption.
Result<size_t> Inflate(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size);

// zlib's uncompress(): a zlib stream (RFC 1950: the two-byte header, raw
// DEFLATE, the Adler-32 of the data) in[0, in_size) decoded into
// out[0, out_size); returns the bytes written. Only a stream that ends
// within the output, with its checksum right, is decoded (Z_OK); anything
// else is a Status::Corruption, as zlib's Z_DATA_ERROR or Z_BUF_ERROR.
Result<size_t> Uncompress(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size);

}  // namespace instar

#endif  // INSTAR_ENGINE_INFLATE_H_
