// The scanners must read descriptor text exactly as glibc's sscanf does in
// qemu's vmdk.c, so they are checked against sscanf itself.
#include "vmdk/vmdk_text.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/memory_device.h"

namespace instar::vmdk {
namespace {

using testing::MemoryDevice;

struct Text {
  explicit Text(const std::string& s)
      : device(std::vector<uint8_t>(s.begin(), s.end())),
        window(TextSource::kWindowBytes),
        source(&device, 0, s.size(), window.data()) {}
  MemoryDevice device;
  std::vector<uint8_t> window;
  TextSource source;
};

void ExpectSameAsSscanf(const std::string& s) {
  char access[11] = "", type[11] = "", name[512] = "";
  int64_t sectors = 0, offset = 0;
  const int matches = std::sscanf(s.c_str(), "%10s %" SCNd64 " %10s \"%511[^\n\r\"]\" %" SCNd64,
                                  access, &sectors, type, name, &offset);
  Text text(s);
  ExtentLineScanner scanner;
  const ExtentLine line = scanner.Scan(text.source, 0, text.source.StrLen());
  ASSERT_TRUE(text.source.status().ok());
  ASSERT_EQ(line.matches, matches) << "[" << s << "]";
  if (matches >= 1) {
    EXPECT_STREQ(line.access, access) << s;
  }
  if (matches >= 2) {
    EXPECT_EQ(line.sectors, sectors) << s;
  }
  if (matches >= 3) {
    EXPECT_STREQ(line.type, type) << s;
  }
  if (matches >= 4) {
    EXPECT_EQ(std::string(s, line.name_start, line.name_length), std::string(name)) << s;
  }
  if (matches >= 5) {
    EXPECT_EQ(line.flat_offset, offset) << s;
  }
}

TEST(VmdkTextTest, ExtentLinesLikeSscanf) {
  for (const char* s : {
           "RW 100 FLAT \"a b\" 5",
           "RW 9223372036854775808 FLAT \"x\" 0",
           "RW -9223372036854775809 FLAT \"x\" 0",
           "RW -5 SPARSE \"x\"",
           "RW\n100\nFLAT\n\"x\"\n7",
           "RWXXXXXXXXXXXX 1 FLAT \"x\" 0",
           "RW 1 FLAT \"\" 0",
           "RW 1 FLAT  \"x\"0",
           "RW +7 FLAT \"x\" -0",
           "RW 1 FLAT \"x",
           "RW 0x10 FLAT \"x\" 0",
           "RW 1 FLATXXXXXXXXX \"x\" 0",
           "RW 1 FLAT \"x\"\n\n 12",
           "RW - FLAT",
           "RW + FLAT",
           "RW 12abc FLAT \"x\" 0",
           "",
           "   \n\t ",
           "RW",
           "RW 5",
           "RW 5 SPARSE",
           "RW 5 SPARSE x",
           "RW 5 SPARSE \"a\r\"",
           "RW 5 SPARSE \"a\nb\"",
           "RW 5 SPARSE \"a\" x",
           "RW 5 SPARSE \"a\" -",
           "RDONLY 5 SPARSE \"a\"",
       }) {
    ExpectSameAsSscanf(s);
  }
  // The file name stops at 511 characters.
  ExpectSameAsSscanf("RW 1 SPARSE \"" + std::string(600, 'n') + "\" 3");
  ExpectSameAsSscanf("RW 1 FLAT \"" + std::string(511, 'n') + "\" 3");
}

TEST(VmdkTextTest, RandomExtentLinesLikeSscanf) {
  std::mt19937 random(1234);
  const std::string alphabet[] = {"RW",
                                  " ",
                                  "\n",
                                  "\r",
                                  "\t",
                                  "\"",
                                  "FLAT",
                                  "SPARSE",
                                  "1",
                                  "-",
                                  "+",
                                  "0",
                                  "99999999999999999999",
                                  "x",
                                  "VMFS",
                                  "\x01"};
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const int parts = 1 + static_cast<int>(random() % 12);
    for (int k = 0; k < parts; ++k) s += alphabet[random() % std::size(alphabet)];
    ExpectSameAsSscanf(s);
  }
}

void ExpectHexSameAsSscanf(const std::string& s) {
  uint32_t expected = 0xdeadbeef;
  const int matches = std::sscanf(s.c_str(), "%" SCNx32, &expected);
  Text text(s);
  uint32_t value = 0;
  const bool ok = ScanHex32(text.source, 0, text.source.length(), &value);
  ASSERT_EQ(ok, matches == 1) << "[" << s << "]";
  if (ok) {
    EXPECT_EQ(value, expected) << s;
  }
}

TEST(VmdkTextTest, HexLikeSscanf) {
  for (const char* s : {"ffffffff",  "1ffffffff",  "fffffffffffffffffffff",
                        "-1",        "+10",        "0x1g",
                        "0xg",       "  \n 12",    "0X",
                        "x1",        "-0x10",      "12345678901234567890123",
                        "100000005", "-100000005", "+-1",
                        "- 1",       "0x",         "00x5",
                        "",          "g",          "b6e88db3\n",
                        "0xFFFFFFFF"}) {
    ExpectHexSameAsSscanf(s);
  }
  std::mt19937 random(99);
  const char alphabet[] = "0123456789abcdefABCDEFxX+- \ng";
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const int n = static_cast<int>(random() % 24);
    for (int k = 0; k < n; ++k) s += alphabet[random() % (sizeof(alphabet) - 1)];
    ExpectHexSameAsSscanf(s);
  }
}

TEST(VmdkTextTest, FindTextAndLines) {
  Text text(std::string("ab\ncreateType=\"x\"\0createType", 28));
  const uint64_t end = text.source.StrLen();
  EXPECT_EQ(end, 17u);
  EXPECT_EQ(FindText(text.source, 0, end, "createType", 10), 3u);
  EXPECT_EQ(FindText(text.source, 4, end, "createType", 10), kNotFound);
  EXPECT_EQ(FindText(text.source, 0, 28, "createType", 10), 3u);
  EXPECT_EQ(NextLine(text.source, 0, end), 3u);
  EXPECT_EQ(NextLine(text.source, 3, end), end);
  // Bytes past the length read as NUL.
  EXPECT_EQ(text.source.At(28), 0);
  EXPECT_EQ(text.source.At(1u << 30), 0);
}

// A descriptor of whitespace lines ending in a long word: qemu rescans from
// every line start; the scanner's memory keeps this linear.
TEST(VmdkTextTest, WhitespaceRunsDoNotRescan) {
  std::string s;
  for (int i = 0; i < 100000; ++i) s += " \n";
  s += "RW " + std::string(200000, '7') + " FLAT \"f\" 0";
  Text text(s);
  ExtentLineScanner scanner;
  const uint64_t end = text.source.StrLen();
  int lines = 0;
  int reads_before = text.device.reads();
  for (uint64_t p = 0; p < end; p = NextLine(text.source, p, end)) {
    const ExtentLine line = scanner.Scan(text.source, p, end);
    EXPECT_EQ(line.matches, 5);
    ++lines;
  }
  EXPECT_EQ(lines, 100001);
  // Each 4 KiB window of the text is read a small number of times.
  EXPECT_LT(text.device.reads() - reads_before, 3 * static_cast<int>(s.size() / 4096 + 1));
}

TEST(VmdkTextTest, ReadErrorsAreSticky) {
  struct Failing final : BlockDevice {
    Status Read(uint64_t, void*, size_t) override { return Status::IOError("gone"); }
    uint64_t Size() const override { return 1 << 20; }
    Result<uint64_t> SeekData(uint64_t o) override { return o; }
    Result<uint64_t> SeekHole(uint64_t) override { return uint64_t{1} << 20; }
  } device;
  std::vector<uint8_t> window(TextSource::kWindowBytes);
  TextSource source(&device, 0, 1000, window.data());
  EXPECT_EQ(source.At(5), 0);
  EXPECT_EQ(source.StrLen(), 0u);
  EXPECT_EQ(source.status().code(), StatusCode::kIOError);
}

// PrintHex32 is printf's "%x": lowercase, no padding.
TEST(PrintHex32Test, PrintsAsPercentX) {
  char out[8];
  for (const uint32_t value : {0u, 0xau, 0x1234abcdu, 0x0fffffffu, 0xffffffffu}) {
    char expected[16];
    std::snprintf(expected, sizeof(expected), "%x", value);
    EXPECT_EQ(std::string(out, PrintHex32(value, out)), expected);
  }
}

}  // namespace
}  // namespace instar::vmdk
