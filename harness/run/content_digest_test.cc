#include "harness/run/content_digest.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <xxhash.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <string>

#include "harness/core/error.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

void PutU64(std::string& out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>(value >> (8 * i));
}

// The digest as content_digest.h defines it, computed the slow way: the
// size, then each non-zero 4 KiB block's index and bytes.
std::string Expected(const std::string& bytes) {
  std::string stream;
  PutU64(stream, bytes.size());
  for (size_t at = 0; at < bytes.size(); at += 4096) {
    const std::string block = bytes.substr(at, 4096);
    if (block.find_first_not_of('\0') == std::string::npos) continue;
    PutU64(stream, at / 4096);
    stream += block;
  }
  char text[40];
  std::snprintf(text, sizeof(text), "xxh3-64-sparse:%016" PRIx64,
                static_cast<uint64_t>(XXH3_64bits(stream.data(), stream.size())));
  return text;
}

// The digest is of the bytes: a file with holes and one with the same
// zeros written out give the same digest, the one content_digest.h defines.
TEST(ContentDigestTest, HolesHashAsTheZerosTheyReadAs) {
  testing::TempDir dir;
  std::string bytes(3 << 20, '\0');
  bytes.replace(1 << 20, 5, "hello");
  bytes.replace((3 << 20) - 3, 3, "end");
  bytes += "tail";  // a last block shorter than 4 KiB
  const auto dense = dir.path() / "dense";
  testing::WriteText(dense, bytes);
  const auto sparse = dir.path() / "sparse";
  {
    std::ofstream out(sparse, std::ios::binary);
    out.seekp(1 << 20);
    out << "hello";
    out.seekp((3 << 20) - 3);
    out << "endtail";
  }
  EXPECT_EQ(ContentDigest(dense), Expected(bytes));
  EXPECT_EQ(ContentDigest(sparse), Expected(bytes));
  // A file that is a hole to its end, and an empty one.
  const auto holes = dir.path() / "holes";
  { std::ofstream out(holes, std::ios::binary); }
  ASSERT_EQ(::truncate(holes.c_str(), 5 << 20), 0);
  EXPECT_EQ(ContentDigest(holes), Expected(std::string(5 << 20, '\0')));
  // Different bytes, different digests; the same non-zero blocks at another
  // size too.
  EXPECT_NE(ContentDigest(dense), ContentDigest(holes));
  EXPECT_NE(Expected(std::string(4096, '\0')), Expected(std::string(8192, '\0')));
  const auto empty = dir.path() / "empty";
  testing::WriteText(empty, "");
  EXPECT_EQ(ContentDigest(empty), Expected(""));
}

TEST(ContentDigestTest, AMissingFileIsAnError) {
  EXPECT_EQ(testing::ErrorOf([] { ContentDigest("/nonexistent/instar-file"); }),
            "/nonexistent/instar-file: cannot open: No such file or directory");
}

}  // namespace
}  // namespace instar::harness
