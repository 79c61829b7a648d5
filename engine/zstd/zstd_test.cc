// ZstdDecompress (instar/engine/zstd.h) on frames the system `zstd` CLI
// writes (ci/setup installs it) at several levels and options, on a few
// frames written out by hand from RFC 8878, on truncated and bit-flipped
// frames, and through the qcow2 driver on an image qemu-img compressed
// with compression_type=zstd.
#include "instar/engine/zstd.h"

#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "instar/engine/compare.h"
#include "instar/engine/format_driver.h"
#include "testing/corpus.h"
#include "testing/memory_device.h"
#include "testing/qemu_img.h"
#include "zstd/xxh64.h"

namespace instar {
namespace {

using testing::RunProgram;
using testing::ScratchDir;

struct Scratch {
  std::vector<uint8_t> memory = std::vector<uint8_t>(kZstdScratchBytes);
  Arena arena{memory.data(), memory.size()};
};

Result<size_t> Decompress(const std::vector<uint8_t>& in, std::vector<uint8_t>& out) {
  Scratch scratch;
  const Result<size_t> n =
      ZstdDecompress(in.data(), in.size(), out.data(), out.size(), scratch.arena);
  EXPECT_EQ(scratch.arena.used(), 0u);  // released
  return n;
}

void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// `data` compressed by the zstd CLI with `options`; empty on failure.
std::vector<uint8_t> ZstdCli(const ScratchDir& dir, const std::vector<uint8_t>& data,
                             const std::vector<std::string>& options) {
  const std::string in = dir.File("in");
  const std::string out = dir.File("in.zst");
  WriteFile(in, data);
  std::vector<std::string> argv = {"zstd", "-q", "-f"};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.insert(argv.end(), {in, "-o", out});
  std::string output;
  const int status = RunProgram(argv, &output);
  EXPECT_EQ(status, 0) << output;
  return testing::ReadWholeFile(out);
}

// Data a compressor treats differently: zeros, text, random bytes, and a
// mix of runs, skewed alphabets, repeats at many distances and noise.
std::vector<uint8_t> MakeData(const std::string& kind, size_t size, uint32_t seed) {
  std::vector<uint8_t> data(size);
  std::mt19937 random(seed);
  if (kind == "zeros") return data;
  if (kind == "random") {
    for (uint8_t& b : data) b = static_cast<uint8_t>(random());
    return data;
  }
  if (kind == "text") {
    static const char* const kWords[] = {"qcow2 ",   "cluster ",  "zstd ",   "frame ", "block ",
                                         "literal ", "sequence ", "offset ", "\n",     "the "};
    size_t i = 0;
    while (i < size) {
      for (const char* c = kWords[random() % 10]; *c != '\0' && i < size; ++c) data[i++] = *c;
    }
    return data;
  }
  size_t i = 0;  // mixed
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
  return data;
}

TEST(Xxh64Test, AgreesWithLibxxhash) {
  const std::vector<uint8_t> data = MakeData("random", 4096, 1);
  for (size_t size : {0, 1, 3, 4, 7, 8, 31, 32, 33, 63, 64, 100, 1000, 4096}) {
    for (uint64_t seed : {0ull, 1ull, 0x9E3779B185EBCA87ull}) {
      EXPECT_EQ(zstd_internal::Xxh64(data.data(), size, seed), XXH64(data.data(), size, seed))
          << size << " " << seed;
    }
  }
}

// Frames written out from RFC 8878: the magic 0xFD2FB528 (28 b5 2f fd),
// a Frame_Header_Descriptor 0x20 (Single_Segment, a 1-byte content size,
// no checksum, no dictionary), the content size, then 3-byte block headers
// (bit 0 Last_Block, bits 1-2 Block_Type, bits 3-23 Block_Size).
TEST(ZstdTest, HandWrittenFrames) {
  std::vector<uint8_t> out(16);
  // An empty frame: one last raw block of 0 bytes (header 0x000001).
  const Result<size_t> n = Decompress({0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x00, 0x01, 0x00, 0x00}, out);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 0u);
  // Content size 5: one last RLE block (type 1) of 5 bytes, (5 << 3) | 2 | 1
  // = 0x2b, then the byte repeated.
  const Result<size_t> rle =
      Decompress({0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x05, 0x2b, 0x00, 0x00, 'a'}, out);
  ASSERT_TRUE(rle.ok()) << rle.status().message();
  EXPECT_EQ(std::string(out.begin(), out.begin() + 5), "aaaaa");
  // A skippable frame (magic 0x184D2A5A, 2 bytes of user data) first, then
  // a raw block of 3 bytes: (3 << 3) | 1 = 0x19.
  const Result<size_t> skipped =
      Decompress({0x5a, 0x2a, 0x4d, 0x18, 0x02, 0x00, 0x00, 0x00, 0xee, 0xee, 0x28,
                  0xb5, 0x2f, 0xfd, 0x20, 0x03, 0x19, 0x00, 0x00, 'a',  'b',  'c'},
                 out);
  ASSERT_TRUE(skipped.ok()) << skipped.status().message();
  EXPECT_EQ(std::string(out.begin(), out.begin() + 3), "abc");
}

TEST(ZstdTest, RefusesMalformedFrames) {
  std::vector<uint8_t> out(16);
  auto code = [&](const std::vector<uint8_t>& in) { return Decompress(in, out).status().code(); };
  // Not the magic number; nothing at all.
  EXPECT_EQ(code({0x28, 0xb5, 0x2f, 0xfe, 0x20, 0x00, 0x01, 0x00, 0x00}), StatusCode::kCorruption);
  EXPECT_EQ(code({}), StatusCode::kCorruption);
  // The descriptor's reserved bit (0x08).
  EXPECT_EQ(code({0x28, 0xb5, 0x2f, 0xfd, 0x28, 0x00, 0x01, 0x00, 0x00}), StatusCode::kCorruption);
  // Dictionary_ID_Flag 1 and dictionary 7: no dictionary to give.
  EXPECT_EQ(code({0x28, 0xb5, 0x2f, 0xfd, 0x21, 0x07, 0x00, 0x01, 0x00, 0x00}),
            StatusCode::kNotSupported);
  // Block_Type 3 is reserved: (0 << 3) | 6 | 1.
  EXPECT_EQ(code({0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x00, 0x07, 0x00, 0x00}), StatusCode::kCorruption);
  // A content size of 4 for 3 bytes of raw block.
  EXPECT_EQ(code({0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x04, 0x19, 0x00, 0x00, 'a', 'b', 'c'}),
            StatusCode::kCorruption);
  // A raw block larger than the single-segment window (the content size).
  EXPECT_EQ(code({0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x02, 0x19, 0x00, 0x00, 'a', 'b', 'c'}),
            StatusCode::kCorruption);
  // More than the output holds: 17 bytes of RLE into 16.
  EXPECT_EQ(code({0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x11, 0x8b, 0x00, 0x00, 'a'}),
            StatusCode::kCorruption);
  // Bytes after the last frame that are no frame.
  EXPECT_EQ(code({0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00}),
            StatusCode::kCorruption);
}

struct CliOptions {
  const char* name;
  std::vector<std::string> options;
};

const CliOptions kCliOptions[] = {
    {"level 1", {"-1"}},
    {"level 3", {"-3"}},
    {"level 3 no checksum", {"-3", "--no-check"}},
    {"level 3 no content size", {"-3", "--no-content-size"}},
    {"level 19", {"-19"}},
    {"level 19 no checksum", {"-19", "--no-check"}},
    {"ultra 22", {"--ultra", "-22"}},
    {"long distance matching", {"-3", "--long=24"}},
};

// Every size and kind of data at every option set decodes back to itself,
// alone and as two frames one after the other.
TEST(ZstdTest, DecodesWhatTheZstdCliWrites) {
  ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  const size_t sizes[] = {0, 1, 2, 100, 4096, 64u << 10, (200u << 10) + 1, 2u << 20};
  uint32_t seed = 7;
  for (const CliOptions& options : kCliOptions) {
    const std::string& level = options.options.size() > 1 && options.options[0] == "--ultra"
                                   ? options.options[1]
                                   : options.options[0];
    const bool slow = level == "-19" || level == "-22";
    for (const char* kind : {"zeros", "text", "random", "mixed"}) {
      for (size_t size : sizes) {
        // The slow levels on the 2 MiB inputs only for the mixed data.
        if (slow && size == (2u << 20) && std::string(kind) != "mixed") continue;
        SCOPED_TRACE(std::string(options.name) + ", " + kind + ", " + std::to_string(size));
        const std::vector<uint8_t> data = MakeData(kind, size, seed++);
        const std::vector<uint8_t> frame = ZstdCli(dir, data, options.options);
        ASSERT_FALSE(frame.empty());
        std::vector<uint8_t> out(size + 1);
        const Result<size_t> n = Decompress(frame, out);
        ASSERT_TRUE(n.ok()) << n.status().message();
        ASSERT_EQ(*n, size);
        ASSERT_TRUE(std::equal(data.begin(), data.end(), out.begin()));
        if (size > (64u << 10)) continue;
        std::vector<uint8_t> two = frame;
        two.insert(two.end(), frame.begin(), frame.end());
        std::vector<uint8_t> both(2 * size);
        const Result<size_t> m = Decompress(two, both);
        ASSERT_TRUE(m.ok()) << m.status().message();
        ASSERT_EQ(*m, 2 * size);
        ASSERT_TRUE(std::equal(data.begin(), data.end(), both.begin() + static_cast<long>(size)));
      }
    }
  }
}

// One frame with a checksum cut at every length, and flipped at every bit
// of its first 2 KiB and a sample after: a cut is always an error; a flip
// is an error or, where it hits a bit the format ignores, the same data.
TEST(ZstdTest, TruncatedAndFlippedFramesFail) {
  ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::vector<uint8_t> data = MakeData("mixed", 64u << 10, 99);
  const std::vector<uint8_t> frame = ZstdCli(dir, data, {"-3"});
  ASSERT_GT(frame.size(), 2048u);
  std::vector<uint8_t> out(data.size());
  for (size_t cut = 0; cut < frame.size(); ++cut) {
    const std::vector<uint8_t> part(frame.begin(), frame.begin() + static_cast<long>(cut));
    ASSERT_FALSE(Decompress(part, out).ok()) << cut;
  }
  size_t failed = 0;
  size_t flips = 0;
  for (size_t bit = 0; bit < frame.size() * 8; bit += bit < 2048 * 8 ? 1 : 61) {
    std::vector<uint8_t> bad = frame;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    const Result<size_t> n = Decompress(bad, out);
    ++flips;
    if (!n.ok()) {
      ++failed;
      continue;
    }
    ASSERT_EQ(*n, data.size()) << bit;
    ASSERT_EQ(out, data) << bit;
  }
  EXPECT_GT(failed, flips * 9 / 10);
}

// qcow2_zstd_decompress(): frames until the cluster is full, the sector
// padding after them ignored; a frame too large for it, or input that ends
// first, fails.
TEST(ZstdTest, ClusterDecodingStopsWhenTheClusterIsFull) {
  ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::vector<uint8_t> data = MakeData("mixed", 64u << 10, 5);
  std::vector<uint8_t> frame = ZstdCli(dir, data, {"-3"});
  ASSERT_FALSE(frame.empty());
  Scratch scratch;
  std::vector<uint8_t> cluster(data.size());
  std::vector<uint8_t> padded = frame;
  padded.resize((frame.size() + 511) / 512 * 512 + 512, 0xa5);
  const Result<size_t> n = ZstdDecompressCluster(padded.data(), padded.size(), cluster.data(),
                                                 cluster.size(), scratch.arena);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(cluster, data);
  // Two frames of half a cluster each.
  const std::vector<uint8_t> half(data.begin(), data.begin() + static_cast<long>(data.size() / 2));
  std::vector<uint8_t> halves = ZstdCli(dir, half, {"-3"});
  const std::vector<uint8_t> second = halves;
  halves.insert(halves.end(), second.begin(), second.end());
  const Result<size_t> two = ZstdDecompressCluster(halves.data(), halves.size(), cluster.data(),
                                                   cluster.size(), scratch.arena);
  ASSERT_TRUE(two.ok()) << two.status().message();
  EXPECT_TRUE(std::equal(half.begin(), half.end(), cluster.begin()));
  // One half only: the input ends before the cluster is full.
  EXPECT_FALSE(ZstdDecompressCluster(second.data(), second.size(), cluster.data(), cluster.size(),
                                     scratch.arena)
                   .ok());
  // A cluster smaller than the frame's content.
  EXPECT_FALSE(ZstdDecompressCluster(frame.data(), frame.size(), cluster.data(), cluster.size() - 1,
                                     scratch.arena)
                   .ok());
  // The peak the header promises, and too little arena for it.
  EXPECT_LT(kZstdScratchBytes, 140u << 10);
  std::vector<uint8_t> small(kZstdScratchBytes / 2);
  Arena little(small.data(), small.size());
  EXPECT_EQ(
      ZstdDecompressCluster(frame.data(), frame.size(), cluster.data(), cluster.size(), little)
          .status()
          .code(),
      StatusCode::kNoSpace);
}

// An image qemu-img compressed with zstd reads back, through the qcow2
// driver's read_data, as the raw file it was converted from.
TEST(ZstdTest, Qcow2ZstdImageReadsBackAsItsSource) {
  ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::vector<uint8_t> source = MakeData("mixed", 3u << 20, 11);
  const std::vector<uint8_t> text = MakeData("text", 1u << 20, 12);
  std::copy(text.begin(), text.end(), source.begin() + (1u << 20));
  std::fill(source.begin() + (2u << 20), source.begin() + (2u << 20) + (256u << 10), 0);
  WriteFile(dir.File("source.raw"), source);
  for (const char* cluster_size : {"4096", "65536", "2097152"}) {
    SCOPED_TRACE(cluster_size);
    const std::string image_path = dir.File("image.qcow2");
    std::string output;
    ASSERT_EQ(RunProgram({"qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", "-o",
                          std::string("compression_type=zstd,cluster_size=") + cluster_size,
                          dir.File("source.raw"), image_path},
                         &output),
              0)
        << output;
    testing::MemoryDevice device(testing::ReadWholeFile(image_path));
    testing::MapOpener opener;
    std::vector<uint8_t> memory(64u << 20);
    Arena arena(memory.data(), memory.size());
    OpenOptions options;
    options.compat = QemuVersion{7, 2, 22};
    Result<Image*> image = OpenImage(ImageFormat::kQcow2, device, opener, arena, options);
    ASSERT_TRUE(image.ok()) << image.status().message();
    ASSERT_EQ((*image)->VirtualSize(), source.size());
    std::vector<uint8_t> read(source.size());
    const Status status = ReadGuest(**image, 0, read.size(), read.data(), options.compat, arena);
    ASSERT_TRUE(status.ok()) << status.message();
    EXPECT_TRUE(read == source);
  }
}

}  // namespace
}  // namespace instar
