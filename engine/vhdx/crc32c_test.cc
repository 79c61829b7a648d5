#include "vhdx/crc32c.h"

#include <cstring>

#include <gtest/gtest.h>

namespace instar::vhdx {
namespace {

TEST(Crc32cTest, KnownValues) {
  // The CRC-32C check value (RFC 3720, appendix B.4).
  const char* check = "123456789";
  EXPECT_EQ(Crc32c(reinterpret_cast<const uint8_t*>(check), 9), 0xe3069283u);
  uint8_t zeros[32] = {};
  EXPECT_EQ(Crc32c(zeros, sizeof(zeros)), 0x8a9136aau);
  uint8_t ones[32];
  std::memset(ones, 0xff, sizeof(ones));
  EXPECT_EQ(Crc32c(ones, sizeof(ones)), 0x62a8ab43u);
  EXPECT_EQ(Crc32c(nullptr, 0), 0u);
}

TEST(Crc32cTest, UpdatesCompose) {
  const uint8_t data[] = "the quick brown fox jumps over the lazy dog";
  const uint32_t whole = Crc32c(data, sizeof(data));
  uint32_t state = kCrc32cInit;
  state = Crc32cUpdate(state, data, 10);
  state = Crc32cUpdate(state, data + 10, sizeof(data) - 10);
  EXPECT_EQ(Crc32cFinish(state), whole);
}

}  // namespace
}  // namespace instar::vhdx
