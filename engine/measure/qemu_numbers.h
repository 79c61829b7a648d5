// The C library conversions that qemu's option and size parsing stand on,
// reproduced without a C library and without floating point.
//
// qemu-img reads every number a user types through glibc's strtoull() and,
// for sizes, strtod(); what it accepts, and the exact value it computes from
// "1.5G" or ".5k", follows from those. The guest has neither (and no FPU:
// it is built with -mgeneral-regs-only), so this file emulates them: an
// integer parser with glibc's rules, and a correctly rounded decimal and
// hexadecimal to binary64 conversion done in big-integer arithmetic
// (SoftDouble). On top sit qemu's qemu_strtou64() and the three generations
// of qemu_strtosz() the matrix spans (5.2's strtod-based one, 6.x/7.x's
// 64.64 fixed point, and 8.0+'s stricter fixed point).
//
// Every function takes a (pointer, length) pair and treats it as the C
// string qemu would see: a NUL byte ends it early.
//
// Private to engine/measure.
#ifndef INSTAR_ENGINE_MEASURE_QEMU_NUMBERS_H_
#define INSTAR_ENGINE_MEASURE_QEMU_NUMBERS_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/measure_dialect.h"

namespace instar::measure_internal {

// The errno outcomes qemu's helpers return (0, -EINVAL, -ERANGE).
enum class ConvResult : uint8_t { kOk, kInvalid, kRange };

// The length of the C string at `text` (up to `length`).
size_t CStringLength(const char* text, size_t length);

// glibc strtoull(text, &end, base) for base 0, 8, 10 or 16. `*consumed` is
// the number of characters converted (0 when nothing was); `*overflow` is
// errno == ERANGE, in which case `*value` is UINT64_MAX. A leading '-'
// negates the result modulo 2^64, as glibc does.
void StrToULL(const char* text, size_t length, int base, uint64_t* value, size_t* consumed,
              bool* overflow);

// A binary64 value, kept as sign * mantissa * 2^exponent (mantissa < 2^53)
// so that no floating-point instruction is needed.
struct SoftDouble {
  bool negative = false;
  bool infinite = false;
  bool nan = false;
  uint64_t mantissa = 0;  // 0 for zero
  int32_t exponent = 0;

  bool IsZero() const { return !infinite && !nan && mantissa == 0; }
  bool IsFinite() const { return !infinite && !nan; }
};

// glibc strtod(text, &end) in the C locale, correctly rounded to nearest
// even. `*range_error` is errno == ERANGE (overflow to infinity, or a
// non-zero value below the smallest normal double).
void StrToD(const char* text, size_t length, SoftDouble* value, size_t* consumed,
            bool* range_error);

// qemu_strtou64(text, NULL, base, &value): the whole string must convert.
ConvResult QemuStrtou64(const char* text, size_t length, int base, uint64_t* value);

// qemu_strtosz(text, NULL, &value) as a release with the given syntax
// (MeasureDialect::size_syntax) does it. `*hex_suffix_warning` is set when
// 6.x/7.x (kFixedPoint) would print its "Using a multiplier suffix on hex
// numbers is deprecated" warning.
ConvResult QemuStrtosz(const char* text, size_t length, MeasureSizeSyntax syntax, uint64_t* value,
                       bool* hex_suffix_warning);

}  // namespace instar::measure_internal

#endif  // INSTAR_ENGINE_MEASURE_QEMU_NUMBERS_H_
