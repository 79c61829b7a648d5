// ZstdCompress (instar/engine/zstd.h): frames of random, zero, repetitive,
// text-like, binary-like, mixed and short inputs, at sizes around the
// block and header-field edges, decode back to the input through our
// ZstdDecompress and ZstdDecompressCluster and through the system `zstd`
// (ci/setup installs it); a buffer too small is NoSpace, found out as qemu
// would need it for a cluster (cluster_size - 1 bytes of room).
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "instar/engine/zstd.h"
#include "testing/qemu_img.h"

namespace instar {
namespace {

using testing::RunProgram;
using testing::ScratchDir;

struct EncoderScratch {
  std::vector<uint8_t> memory = std::vector<uint8_t>(kZstdCompressScratchBytes);
  Arena arena{memory.data(), memory.size()};
};

struct DecoderScratch {
  std::vector<uint8_t> memory = std::vector<uint8_t>(kZstdScratchBytes);
  Arena arena{memory.data(), memory.size()};
};

// `data` compressed into a buffer of `capacity` (the bound by default).
Result<std::vector<uint8_t>> Compress(const std::vector<uint8_t>& data,
                                      size_t capacity = SIZE_MAX) {
  if (capacity == SIZE_MAX) capacity = ZstdCompressBound(data.size());
  std::vector<uint8_t> out(capacity);
  EncoderScratch scratch;
  const Result<size_t> n =
      ZstdCompress(data.data(), data.size(), out.data(), out.size(), scratch.arena);
  EXPECT_EQ(scratch.arena.used(), 0u);  // given back
  if (!n.ok()) return n.status();
  EXPECT_LE(*n, capacity);
  out.resize(*n);
  return out;
}

void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

const char* const kKinds[] = {"zeros", "one-byte", "random", "repetitive",
                              "text",  "binary",   "mixed",  "two-byte"};

// Data an encoder treats differently: runs (an RLE block), noise (raw
// blocks), a short pattern with rare changes (long matches, repeat
// offsets), words (short matches, Huffman literals with weights written
// directly), bytes over the whole range with a skewed distribution
// (literals whose weights cannot be), and a mix of all of it.
std::vector<uint8_t> MakeData(const std::string& kind, size_t size, uint32_t seed) {
  std::vector<uint8_t> data(size);
  std::mt19937 random(seed);
  if (kind == "zeros") return data;
  if (kind == "one-byte") {
    std::fill(data.begin(), data.end(), 0xe5);
  } else if (kind == "two-byte") {
    for (size_t i = 0; i < size; ++i) data[i] = (i & 1) != 0 ? 'a' : 'b';
  } else if (kind == "random") {
    for (uint8_t& b : data) b = static_cast<uint8_t>(random());
  } else if (kind == "repetitive") {
    const size_t period = 1 + random() % 300;
    for (size_t i = 0; i < size; ++i) {
      data[i] = i < period ? static_cast<uint8_t>(random()) : data[i - period];
      if (random() % 1000 == 0) data[i] = static_cast<uint8_t>(random());
    }
  } else if (kind == "text") {
    static const char* const kWords[] = {"qcow2 ",   "cluster ",  "zstd ",   "frame ", "block ",
                                         "literal ", "sequence ", "offset ", "\n",     "the "};
    size_t i = 0;
    while (i < size) {
      for (const char* c = kWords[random() % 10]; *c != '\0' && i < size; ++c) data[i++] = *c;
    }
  } else if (kind == "binary") {
    std::geometric_distribution<int> skewed(0.02);
    for (uint8_t& b : data) b = static_cast<uint8_t>(255 - std::min(skewed(random), 255));
  } else {  // mixed
    size_t i = 0;
    while (i < size) {
      const size_t run = 1 + random() % 3000;
      const uint32_t how = random() % 5;
      for (size_t j = 0; j < run && i < size; ++j, ++i) {
        switch (how) {
          case 0:
            data[i] = 0;
            break;
          case 1:
            data[i] = static_cast<uint8_t>(random());
            break;
          case 2:
            data[i] = static_cast<uint8_t>('a' + random() % 7);
            break;
          case 3:
            data[i] = i >= 777 ? data[i - 777] : 'x';
            break;
          default:
            data[i] = static_cast<uint8_t>(i * 7 + (i >> 9));
            break;
        }
      }
    }
  }
  return data;
}

// The edges of the frame header's content size field (256, 65792), of the
// literals section's size fields (32, 1024, 4096, 16384), of blocks (128
// KiB) and of the match finder's and the Huffman coder's thresholds.
const size_t kSizes[] = {0,      1,      2,      3,      4,      5,      7,     8,     15,
                         16,     17,     31,     32,     33,     63,     64,    65,    255,
                         256,    257,    1023,   1024,   1025,   4095,   4096,  4097,  16383,
                         16384,  16385,  65535,  65536,  65537,  65791,  65792, 65793, 131071,
                         131072, 131073, 262143, 262144, 262145, 1048583};

TEST(ZstdEncodeTest, RoundTripsThroughOurDecoder) {
  uint32_t seed = 1;
  for (const char* kind : kKinds) {
    for (size_t size : kSizes) {
      SCOPED_TRACE(std::string(kind) + ", " + std::to_string(size));
      const std::vector<uint8_t> data = MakeData(kind, size, seed++);
      const Result<std::vector<uint8_t>> frame = Compress(data);
      ASSERT_TRUE(frame.ok()) << frame.status().message();
      ASSERT_LE(frame->size(), ZstdCompressBound(size));
      DecoderScratch scratch;
      std::vector<uint8_t> out(size + 1);
      const Result<size_t> n =
          ZstdDecompress(frame->data(), frame->size(), out.data(), out.size(), scratch.arena);
      ASSERT_TRUE(n.ok()) << n.status().message();
      ASSERT_EQ(*n, size);
      ASSERT_TRUE(std::equal(data.begin(), data.end(), out.begin()));
      if (size == 0) continue;
      // As a qcow2 cluster: the frame padded to whole sectors.
      std::vector<uint8_t> padded = *frame;
      padded.resize((frame->size() + 511) / 512 * 512, 0xa5);
      std::vector<uint8_t> cluster(size);
      const Result<size_t> m = ZstdDecompressCluster(padded.data(), padded.size(), cluster.data(),
                                                     cluster.size(), scratch.arena);
      ASSERT_TRUE(m.ok()) << m.status().message();
      ASSERT_EQ(cluster, data);
    }
  }
}

// The reference decoder takes every frame: one `zstd -d` over all of them.
TEST(ZstdEncodeTest, TheZstdCliDecodesIt) {
  ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::vector<std::string> argv = {"zstd", "-d", "-q", "-f"};
  std::vector<std::pair<std::string, std::vector<uint8_t>>> expected;
  uint32_t seed = 1000;
  for (const char* kind : kKinds) {
    for (size_t size : kSizes) {
      const std::vector<uint8_t> data = MakeData(kind, size, seed++);
      const Result<std::vector<uint8_t>> frame = Compress(data);
      ASSERT_TRUE(frame.ok()) << frame.status().message();
      const std::string name = dir.File(std::string(kind) + "-" + std::to_string(size));
      WriteFile(name + ".zst", *frame);
      argv.push_back(name + ".zst");
      expected.emplace_back(name, data);
    }
  }
  std::string output;
  ASSERT_EQ(RunProgram(argv, &output), 0) << output;
  for (const auto& [name, data] : expected) {
    EXPECT_TRUE(testing::ReadWholeFile(name) == data) << name;
  }
}

// More than the 128 MiB window zstd's decoder takes by default: the frame
// declares that window, and no match reaches past it. Noise A at the
// start, noise B at 64 MiB, then A again more than 128 MiB after the
// first A (too far: raw once more) and B again some 65 MiB after the
// first B (a match): three noises' worth of frame, not two.
TEST(ZstdEncodeTest, InputsLargerThanTheWindow) {
  const size_t size = (129u << 20);
  const size_t noise = 256u << 10;
  std::vector<uint8_t> data(size);
  const std::vector<uint8_t> a = MakeData("random", noise, 77);
  const std::vector<uint8_t> b = MakeData("random", noise, 78);
  std::copy(a.begin(), a.end(), data.begin());
  std::copy(b.begin(), b.end(), data.begin() + (64l << 20));
  std::copy(a.begin(), a.end(), data.end() - 2 * static_cast<long>(noise));
  std::copy(b.begin(), b.end(), data.end() - static_cast<long>(noise));
  const Result<std::vector<uint8_t>> frame = Compress(data);
  ASSERT_TRUE(frame.ok()) << frame.status().message();
  EXPECT_GT(frame->size(), 3 * noise);
  EXPECT_LT(frame->size(), 3 * noise + (16u << 10));
  DecoderScratch scratch;
  std::vector<uint8_t> out(size);
  const Result<size_t> n =
      ZstdDecompress(frame->data(), frame->size(), out.data(), out.size(), scratch.arena);
  ASSERT_TRUE(n.ok()) << n.status().message();
  ASSERT_TRUE(out == data);
  ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  WriteFile(dir.File("big.zst"), *frame);
  std::string output;
  ASSERT_EQ(RunProgram({"zstd", "-d", "-q", "-f", dir.File("big.zst")}, &output), 0) << output;
  EXPECT_TRUE(testing::ReadWholeFile(dir.File("big")) == data);
}

// A frame that fits only in its own size: the same frame at exactly that
// room, NoSpace with one byte less; noise into a cluster's room less one
// byte, as qemu offers it, is NoSpace (qemu then writes it uncompressed).
TEST(ZstdEncodeTest, NoSpaceWhenTheFrameDoesNotFit) {
  for (const char* kind : {"text", "mixed", "repetitive", "binary", "two-byte"}) {
    for (size_t size : {size_t{100}, size_t{4096}, size_t{65536}, size_t{300000}}) {
      SCOPED_TRACE(std::string(kind) + ", " + std::to_string(size));
      const std::vector<uint8_t> data = MakeData(kind, size, 5);
      const Result<std::vector<uint8_t>> frame = Compress(data);
      ASSERT_TRUE(frame.ok()) << frame.status().message();
      const Result<std::vector<uint8_t>> exact = Compress(data, frame->size());
      ASSERT_TRUE(exact.ok()) << exact.status().message();
      EXPECT_EQ(*exact, *frame);
      EXPECT_EQ(Compress(data, frame->size() - 1).status().code(), StatusCode::kNoSpace);
    }
  }
  const std::vector<uint8_t> noise = MakeData("random", 65536, 6);
  EXPECT_EQ(Compress(noise, noise.size() - 1).status().code(), StatusCode::kNoSpace);
  // Not even the frame header fits.
  EXPECT_EQ(Compress({}, 8).status().code(), StatusCode::kNoSpace);
  EXPECT_EQ(Compress(std::vector<uint8_t>(4096), 9).status().code(), StatusCode::kNoSpace);
  // Too little arena for the encoder's state (a run needs none).
  std::vector<uint8_t> small(kZstdCompressScratchBytes / 2);
  Arena little(small.data(), small.size());
  const std::vector<uint8_t> text = MakeData("text", 4096, 7);
  std::vector<uint8_t> out(ZstdCompressBound(text.size()));
  EXPECT_EQ(ZstdCompress(text.data(), text.size(), out.data(), out.size(), little).status().code(),
            StatusCode::kNoSpace);
  EXPECT_LT(kZstdCompressScratchBytes, 600u << 10);
}

// What a compressor is for: runs shrink to a few bytes, text and
// repetitive data to a fraction, noise stays raw (no bigger than the
// bound), through qemu's use: a cluster into cluster_size - 1 bytes.
TEST(ZstdEncodeTest, CompressesClustersAsQemuAsksForThem) {
  for (size_t cluster_size = 512; cluster_size <= (2u << 20); cluster_size *= 4) {
    for (const char* kind : kKinds) {
      SCOPED_TRACE(std::string(kind) + ", " + std::to_string(cluster_size));
      const std::vector<uint8_t> data = MakeData(kind, cluster_size, 9);
      const Result<std::vector<uint8_t>> unbounded = Compress(data);
      ASSERT_TRUE(unbounded.ok()) << unbounded.status().message();
      const Result<std::vector<uint8_t>> frame = Compress(data, cluster_size - 1);
      const std::string k = kind;
      if (k == "random") {
        EXPECT_EQ(frame.status().code(), StatusCode::kNoSpace);
      }
      if (unbounded->size() >= cluster_size) {
        EXPECT_EQ(frame.status().code(), StatusCode::kNoSpace);
        continue;
      }
      ASSERT_TRUE(frame.ok()) << frame.status().message();
      EXPECT_EQ(*frame, *unbounded);
      if (k == "zeros" || k == "one-byte") {
        // The header and one RLE block per 128 KiB.
        EXPECT_LE(frame->size(), 9 + 4 * ((cluster_size + (128u << 10) - 1) / (128u << 10)));
      } else if ((k == "text" || k == "repetitive" || k == "two-byte") && cluster_size >= 8192) {
        EXPECT_LT(frame->size(), cluster_size * 2 / 5);
      }
      std::vector<uint8_t> padded = *frame;
      padded.resize((frame->size() + 511) / 512 * 512, 0);
      std::vector<uint8_t> cluster(cluster_size);
      DecoderScratch scratch;
      const Result<size_t> n = ZstdDecompressCluster(padded.data(), padded.size(), cluster.data(),
                                                     cluster.size(), scratch.arena);
      ASSERT_TRUE(n.ok()) << n.status().message();
      ASSERT_EQ(cluster, data);
    }
  }
}

}  // namespace
}  // namespace instar
