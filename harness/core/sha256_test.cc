#include "harness/core/sha256.h"

#include <gtest/gtest.h>

#include <string>

namespace instar::harness {
namespace {

std::string Digest(const std::string& data, size_t chunk) {
  Sha256 sha;
  for (size_t i = 0; i < data.size(); i += chunk) {
    sha.Update(data.data() + i, std::min(chunk, data.size() - i));
  }
  return sha.FinishHex();
}

// Vectors from FIPS 180-4's examples (and the empty message).
TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Digest("", 1), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Digest("abc", 1), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  for (size_t chunk : {1, 7, 64, 1000}) {
    EXPECT_EQ(Digest(two_blocks, chunk),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  }
  EXPECT_EQ(Digest(std::string(1000000, 'a'), 4096),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace instar::harness
