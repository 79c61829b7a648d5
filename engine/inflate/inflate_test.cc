// Inflate (instar/engine/inflate.h) on streams written out by hand from
// RFC 1951, and on malformed ones. Real zlib output is the corpus's:
// compare_test.cc inflates qcow2-compressed.qcow2's clusters and checks
// the verdicts qemu-img printed for them.
#include "instar/engine/inflate.h"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace instar {
namespace {

Result<size_t> InflateAll(const std::vector<uint8_t>& in, std::vector<uint8_t>& out) {
  return Inflate(in.data(), in.size(), out.data(), out.size());
}

// A final stored block: BFINAL 1, BTYPE 00, then LEN, NLEN and the bytes.
TEST(InflateTest, StoredBlock) {
  std::vector<uint8_t> out(8);
  const Result<size_t> n = InflateAll({0x01, 0x03, 0x00, 0xfc, 0xff, 'a', 'b', 'c'}, out);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 3u);
  EXPECT_EQ(out[0], 'a');
  EXPECT_EQ(out[2], 'c');
}

// A final fixed-code block holding one literal, 'a' (0x61: code 0x91 in 8
// bits), and the end of block (code 0 in 7 bits): the bits 1, 01, then
// 10010001 most significant first, then 0000000.
TEST(InflateTest, FixedBlockLiteral) {
  std::vector<uint8_t> out(4);
  const Result<size_t> n = InflateAll({0x4b, 0x04, 0x00}, out);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(out[0], 'a');
}

// The output fills before the stream ends: what fits, as zlib's inflate()
// with Z_FINISH stops on a full buffer.
TEST(InflateTest, StopsWhenTheOutputIsFull) {
  std::vector<uint8_t> out(2);
  const Result<size_t> n = InflateAll({0x01, 0x03, 0x00, 0xfc, 0xff, 'a', 'b', 'c'}, out);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
}

TEST(InflateTest, RefusesMalformedStreams) {
  std::vector<uint8_t> out(64);
  // BTYPE 11 is reserved.
  EXPECT_EQ(InflateAll({0x07}, out).status().code(), StatusCode::kCorruption);
  // LEN and NLEN disagree.
  EXPECT_EQ(InflateAll({0x01, 0x03, 0x00, 0x00, 0x00, 'a', 'b', 'c'}, out).status().code(),
            StatusCode::kCorruption);
  // The stream ends inside a block; an empty stream.
  EXPECT_EQ(InflateAll({0x01, 0x03, 0x00, 0xfc, 0xff, 'a'}, out).status().code(),
            StatusCode::kCorruption);
  EXPECT_EQ(InflateAll({}, out).status().code(), StatusCode::kCorruption);
  // A fixed block whose first code is a length/distance pair reaching back
  // before the output (length 3: code 257 = 0000001 in 7 bits; distance 1:
  // code 0 in 5 bits): nothing to copy from.
  EXPECT_EQ(InflateAll({0x03, 0x02, 0x00}, out).status().code(), StatusCode::kCorruption);
}

// zlib's framing around the fixed block above: header 0x78 0x01 (deflate,
// 32 KiB window, no dictionary, 0x7801 % 31 == 0), then the Adler-32 of
// "a": 0x00620062.
TEST(UncompressTest, ChecksTheFrameAndTheChecksum) {
  std::vector<uint8_t> out(4);
  const std::vector<uint8_t> good = {0x78, 0x01, 0x4b, 0x04, 0x00, 0x00, 0x62, 0x00, 0x62};
  Result<size_t> n = Uncompress(good.data(), good.size(), out.data(), out.size());
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(out[0], 'a');
  // A wrong checksum; a header whose check bits are wrong; a stream that
  // does not end within the output (one byte of room for "a" is enough,
  // none is not).
  std::vector<uint8_t> bad = good;
  bad.back() ^= 1;
  EXPECT_FALSE(Uncompress(bad.data(), bad.size(), out.data(), out.size()).ok());
  bad = good;
  bad[1] = 0x02;
  EXPECT_FALSE(Uncompress(bad.data(), bad.size(), out.data(), out.size()).ok());
  EXPECT_TRUE(Uncompress(good.data(), good.size(), out.data(), 1).ok());
  EXPECT_FALSE(Uncompress(good.data(), good.size(), out.data(), 0).ok());
}

}  // namespace
}  // namespace instar
