// Deflate and Compress (instar/engine/deflate.h): every stream they write
// is decoded twice, by the engine's own Inflate/Uncompress and by the
// system zlib (an independent decoder; raw streams with a 4 KiB window, as
// qemu's qcow2 reads them), and must give the input back.
#include "instar/engine/deflate.h"

#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "instar/engine/inflate.h"

namespace instar {
namespace {

std::vector<uint8_t> Random(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(size);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// Words from a small vocabulary with punctuation and line breaks: what a
// guest's text files and logs look like to a compressor.
std::vector<uint8_t> TextLike(size_t size, uint32_t seed) {
  static const char* const kWords[] = {
      "the",    "of",      "disk",   "image",  "cluster", "qcow2",   "refcount", "table",
      "header", "offset",  "data",   "write",  "read",    "kernel",  "module",   "device",
      "error",  "warning", "info",   "sector", "block",   "mapping", "guest",    "host",
      "and",    "to",      "in",     "is",     "for",     "with",    "on",       "at",
      "0x1f00", "42",      "return", "status", "null",    "value",   "size",     "length"};
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < size) {
    s += kWords[rng() % (sizeof(kWords) / sizeof(kWords[0]))];
    const uint32_t r = rng() % 16;
    s += r == 0 ? ".\n" : r == 1 ? ", " : " ";
  }
  s.resize(size);
  return std::vector<uint8_t>(s.begin(), s.end());
}

std::vector<uint8_t> Repetitive(size_t size) {
  std::vector<uint8_t> v(size);
  for (size_t i = 0; i < size; ++i) v[i] = static_cast<uint8_t>("abcabd"[i % 6] + (i / 7000) % 3);
  return v;
}

size_t Bound(size_t size) { return size + size / 64 + 64; }

class DeflateTest : public ::testing::Test {
 protected:
  DeflateTest()
      : scratch_buffer_(kDeflateScratchBytes),
        scratch_(scratch_buffer_.data(), scratch_buffer_.size()) {}

  // Deflate(), then both decoders.
  std::vector<uint8_t> RawRoundTrip(const std::vector<uint8_t>& in) {
    std::vector<uint8_t> packed(Bound(in.size()));
    const Result<size_t> n = Deflate(in.data(), in.size(), packed.data(), packed.size(), scratch_);
    EXPECT_TRUE(n.ok()) << n.status().message();
    if (!n.ok()) return {};
    EXPECT_EQ(scratch_.used(), 0u);
    packed.resize(*n);

    std::vector<uint8_t> out(in.size() + 1);
    const Result<size_t> m = Inflate(packed.data(), packed.size(), out.data(), out.size());
    EXPECT_TRUE(m.ok()) << m.status().message();
    EXPECT_TRUE(m.ok() && *m == in.size() &&
                (in.empty() || std::memcmp(out.data(), in.data(), in.size()) == 0))
        << "engine Inflate differs, size " << in.size();

    z_stream z{};
    EXPECT_EQ(inflateInit2(&z, -12), Z_OK);
    std::vector<uint8_t> zout(in.size() + 1);
    z.next_in = packed.data();
    z.avail_in = static_cast<uInt>(packed.size());
    z.next_out = zout.data();
    z.avail_out = static_cast<uInt>(zout.size());
    EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END) << (z.msg != nullptr ? z.msg : "");
    EXPECT_EQ(z.total_out, in.size());
    EXPECT_EQ(z.avail_in, 0u);
    inflateEnd(&z);
    zout.resize(in.size());
    EXPECT_TRUE(zout == in) << "zlib inflate differs, size " << in.size();
    return packed;
  }

  // Compress(), then both decoders.
  std::vector<uint8_t> ZlibRoundTrip(const std::vector<uint8_t>& in) {
    std::vector<uint8_t> packed(Bound(in.size()));
    const Result<size_t> n = Compress(in.data(), in.size(), packed.data(), packed.size(), scratch_);
    EXPECT_TRUE(n.ok()) << n.status().message();
    if (!n.ok()) return {};
    packed.resize(*n);

    std::vector<uint8_t> out(in.size() + 1);
    const Result<size_t> m = Uncompress(packed.data(), packed.size(), out.data(), out.size());
    EXPECT_TRUE(m.ok()) << m.status().message();
    EXPECT_TRUE(m.ok() && *m == in.size() &&
                (in.empty() || std::memcmp(out.data(), in.data(), in.size()) == 0))
        << "engine Uncompress differs, size " << in.size();

    std::vector<uint8_t> zout(in.size() + 1);
    uLongf zsize = zout.size();
    EXPECT_EQ(uncompress(zout.data(), &zsize, packed.data(), packed.size()), Z_OK);
    EXPECT_EQ(zsize, in.size());
    zout.resize(in.size());
    EXPECT_TRUE(zout == in) << "zlib uncompress differs, size " << in.size();
    return packed;
  }

  void BothRoundTrips(const std::vector<uint8_t>& in) {
    RawRoundTrip(in);
    ZlibRoundTrip(in);
  }

  std::vector<uint8_t> scratch_buffer_;
  Arena scratch_;
};

TEST_F(DeflateTest, EmptyAndShortInputs) {
  for (size_t size = 0; size <= 300; ++size) {
    BothRoundTrips(Random(size, static_cast<uint32_t>(size)));
    BothRoundTrips(std::vector<uint8_t>(size, 0));
    BothRoundTrips(TextLike(size, static_cast<uint32_t>(size)));
    BothRoundTrips(Repetitive(size));
  }
}

// Sizes around the window (4 KiB, 32 KiB), a block's symbols (32 Ki), a
// stored block's most (65535) and a qcow2 cluster (64 KiB, 2 MiB).
TEST_F(DeflateTest, SizesAroundEdges) {
  for (size_t edge :
       {size_t{258}, size_t{4096}, size_t{32768}, size_t{65535}, size_t{65536}, size_t{131072}}) {
    for (size_t size = edge - 3; size <= edge + 3; ++size) {
      BothRoundTrips(Random(size, static_cast<uint32_t>(size)));
      BothRoundTrips(std::vector<uint8_t>(size, 0));
      BothRoundTrips(TextLike(size, static_cast<uint32_t>(size)));
      BothRoundTrips(Repetitive(size));
    }
  }
  BothRoundTrips(TextLike(2u << 20, 7));
  BothRoundTrips(Random(2u << 20, 7));
}

// Half random, half zeros, and the other way round, as a disk's clusters
// are; and data whose matches lie just inside or outside a 4 KiB window.
TEST_F(DeflateTest, MixedData) {
  std::vector<uint8_t> a = Random(65536, 1);
  std::fill(a.begin() + 32768, a.end(), 0);
  BothRoundTrips(a);
  std::vector<uint8_t> b(65536, 0);
  const std::vector<uint8_t> r = Random(32768, 2);
  std::copy(r.begin(), r.end(), b.begin() + 32768);
  BothRoundTrips(b);
  for (size_t period : {4095u, 4096u, 4097u, 32767u, 32768u, 32769u}) {
    std::vector<uint8_t> block = Random(period, static_cast<uint32_t>(period));
    std::vector<uint8_t> c;
    for (int i = 0; i < 3; ++i) c.insert(c.end(), block.begin(), block.end());
    BothRoundTrips(c);
  }
}

TEST_F(DeflateTest, CompressesRedundantData) {
  EXPECT_LT(RawRoundTrip(std::vector<uint8_t>(65536, 0)).size(), 200u);
  EXPECT_LT(RawRoundTrip(Repetitive(65536)).size(), 1000u);
  // Not worse than zlib's fastest level on text.
  const std::vector<uint8_t> text = TextLike(65536, 3);
  std::vector<uint8_t> z(compressBound(text.size()));
  uLongf zsize = z.size();
  ASSERT_EQ(compress2(z.data(), &zsize, text.data(), text.size(), 1), Z_OK);
  EXPECT_LE(ZlibRoundTrip(text).size(), zsize);
}

// A capacity too small is NoSpace; the exact size is enough, and gives the
// same bytes.
TEST_F(DeflateTest, NoSpaceWhenTheOutputDoesNotFit) {
  std::vector<uint8_t> out(65536);
  const std::vector<uint8_t> random = Random(65536, 9);
  EXPECT_EQ(Deflate(random.data(), random.size(), out.data(), 65535, scratch_).status().code(),
            StatusCode::kNoSpace);
  EXPECT_EQ(scratch_.used(), 0u);
  EXPECT_EQ(Compress(random.data(), random.size(), out.data(), 65535, scratch_).status().code(),
            StatusCode::kNoSpace);

  const std::vector<uint8_t> text = TextLike(65536, 4);
  const std::vector<uint8_t> packed = RawRoundTrip(text);
  ASSERT_FALSE(packed.empty());
  EXPECT_EQ(
      Deflate(text.data(), text.size(), out.data(), packed.size() - 1, scratch_).status().code(),
      StatusCode::kNoSpace);
  const Result<size_t> n = Deflate(text.data(), text.size(), out.data(), packed.size(), scratch_);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + *n), packed);

  const std::vector<uint8_t> zpacked = ZlibRoundTrip(text);
  EXPECT_EQ(
      Compress(text.data(), text.size(), out.data(), zpacked.size() - 1, scratch_).status().code(),
      StatusCode::kNoSpace);
  EXPECT_TRUE(Compress(text.data(), text.size(), out.data(), zpacked.size(), scratch_).ok());
  for (size_t capacity = 0; capacity < 8; ++capacity) {
    EXPECT_EQ(Compress(text.data(), text.size(), out.data(), capacity, scratch_).status().code(),
              StatusCode::kNoSpace);
    EXPECT_EQ(Deflate(text.data(), text.size(), out.data(), capacity, scratch_).status().code(),
              StatusCode::kNoSpace);
  }
}

TEST_F(DeflateTest, SmallArenaIsNoSpace) {
  std::vector<uint8_t> small(1024);
  Arena arena(small.data(), small.size());
  const std::vector<uint8_t> text = TextLike(4096, 5);
  std::vector<uint8_t> out(8192);
  EXPECT_EQ(Deflate(text.data(), text.size(), out.data(), out.size(), arena).status().code(),
            StatusCode::kNoSpace);
  EXPECT_EQ(arena.used(), 0u);
}

}  // namespace
}  // namespace instar
