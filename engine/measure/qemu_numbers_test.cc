// The freestanding strtoull()/strtod() emulations against glibc's own,
// which is what qemu-img calls: same characters consumed, same value, same
// ERANGE. (qemu_strtosz() itself is checked against the real qemu-img
// binaries by the measure cli cases of cases/measure.json: `instar-harness
// conform --command measure --case '_cli/*'`.)
#include "measure/qemu_numbers.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace instar::measure_internal {
namespace {

double ToDouble(const SoftDouble& v) {
  if (v.nan) return std::nan("");
  double d = v.infinite ? HUGE_VAL : std::ldexp(static_cast<double>(v.mantissa), v.exponent);
  return v.negative ? -d : d;
}

void ExpectStrToULLMatches(const std::string& s, int base) {
  errno = 0;
  char* end = nullptr;
  const unsigned long long expected = std::strtoull(s.c_str(), &end, base);
  const bool expected_range = errno == ERANGE;
  uint64_t value = 0;
  size_t consumed = 0;
  bool overflow = false;
  StrToULL(s.data(), s.size(), base, &value, &consumed, &overflow);
  EXPECT_EQ(consumed, static_cast<size_t>(end - s.c_str())) << "'" << s << "' base " << base;
  EXPECT_EQ(value, expected) << "'" << s << "' base " << base;
  EXPECT_EQ(overflow, expected_range) << "'" << s << "' base " << base;
}

void ExpectStrToDMatches(const std::string& s) {
  errno = 0;
  char* end = nullptr;
  const double expected = std::strtod(s.c_str(), &end);
  const bool expected_range = errno == ERANGE;
  SoftDouble value;
  size_t consumed = 0;
  bool range = false;
  StrToD(s.data(), s.size(), &value, &consumed, &range);
  EXPECT_EQ(consumed, static_cast<size_t>(end - s.c_str())) << "'" << s << "'";
  if (std::isnan(expected)) {
    EXPECT_TRUE(value.nan) << "'" << s << "'";
    return;
  }
  // Subnormal results are only flagged, not rounded to subnormal precision
  // (nothing qemu computes from a size depends on their exact value).
  if (expected != 0 && std::fabs(expected) < 2.2250738585072014e-308) {
    EXPECT_TRUE(range) << "'" << s << "'";
    return;
  }
  if (expected == 0 && expected_range) {
    EXPECT_TRUE(range) << "'" << s << "'";
    EXPECT_TRUE(value.IsZero()) << "'" << s << "'";
    return;
  }
  EXPECT_EQ(ToDouble(value), expected) << "'" << s << "'";
  EXPECT_EQ(value.negative, std::signbit(expected)) << "'" << s << "'";
  EXPECT_EQ(range, expected_range) << "'" << s << "'";
}

const std::vector<std::string>& Samples() {
  static const std::vector<std::string> samples = {
      "",
      "0",
      "00",
      "08",
      "0x",
      "0x1f",
      "0X1F",
      "0xg",
      " 12",
      "\t\n12",
      "+12",
      "-12",
      "-0",
      "1k",
      "18446744073709551615",
      "18446744073709551616",
      "-18446744073709551615",
      "-18446744073709551616",
      "99999999999999999999999",
      "0x10000000000000000",
      "0777",
      "1.5",
      ".5",
      "5.",
      ".",
      "-.5",
      "1e3",
      "1e",
      "1e+",
      "1e-3k",
      "1.5e3",
      "1E400",
      "1e-400",
      "4.9406564584124654e-324",
      "2.2250738585072014e-308",
      "1.7976931348623157e308",
      "1.7976931348623159e308",
      "inf",
      "-Infinity",
      "INFx",
      "nan",
      "nan(abc)",
      "nan(",
      "NaN(12_z)x",
      "0x1p4",
      "0x1.8p1",
      "0x.8",
      "0x.p1",
      "0x1p",
      "0xAp-2",
      "9007199254740993",
      "9007199254740995",
      "1.00000000000000011102230246251565404236316680908203125",
      "1.00000000000000011102230246251565404236316680908203124",
      "1.00000000000000011102230246251565404236316680908203126",
      "0.1",
      "0.3",
      "3.14159265358979323846264338327950288",
      "123456789012345678901234567890",
      "0.000000000000000000000000000000000000001",
      "18446744073709551616.0",
      "18446744073709549568",
      "18446744073709550591",
      "18446744073709550592",
  };
  return samples;
}

TEST(QemuNumbersTest, StrToULLMatchesGlibc) {
  for (const std::string& s : Samples()) {
    for (int base : {0, 10, 16}) ExpectStrToULLMatches(s, base);
  }
}

TEST(QemuNumbersTest, StrToDMatchesGlibc) {
  for (const std::string& s : Samples()) ExpectStrToDMatches(s);
}

TEST(QemuNumbersTest, LongDecimalsRoundLikeGlibc) {
  std::mt19937_64 rng(20240601);
  for (int i = 0; i < 300; ++i) {
    std::string s;
    const int integer_digits = static_cast<int>(rng() % 25);
    const int fraction_digits = static_cast<int>(rng() % 900);
    for (int d = 0; d < integer_digits; ++d) s += static_cast<char>('0' + rng() % 10);
    s += '.';
    for (int d = 0; d < fraction_digits; ++d) s += static_cast<char>('0' + rng() % 10);
    if (rng() % 3 == 0) s += "e" + std::to_string(static_cast<int>(rng() % 700) - 350);
    ExpectStrToDMatches(s);
  }
  // Exact halfway points between neighbouring doubles, and one digit off.
  for (int i = 0; i < 200; ++i) {
    const double d =
        std::ldexp(static_cast<double>(rng() >> 11), static_cast<int>(rng() % 200) - 100);
    char buf[1100];
    std::snprintf(buf, sizeof(buf), "%.800e", d + std::nextafter(d, HUGE_VAL) - d);
    ExpectStrToDMatches(buf);
    // The midpoint d + ulp/2 is exactly representable with enough digits.
    const long double mid = static_cast<long double>(d) +
                            (static_cast<long double>(std::nextafter(d, HUGE_VAL)) - d) / 2;
    std::snprintf(buf, sizeof(buf), "%.70Le", mid);
    ExpectStrToDMatches(buf);
  }
}

TEST(QemuNumbersTest, RandomTextMatchesGlibc) {
  std::mt19937_64 rng(7);
  const std::string alphabet = "0123456789.eEpPxX+- \tabcfinNAy()kMGT,0000111";
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const int length = static_cast<int>(rng() % 24);
    for (int c = 0; c < length; ++c) s += alphabet[rng() % alphabet.size()];
    ExpectStrToDMatches(s);
    for (int base : {0, 10, 16}) ExpectStrToULLMatches(s, base);
  }
}

TEST(QemuNumbersTest, EmbeddedNulEndsTheString) {
  const std::string s(
      "12\0"
      "34",
      5);
  uint64_t value = 0;
  EXPECT_EQ(QemuStrtou64(s.data(), s.size(), 0, &value), ConvResult::kOk);
  EXPECT_EQ(value, 12u);
}

}  // namespace
}  // namespace instar::measure_internal
