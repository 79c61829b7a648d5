#include "instar/engine/status.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "instar/engine/image.h"
#include "instar/engine/text_builder.h"

namespace instar {
namespace {

std::string Format(const Status& status, size_t size = 128) {
  std::string out(size, '\xff');
  const size_t n = FormatStatusMessage(status, out.data(), size);
  EXPECT_EQ(out[n], '\0');
  return out.substr(0, n);
}

TEST(StatusTest, MessageWithoutArgumentIsTheLiteral) {
  EXPECT_EQ(Format(Status::Corruption("Image is not in qcow2 format")),
            "Image is not in qcow2 format");
  EXPECT_EQ(Format(Status::Ok()), "");
}

TEST(StatusTest, ArgumentReplacesTheFirstPlaceholder) {
  const Status s = Status::NotSupported("Unsupported cluster size: 2^{}").With(30);
  EXPECT_TRUE(s.has_argument());
  EXPECT_EQ(s.code(), StatusCode::kNotSupported);
  EXPECT_EQ(Format(s), "Unsupported cluster size: 2^30");
  EXPECT_EQ(Format(Status::Corruption("a {} b {}").With(18446744073709551615ull)),
            "a 18446744073709551615 b {}");
  EXPECT_EQ(Format(Status::Corruption("zero {}").With(0)), "zero 0");
}

TEST(StatusTest, TwoArgumentsHexSignedAndText) {
  EXPECT_EQ(Format(Status::Corruption("offset '{}' is not a multiple of '{}'").With(16, 512)),
            "offset '16' is not a multiple of '512'");
  EXPECT_EQ(Format(Status::NotSupported("Unknown incompatible feature: {x}").With(0x100000)),
            "Unknown incompatible feature: 100000");
  EXPECT_EQ(Format(Status::Corruption("too large ({})").WithSigned(-2147483648LL)),
            "too large (-2147483648)");
  EXPECT_EQ(Format(Status::Corruption("too large ({})").WithSigned(7)), "too large (7)");
  const char name[] = {'b', '0', 'x'};
  EXPECT_EQ(Format(Status::Corruption("Bitmap '{s}' bad").WithText(name, 2)), "Bitmap 'b0' bad");
  EXPECT_EQ(Format(Status::Corruption("Bitmap '{s}' bad").WithText(name, 0)), "Bitmap '' bad");
  EXPECT_EQ(Format(Status::Corruption("Bitmap '{s}' bad")), "Bitmap '{s}' bad");
}

TEST(StatusTest, QemuErrnoKeepsTheMessage) {
  const Status s = Status::Corruption("vhdx block size").QemuErrno(QemuErrno::kEINVAL);
  EXPECT_EQ(s.qemu_errno(), QemuErrno::kEINVAL);
  EXPECT_EQ(Format(s), "vhdx block size");
  EXPECT_STREQ(QemuErrnoText(s.qemu_errno()), "Invalid argument");
  EXPECT_STREQ(QemuErrnoText(QemuErrno::kNone), "");
}

TEST(StatusTest, PlaceholderWithoutArgumentStaysVisible) {
  EXPECT_EQ(Format(Status::Corruption("value {}")), "value {}");
}

TEST(StatusTest, OutputIsCutToTheBuffer) {
  EXPECT_EQ(Format(Status::Corruption("abcdef {}").With(12345), 8), "abcdef ");
  EXPECT_EQ(Format(Status::Corruption("abc"), 1), "");
}

std::string StrError(int error_number) {
  char buffer[64];
  TextBuilder w(buffer, sizeof(buffer));
  AppendStrError(w, error_number);
  return std::string(w.c_str(), w.length());
}

// glibc's words, as Python's os.strerror() printed them on Debian 12, and
// its "Unknown error N" for the numbers it has no name for.
TEST(StrErrorTest, GlibcWordsAndUnknownNumbers) {
  EXPECT_EQ(StrError(0), "Success");
  EXPECT_EQ(StrError(1), "Operation not permitted");
  EXPECT_EQ(StrError(27), "File too large");
  EXPECT_EQ(StrError(133), "Memory page has hardware error");
  EXPECT_EQ(StrError(41), "Unknown error 41");
  EXPECT_EQ(StrError(134), "Unknown error 134");
  EXPECT_EQ(StrError(-5), "Unknown error -5");
  EXPECT_STREQ(QemuErrnoText(QemuErrno::kENOTSUP), "Operation not supported");
}

// bdrv_getlength() of a node of `total_sectors`: the length, or -ret cut to
// an int as error_setg_errno() takes it.
TEST(QemuLengthTest, NegativeAndHugeSectorCountsHaveNoLength) {
  EXPECT_TRUE(QemuLengthOf(2048).ok);
  EXPECT_EQ(QemuLengthOf(2048).bytes, 1048576u);
  EXPECT_EQ(QemuLengthOf(INT64_MAX / 512).bytes, uint64_t{INT64_MAX / 512} * 512);
  EXPECT_EQ(QemuLengthOf(INT64_MAX / 512 + 1).error_number, 27);  // EFBIG
  EXPECT_EQ(QemuLengthOf(-1).error_number, 1);                    // EPERM
  EXPECT_EQ(QemuLengthOf(INT64_MIN).error_number, 0);             // no ": <strerror>"
  EXPECT_FALSE(QemuLengthOf(INT64_MIN).ok);
  EXPECT_EQ(QemuLengthOf(-(int64_t{1} << 32) - 7).error_number, 7);  // the low 32 bits
  // 6.0's check at the open, in 64-bit unsigned arithmetic: 2^62 sectors
  // wrap to a length of 0 and pass; -1 does not.
  EXPECT_FALSE(QemuRefusesTotalSectors(int64_t{1} << 62, QemuVersion{7, 2, 22}));
  EXPECT_TRUE(QemuRefusesTotalSectors(-1, QemuVersion{7, 2, 22}));
  EXPECT_FALSE(QemuRefusesTotalSectors(-1, QemuVersion{5, 2, 0}));
}

}  // namespace
}  // namespace instar
