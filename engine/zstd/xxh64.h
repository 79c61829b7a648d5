// XXH64 (the xxHash specification, 64-bit variant): zstd's content
// checksum is its low 32 bits over a frame's decoded content, seed 0
// (RFC 8878 3.1.1). Freestanding, one shot over a buffer.
#ifndef INSTAR_ENGINE_ZSTD_XXH64_H_
#define INSTAR_ENGINE_ZSTD_XXH64_H_

#include <cstddef>
#include <cstdint>

namespace instar::zstd_internal {

uint64_t Xxh64(const uint8_t* data, size_t size, uint64_t seed);

}  // namespace instar::zstd_internal

#endif  // INSTAR_ENGINE_ZSTD_XXH64_H_
