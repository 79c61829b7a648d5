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

TEST(StatusTest, PlaceholderWithoutArgumentStaysVisible) {
  EXPECT_EQ(Format(Status::Corruption("value {}")), "value {}");
}

TEST(StatusTest, OutputIsCutToTheBuffer) {
  EXPECT_EQ(Format(Status::Corruption("abcdef {}").With(12345), 8), "abcdef ");
  EXPECT_EQ(Format(Status::Corruption("abc"), 1), "");
}

}  // namespace
}  // namespace instar
