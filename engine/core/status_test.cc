#include "instar/engine/status.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace instar
