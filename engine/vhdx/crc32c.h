// CRC-32C (Castagnoli), the checksum of VHDX headers, region tables and log
// entries. Private to engine/vhdx.
#ifndef INSTAR_ENGINE_VHDX_CRC32C_H_
#define INSTAR_ENGINE_VHDX_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace instar::vhdx {

// Running CRC-32C: start with kCrc32cInit, Update over the bytes in order,
// Finish for the checksum (the standard one: "123456789" -> 0xe3069283).
constexpr uint32_t kCrc32cInit = 0xffffffff;
uint32_t Crc32cUpdate(uint32_t state, const uint8_t* data, size_t length);
constexpr uint32_t Crc32cFinish(uint32_t state) { return state ^ 0xffffffff; }

inline uint32_t Crc32c(const uint8_t* data, size_t length) {
  return Crc32cFinish(Crc32cUpdate(kCrc32cInit, data, length));
}

}  // namespace instar::vhdx

#endif  // INSTAR_ENGINE_VHDX_CRC32C_H_
