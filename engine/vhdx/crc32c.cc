#include "vhdx/crc32c.h"

namespace instar::vhdx {

namespace {

struct Crc32cTable {
  uint32_t entries[256];
};

constexpr Crc32cTable MakeTable() {
  Crc32cTable table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82f63b78 : crc >> 1;
    table.entries[i] = crc;
  }
  return table;
}

// Built by the compiler: no constructor runs at start-up.
constexpr Crc32cTable kTable = MakeTable();

}  // namespace

uint32_t Crc32cUpdate(uint32_t state, const uint8_t* data, size_t length) {
  for (size_t i = 0; i < length; ++i)
    state = kTable.entries[(state ^ data[i]) & 0xff] ^ (state >> 8);
  return state;
}

}  // namespace instar::vhdx
