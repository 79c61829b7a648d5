// Inflate: DEFLATE (RFC 1951) decoding, for the data of compressed qcow2
// clusters (raw deflate, as zlib's inflate() with negative windowBits reads
// it). Freestanding: no allocation, the caller hands in both buffers; the
// only window is the output itself (no preset dictionary), so a distance
// that reaches before the output's start is corrupt.
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

}  // namespace instar

#endif  // INSTAR_ENGINE_INFLATE_H_
