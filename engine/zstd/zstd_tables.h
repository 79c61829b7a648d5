// The code tables RFC 8878 fixes for the sequences section, shared by the
// decoder (zstd.cc) and the encoder (zstd_encode.cc).
#ifndef INSTAR_ENGINE_ZSTD_ZSTD_TABLES_H_
#define INSTAR_ENGINE_ZSTD_ZSTD_TABLES_H_

#include <cstdint>

namespace instar::zstd_internal {

// Literals length and match length codes (3.1.1.3.2.1.1): a baseline and
// the extra bits read after it.
inline constexpr uint32_t kLiteralsLengthBase[36] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,   9,   10,  11,   12,   13,   14,   15,    16,    18,
    20, 22, 24, 28, 32, 40, 48, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
inline constexpr uint8_t kLiteralsLengthBits[36] = {0, 0, 0, 0, 0, 0,  0,  0,  0,  0,  0,  0,
                                                    0, 0, 0, 0, 1, 1,  1,  1,  2,  2,  3,  3,
                                                    4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
inline constexpr uint32_t kMatchLengthBase[53] = {
    3,  4,  5,  6,  7,  8,  9,  10,  11,  12,  13,   14,   15,   16,   17,    18,    19,   20,
    21, 22, 23, 24, 25, 26, 27, 28,  29,  30,  31,   32,   33,   34,   35,    37,    39,   41,
    43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027, 2051, 4099, 8195, 16387, 32771, 65539};
inline constexpr uint8_t kMatchLengthBits[53] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0,  0,  0,  0,  0,  0, 0,
    0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

// The default distributions (3.1.1.3.2.2), -1 meaning "less than 1".
inline constexpr int16_t kDefaultLiteralsLength[36] = {4, 3, 2, 2, 2, 2, 2, 2, 2,  2,  2,  2,
                                                       2, 1, 1, 1, 2, 2, 2, 2, 2,  2,  2,  2,
                                                       2, 3, 2, 1, 1, 1, 1, 1, -1, -1, -1, -1};
inline constexpr int16_t kDefaultMatchLength[53] = {
    1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1,  1,  1,  1,  1,  1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1};
inline constexpr int16_t kDefaultOffset[29] = {1, 1, 1, 1, 1, 1, 2, 2, 2, 1,  1,  1,  1,  1, 1,
                                               1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1};

}  // namespace instar::zstd_internal

#endif  // INSTAR_ENGINE_ZSTD_ZSTD_TABLES_H_
