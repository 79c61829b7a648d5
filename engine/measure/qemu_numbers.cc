#include "measure/qemu_numbers.h"

#include "instar/engine/bytes.h"

namespace instar::measure_internal {

namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Case-insensitive match of `word` (lower case) at text[pos].
bool MatchWord(const char* text, size_t length, size_t pos, const char* word) {
  for (size_t i = 0; word[i] != '\0'; ++i) {
    if (pos + i >= length || ToLower(text[pos + i]) != word[i]) return false;
  }
  return true;
}

// An unsigned integer of up to kLimbs * 32 bits, enough for every value the
// conversion below forms (see the bounds at StrToD). Operations that would
// exceed it set `overflowed` instead of writing past the end.
class BigUint {
 public:
  static constexpr int kLimbs = 160;

  void SetSmall(uint64_t v) {
    size_ = 0;
    while (v != 0) {
      limb_[size_++] = static_cast<uint32_t>(v);
      v >>= 32;
    }
  }

  void MulAdd(uint32_t mul, uint32_t add) {
    uint64_t carry = add;
    for (int i = 0; i < size_; ++i) {
      const uint64_t t = uint64_t{limb_[i]} * mul + carry;
      limb_[i] = static_cast<uint32_t>(t);
      carry = t >> 32;
    }
    if (carry != 0) Push(static_cast<uint32_t>(carry));
  }

  // this *= 10^n
  void MulPow10(int n) {
    while (n >= 9) {
      MulAdd(1000000000u, 0);
      n -= 9;
    }
    static constexpr uint32_t kSmall[9] = {1,      10,      100,      1000,     10000,
                                           100000, 1000000, 10000000, 100000000};
    if (n > 0) MulAdd(kSmall[n], 0);
  }

  void ShiftLeft(int bits) {
    if (size_ == 0 || bits <= 0) return;
    const int words = bits / 32;
    const int rest = bits % 32;
    if (size_ + words + 1 > kLimbs) {
      overflowed = true;
      return;
    }
    limb_[size_ + words] = 0;
    for (int i = size_ - 1; i >= 0; --i) {
      const uint64_t v = uint64_t{limb_[i]} << rest;
      limb_[i + words + 1] |= static_cast<uint32_t>(v >> 32);
      limb_[i + words] = static_cast<uint32_t>(v);
    }
    for (int i = 0; i < words; ++i) limb_[i] = 0;
    size_ += words + 1;
    Trim();
  }

  void ShiftRight1() {
    for (int i = 0; i < size_; ++i) {
      limb_[i] = (limb_[i] >> 1) | (i + 1 < size_ ? (limb_[i + 1] << 31) : 0);
    }
    Trim();
  }

  int BitLength() const {
    if (size_ == 0) return 0;
    return (size_ - 1) * 32 + (32 - __builtin_clz(limb_[size_ - 1]));
  }
  bool IsZero() const { return size_ == 0; }

  static int Compare(const BigUint& a, const BigUint& b) {
    if (a.size_ != b.size_) return a.size_ < b.size_ ? -1 : 1;
    for (int i = a.size_ - 1; i >= 0; --i) {
      if (a.limb_[i] != b.limb_[i]) return a.limb_[i] < b.limb_[i] ? -1 : 1;
    }
    return 0;
  }

  // this -= other; requires this >= other.
  void Subtract(const BigUint& other) {
    int64_t borrow = 0;
    for (int i = 0; i < size_; ++i) {
      int64_t t = int64_t{limb_[i]} - (i < other.size_ ? int64_t{other.limb_[i]} : 0) - borrow;
      borrow = t < 0 ? 1 : 0;
      if (t < 0) t += int64_t{1} << 32;
      limb_[i] = static_cast<uint32_t>(t);
    }
    Trim();
  }

  bool overflowed = false;

 private:
  void Push(uint32_t v) {
    if (size_ >= kLimbs) {
      overflowed = true;
      return;
    }
    limb_[size_++] = v;
  }
  void Trim() {
    while (size_ > 0 && limb_[size_ - 1] == 0) --size_;
  }

  uint32_t limb_[kLimbs] = {};
  int size_ = 0;
};

// Rounds num / den * 2^exp2 (num > 0) to the nearest double, ties to even.
// `*range_error` is set on overflow and for results below the smallest
// normal double (whose exact subnormal rounding nothing here depends on).
void RoundQuotient(BigUint& num, BigUint& den, int64_t exp2, SoftDouble* out, bool* range_error) {
  // Scale so the quotient has 55 or 56 bits: 53 for the mantissa, one to
  // round with, and one of slack.
  const int64_t shift = int64_t{55} + den.BitLength() - num.BitLength();
  if (shift >= 0) {
    num.ShiftLeft(static_cast<int>(shift));
  } else {
    den.ShiftLeft(static_cast<int>(-shift));
  }
  if (num.overflowed || den.overflowed) {
    // Unreachable with the bounds StrToD enforces; fail safe as infinity.
    out->infinite = true;
    *range_error = true;
    return;
  }
  // Long division, one quotient bit at a time.
  int steps = num.BitLength() - den.BitLength();
  uint64_t quotient = 0;
  if (steps >= 0) {
    BigUint divisor = den;
    divisor.ShiftLeft(steps);
    for (int i = steps; i >= 0; --i) {
      quotient <<= 1;
      if (BigUint::Compare(num, divisor) >= 0) {
        num.Subtract(divisor);
        quotient |= 1;
      }
      divisor.ShiftRight1();
    }
  }
  bool sticky = !num.IsZero();
  int64_t e = exp2 - shift;
  while (quotient >= (uint64_t{1} << 54)) {
    sticky |= (quotient & 1) != 0;
    quotient >>= 1;
    ++e;
  }
  const bool round_bit = (quotient & 1) != 0;
  uint64_t mantissa = quotient >> 1;
  ++e;
  if (round_bit && (sticky || (mantissa & 1) != 0)) ++mantissa;
  if (mantissa == (uint64_t{1} << 53)) {
    mantissa >>= 1;
    ++e;
  }
  if (e > 971) {
    out->infinite = true;
    *range_error = true;
    return;
  }
  if (e < -1074) *range_error = true;
  out->mantissa = mantissa;
  out->exponent = static_cast<int32_t>(e < -2000 ? -2000 : e);
}

// Parses an exponent's digits at text[*pos] (after 'e' or 'p'), saturating
// far beyond any value that matters.
bool ParseExponent(const char* text, size_t length, size_t* pos, int64_t* exponent) {
  size_t i = *pos;
  bool negative = false;
  if (i < length && (text[i] == '+' || text[i] == '-')) {
    negative = text[i] == '-';
    ++i;
  }
  if (i >= length || !IsDigit(text[i])) return false;
  int64_t value = 0;
  while (i < length && IsDigit(text[i])) {
    if (value < 1000000) value = value * 10 + (text[i] - '0');
    ++i;
  }
  *exponent = negative ? -value : value;
  *pos = i;
  return true;
}

// The significant digits StrToD keeps. Beyond 800 decimal digits the rest
// can only decide a tie, which the sticky digit settles (every halfway point
// between doubles has at most 767 significant decimal digits).
constexpr int kMaxDecimalDigits = 800;
constexpr int kMaxHexDigits = 32;

// Parses the hexadecimal form after "0x" at text[start]; returns false when
// there is no hex digit (glibc then reads just the "0").
bool ParseHexFloat(const char* text, size_t length, size_t start, SoftDouble* value,
                   size_t* consumed, bool* range_error) {
  size_t i = start;
  BigUint mantissa;
  int kept = 0;
  bool sticky = false;
  bool any_digit = false;
  int64_t exp2 = 0;
  while (i < length && HexValue(text[i]) >= 0) {
    const int d = HexValue(text[i++]);
    any_digit = true;
    if (kept == 0 && d == 0) continue;
    if (kept < kMaxHexDigits) {
      mantissa.MulAdd(16, static_cast<uint32_t>(d));
      ++kept;
    } else {
      exp2 += 4;
      sticky |= d != 0;
    }
  }
  if (i < length && text[i] == '.') {
    size_t j = i + 1;
    bool fraction_digit = false;
    while (j < length && HexValue(text[j]) >= 0) {
      const int d = HexValue(text[j++]);
      fraction_digit = true;
      if (kept == 0 && d == 0) {
        exp2 -= 4;
        continue;
      }
      if (kept < kMaxHexDigits) {
        mantissa.MulAdd(16, static_cast<uint32_t>(d));
        ++kept;
        exp2 -= 4;
      } else {
        sticky |= d != 0;
      }
    }
    if (any_digit || fraction_digit) {
      any_digit = true;
      i = j;
    }
  }
  if (!any_digit) return false;
  if (i < length && (text[i] == 'p' || text[i] == 'P')) {
    size_t j = i + 1;
    int64_t e = 0;
    if (ParseExponent(text, length, &j, &e)) {
      exp2 += e;
      i = j;
    }
  }
  *consumed = i;
  if (mantissa.IsZero()) return true;  // zero, sign already recorded
  if (sticky) {
    mantissa.MulAdd(2, 1);
    exp2 -= 1;
  }
  const int64_t magnitude = mantissa.BitLength() + exp2;
  if (magnitude > 1025) {
    value->infinite = true;
    *range_error = true;
    return true;
  }
  if (magnitude < -1080) {
    *range_error = true;
    return true;
  }
  BigUint one;
  one.SetSmall(1);
  RoundQuotient(mantissa, one, exp2, value, range_error);
  return true;
}

void MulU64(uint64_t a, uint64_t b, uint64_t* high, uint64_t* low) {
  const uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32;
  const uint64_t b_lo = b & 0xffffffffu, b_hi = b >> 32;
  const uint64_t ll = a_lo * b_lo;
  const uint64_t lh = a_lo * b_hi;
  const uint64_t hl = a_hi * b_lo;
  const uint64_t hh = a_hi * b_hi;
  const uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
  *low = (mid << 32) | (ll & 0xffffffffu);
  *high = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

// qemu's suffix_mul() with unit 1024: the multiplier, or -1.
int64_t SuffixMultiplier(char c) {
  switch (c) {
    case 'b':
    case 'B':
      return 1;
    case 'k':
    case 'K':
      return int64_t{1} << 10;
    case 'm':
    case 'M':
      return int64_t{1} << 20;
    case 'g':
    case 'G':
      return int64_t{1} << 30;
    case 't':
    case 'T':
      return int64_t{1} << 40;
    case 'p':
    case 'P':
      return int64_t{1} << 50;
    case 'e':
    case 'E':
      return int64_t{1} << 60;
    default:
      return -1;
  }
}
int Log2(uint64_t power_of_two) { return CountTrailingZeros(power_of_two); }

// (uint64_t)(value * 2^scale) for a finite non-negative value below 2^64 as
// the x86-64 conversion computes it; a value of exactly 2^64 converts to 0
// (the compiler's unsigned conversion sequence overflows to that).
uint64_t TruncateScaled(const SoftDouble& value, int scale) {
  if (value.mantissa == 0) return 0;
  const int64_t e = int64_t{value.exponent} + scale;
  if (e >= 0) {
    if (e >= 64) return 0;
    const int bits = 64 - __builtin_clzll(value.mantissa);
    if (bits + e > 64) return 0;
    return value.mantissa << e;
  }
  if (e <= -64) return 0;
  return value.mantissa >> (-e);
}

// Whether value * 2^scale >= 2^64.
bool ScaledAtLeast2To64(const SoftDouble& value, int scale) {
  if (value.mantissa == 0) return false;
  const int bits = 64 - __builtin_clzll(value.mantissa);
  return int64_t{bits} + value.exponent + scale > 64;
}

bool HasFractionalPart(const SoftDouble& value) {
  if (value.mantissa == 0 || value.exponent >= 0) return false;
  if (value.exponent <= -64) return true;
  return (value.mantissa & ((uint64_t{1} << (-value.exponent)) - 1)) != 0;
}

// qemu_strtod()/qemu_strtod_finite() with an end pointer, as 5.2 and 7.2
// have them: on a non-finite value the end goes back to the start and the
// result is -EINVAL; a range error keeps its end.
ConvResult QemuStrtodFiniteOld(const char* text, size_t length, SoftDouble* value, size_t* end) {
  bool range = false;
  size_t consumed = 0;
  StrToD(text, length, value, &consumed, &range);
  *end = consumed;
  if (!range && consumed == 0) return ConvResult::kInvalid;
  if (!range && !value->IsFinite()) {
    *end = 0;
    return ConvResult::kInvalid;
  }
  return range ? ConvResult::kRange : ConvResult::kOk;
}

// do_strtosz() of qemu 5.2 (and 6.0's predecessors): the whole string goes
// through strtod.
ConvResult StrtoszV5(const char* text, size_t length, uint64_t* result) {
  SoftDouble value;
  size_t end = 0;
  ConvResult r = QemuStrtodFiniteOld(text, length, &value, &end);
  if (r == ConvResult::kOk) {
    const bool multiplier_required = HasFractionalPart(value);
    int64_t multiplier = end < length ? SuffixMultiplier(text[end]) : -1;
    if (multiplier >= 0) {
      ++end;
    } else {
      multiplier = 1;
    }
    const int scale = Log2(static_cast<uint64_t>(multiplier));
    if (multiplier == 1 && multiplier_required) {
      r = ConvResult::kInvalid;
    } else if (ScaledAtLeast2To64(value, scale) || (value.negative && !value.IsZero())) {
      r = ConvResult::kRange;
    } else {
      *result = TruncateScaled(value, scale);
    }
  }
  if (end < length) r = ConvResult::kInvalid;
  return r;
}

// The 64.64 fixed-point product of 6.0 and later: val * mul plus the
// fraction's share, rounding its half upwards. False on overflow.
bool FixedPointScale(uint64_t* val, uint64_t fraction, uint64_t multiplier) {
  uint64_t high, low, frac_high, frac_low;
  MulU64(*val, multiplier, &high, &low);
  MulU64(fraction, multiplier, &frac_high, &frac_low);
  low += frac_high;
  high += low < frac_high ? 1 : 0;
  const uint64_t round = frac_low >> 63;
  low += round;
  high += low < round ? 1 : 0;
  if (high != 0) return false;
  *val = low;
  return true;
}

// The end both versions of do_strtosz() share. ApplySizeSuffix reads an
// optional suffix at *end (setting *suffix) and scales *val plus the binary
// fraction valf by it; without a suffix a fraction is invalid (and *end goes
// back to 0, as qemu's does). FinishSize fails anything left unread and
// stores the value on success.
ConvResult ApplySizeSuffix(const char* text, size_t length, size_t* end, uint64_t* val,
                           uint64_t valf, bool* suffix) {
  const int64_t multiplier = *end < length ? SuffixMultiplier(text[*end]) : -1;
  *suffix = multiplier > 0;
  if (!*suffix) {
    if (valf == 0) return ConvResult::kOk;
    *end = 0;
    return ConvResult::kInvalid;
  }
  ++*end;
  if (multiplier == 1) {
    if (valf == 0) return ConvResult::kOk;
    *end = 0;
    return ConvResult::kInvalid;
  }
  return FixedPointScale(val, valf, static_cast<uint64_t>(multiplier)) ? ConvResult::kOk
                                                                       : ConvResult::kRange;
}

ConvResult FinishSize(size_t length, size_t end, ConvResult r, uint64_t val, uint64_t* result) {
  if (end < length) r = ConvResult::kInvalid;
  if (r == ConvResult::kOk) *result = val;
  return r;
}

// do_strtosz() of qemu 6.0 to 7.2.
ConvResult StrtoszV6(const char* text, size_t length, uint64_t* result, bool* hex_warning) {
  uint64_t val = 0, valf = 0;
  size_t end = 0;
  bool hex = false;
  bool overflow = false;
  ConvResult r;
  StrToULL(text, length, 10, &val, &end, &overflow);
  if (overflow) {
    r = ConvResult::kRange;
  } else if (end == 0) {
    r = ConvResult::kInvalid;
  } else {
    r = ConvResult::kOk;
  }
  do {
    if (r != ConvResult::kOk) break;
    bool has_minus = false;
    for (size_t i = 0; i < end; ++i) has_minus |= text[i] == '-';
    if (has_minus) {
      end = 0;
      r = ConvResult::kInvalid;
      break;
    }
    if (val == 0 && end < length && (text[end] == 'x' || text[end] == 'X')) {
      StrToULL(text, length, 16, &val, &end, &overflow);
      if (overflow) {
        r = ConvResult::kRange;
        break;
      }
      if (end < length && text[end] == '.') {
        end = 0;
        r = ConvResult::kInvalid;
        break;
      }
      hex = true;
    } else if (end < length && text[end] == '.') {
      const size_t f = end;
      SoftDouble fraction;
      size_t fraction_end = 0;
      const ConvResult fr = QemuStrtodFiniteOld(text + f, length - f, &fraction, &fraction_end);
      end = f + fraction_end;
      if (fr != ConvResult::kOk) {
        ++end;
      } else {
        bool exponent = false;
        for (size_t i = f; i < end; ++i) exponent |= text[i] == 'e' || text[i] == 'E';
        if (exponent) {
          end = 0;
          r = ConvResult::kInvalid;
          break;
        }
        valf = TruncateScaled(fraction, 64);
      }
    }
    bool suffix = false;
    r = ApplySizeSuffix(text, length, &end, &val, valf, &suffix);
    if (suffix && hex) *hex_warning = true;
  } while (false);
  return FinishSize(length, end, r, val, result);
}

// do_strtosz() of qemu 8.0 and later.
ConvResult StrtoszV8(const char* text, size_t length, uint64_t* result) {
  uint64_t val = 0, valf = 0;
  size_t end = 0;
  bool overflow = false;
  ConvResult r;
  // parse_uint(): strtoull base 10, then refuse a leading '-'.
  StrToULL(text, length, 10, &val, &end, &overflow);
  if (overflow) {
    r = ConvResult::kRange;
  } else if (end == 0) {
    r = ConvResult::kInvalid;
  } else {
    size_t s = 0;
    while (s < length && IsSpace(text[s])) ++s;
    if (s < length && text[s] == '-') {
      val = 0;
      r = ConvResult::kRange;
    } else {
      r = ConvResult::kOk;
    }
  }
  do {
    if (r == ConvResult::kRange) break;
    bool has_dot = false;
    for (size_t i = 0; i < length; ++i) has_dot |= text[i] == '.';
    if (r == ConvResult::kOk && val == 0 && end < length &&
        (text[end] == 'x' || text[end] == 'X')) {
      StrToULL(text, length, 16, &val, &end, &overflow);
      if (overflow) {
        r = ConvResult::kRange;
        break;
      }
      if (end < length && (text[end] == '.' || SuffixMultiplier(text[end]) > 0)) {
        end = 0;
        r = ConvResult::kInvalid;
        break;
      }
    } else if ((end < length && text[end] == '.') || (end == 0 && has_dot)) {
      SoftDouble fraction;
      bool fraction_one = false;
      bool fraction_positive = false;
      bool fraction_range = false;
      if (r == ConvResult::kOk && end < length && text[end] == '.' &&
          !(end + 1 < length && IsDigit(text[end + 1]))) {
        ++end;
      } else {
        // strtod on a copy cut at the first 'e' and the first 'E', so that
        // "1.5e" keeps its exabyte suffix instead of reading an exponent.
        size_t copy_length = length - end;
        for (size_t i = end; i < length; ++i) {
          if (text[i] == 'e' || text[i] == 'E') {
            copy_length = i - end;
            break;
          }
        }
        bool range = false;
        size_t consumed = 0;
        StrToD(text + end, copy_length, &fraction, &consumed, &range);
        if (!fraction.IsFinite()) {
          r = ConvResult::kInvalid;
          fraction = SoftDouble();
        } else {
          end += consumed;
          if (range) {
            r = ConvResult::kRange;
          } else if (consumed == 0) {
            r = ConvResult::kInvalid;
          } else {
            r = ConvResult::kOk;
          }
        }
        if (fraction.negative) {
          r = ConvResult::kRange;
          break;
        }
        fraction_range = r == ConvResult::kRange;
      }
      fraction_one = fraction.mantissa != 0 && !HasFractionalPart(fraction) &&
                     TruncateScaled(fraction, 0) == 1;
      fraction_positive = fraction.mantissa != 0;
      if (fraction_one) {
        if (val == UINT64_MAX) {
          r = ConvResult::kRange;
          break;
        }
        ++val;
      } else if (fraction_range) {
        valf = 1;
        r = ConvResult::kOk;
      } else {
        valf = TruncateScaled(fraction, 64);
        if (valf == 0 && fraction_positive) valf = 1;
      }
    }
    if (r != ConvResult::kOk) break;
    bool suffix = false;
    r = ApplySizeSuffix(text, length, &end, &val, valf, &suffix);
  } while (false);
  return FinishSize(length, end, r, val, result);
}

}  // namespace

size_t CStringLength(const char* text, size_t length) {
  for (size_t i = 0; i < length; ++i) {
    if (text[i] == '\0') return i;
  }
  return length;
}

void StrToULL(const char* text, size_t length, int base, uint64_t* value, size_t* consumed,
              bool* overflow) {
  length = CStringLength(text, length);
  *value = 0;
  *consumed = 0;
  *overflow = false;
  size_t i = 0;
  while (i < length && IsSpace(text[i])) ++i;
  bool negative = false;
  if (i < length && (text[i] == '+' || text[i] == '-')) {
    negative = text[i] == '-';
    ++i;
  }
  if ((base == 0 || base == 16) && i + 1 < length && text[i] == '0' &&
      (text[i + 1] == 'x' || text[i + 1] == 'X') && i + 2 < length && HexValue(text[i + 2]) >= 0) {
    base = 16;
    i += 2;
  } else if (base == 0) {
    base = (i < length && text[i] == '0') ? 8 : 10;
  }
  const size_t digits_start = i;
  uint64_t v = 0;
  bool over = false;
  while (i < length) {
    const int d = HexValue(text[i]);
    if (d < 0 || d >= base) break;
    if (!over) {
      uint64_t next;
      if (__builtin_mul_overflow(v, static_cast<uint64_t>(base), &next) ||
          __builtin_add_overflow(next, static_cast<uint64_t>(d), &next)) {
        over = true;
      } else {
        v = next;
      }
    }
    ++i;
  }
  if (i == digits_start) return;  // no conversion: consumed stays 0
  *consumed = i;
  if (over) {
    *overflow = true;
    *value = UINT64_MAX;
    return;
  }
  *value = negative ? (~v + 1) : v;
}

void StrToD(const char* text, size_t length, SoftDouble* value, size_t* consumed,
            bool* range_error) {
  length = CStringLength(text, length);
  *value = SoftDouble();
  *consumed = 0;
  *range_error = false;
  size_t i = 0;
  while (i < length && IsSpace(text[i])) ++i;
  if (i < length && (text[i] == '+' || text[i] == '-')) {
    value->negative = text[i] == '-';
    ++i;
  }
  if (MatchWord(text, length, i, "inf")) {
    value->infinite = true;
    i += MatchWord(text, length, i, "infinity") ? 8 : 3;
    *consumed = i;
    return;
  }
  if (MatchWord(text, length, i, "nan")) {
    value->nan = true;
    i += 3;
    if (i < length && text[i] == '(') {
      size_t j = i + 1;
      while (j < length &&
             (IsDigit(text[j]) || (ToLower(text[j]) >= 'a' && ToLower(text[j]) <= 'z') ||
              text[j] == '_')) {
        ++j;
      }
      if (j < length && text[j] == ')') i = j + 1;
    }
    *consumed = i;
    return;
  }
  if (i + 1 < length && text[i] == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X')) {
    if (ParseHexFloat(text, length, i + 2, value, consumed, range_error)) return;
  }
  // Decimal: D * 10^exp10 with D holding at most kMaxDecimalDigits digits.
  BigUint digits;
  int kept = 0;
  bool sticky = false;
  bool any_digit = false;
  int64_t exp10 = 0;
  while (i < length && IsDigit(text[i])) {
    const int d = text[i++] - '0';
    any_digit = true;
    if (kept == 0 && d == 0) continue;
    if (kept < kMaxDecimalDigits) {
      digits.MulAdd(10, static_cast<uint32_t>(d));
      ++kept;
    } else {
      ++exp10;
      sticky |= d != 0;
    }
  }
  if (i < length && text[i] == '.') {
    size_t j = i + 1;
    bool fraction_digit = false;
    while (j < length && IsDigit(text[j])) {
      const int d = text[j++] - '0';
      fraction_digit = true;
      if (kept == 0 && d == 0) {
        --exp10;
        continue;
      }
      if (kept < kMaxDecimalDigits) {
        digits.MulAdd(10, static_cast<uint32_t>(d));
        ++kept;
        --exp10;
      } else {
        sticky |= d != 0;
      }
    }
    if (any_digit || fraction_digit) {
      any_digit = true;
      i = j;
    }
  }
  if (!any_digit) {
    value->negative = false;
    return;  // no conversion
  }
  if (i < length && (text[i] == 'e' || text[i] == 'E')) {
    size_t j = i + 1;
    int64_t e = 0;
    if (ParseExponent(text, length, &j, &e)) {
      exp10 += e;
      i = j;
    }
  }
  *consumed = i;
  if (digits.IsZero()) return;
  if (sticky) {
    digits.MulAdd(10, 1);
    ++kept;
    --exp10;
  }
  // Bounds: 10^309 overflows and 10^-330 is far below the smallest
  // subnormal. In between, D * 10^exp10 with exp10 >= 0 stays under 1100
  // bits, and 10^-exp10 under 3800 bits; shifted by 56 more both fit
  // BigUint's 5120.
  const int64_t magnitude = kept + exp10;
  if (magnitude > 310) {
    value->infinite = true;
    *range_error = true;
    return;
  }
  if (magnitude < -330) {
    *range_error = true;
    return;
  }
  BigUint den;
  den.SetSmall(1);
  if (exp10 >= 0) {
    digits.MulPow10(static_cast<int>(exp10));
  } else {
    den.MulPow10(static_cast<int>(-exp10));
  }
  RoundQuotient(digits, den, 0, value, range_error);
}

ConvResult QemuStrtou64(const char* text, size_t length, int base, uint64_t* value) {
  length = CStringLength(text, length);
  bool overflow = false;
  size_t consumed = 0;
  StrToULL(text, length, base, value, &consumed, &overflow);
  if (!overflow && consumed == 0) return ConvResult::kInvalid;
  if (consumed < length) return ConvResult::kInvalid;
  return overflow ? ConvResult::kRange : ConvResult::kOk;
}

ConvResult QemuStrtosz(const char* text, size_t length, MeasureSizeSyntax syntax, uint64_t* value,
                       bool* hex_suffix_warning) {
  length = CStringLength(text, length);
  switch (syntax) {
    case MeasureSizeSyntax::kStrtod:
      return StrtoszV5(text, length, value);
    case MeasureSizeSyntax::kFixedPoint:
      return StrtoszV6(text, length, value, hex_suffix_warning);
    case MeasureSizeSyntax::kStrictFixedPoint:
      break;
  }
  return StrtoszV8(text, length, value);
}

}  // namespace instar::measure_internal
