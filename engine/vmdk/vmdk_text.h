// Reading a vmdk descriptor the way qemu's C string code reads it.
//
// qemu holds the descriptor in a NUL-terminated buffer and parses it with
// strstr, strchr and sscanf. TextSource gives the same view of a byte range
// of a file without holding it in memory (a descriptor file may be 1 MiB),
// and the scanners below reproduce glibc's sscanf conversions that
// vmdk_parse_extents and vmdk_read_cid use, including how they skip
// whitespace across lines, truncate long words and saturate numbers.
// Private to engine/vmdk.
#ifndef INSTAR_ENGINE_VMDK_VMDK_TEXT_H_
#define INSTAR_ENGINE_VMDK_VMDK_TEXT_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/arena.h"
#include "instar/engine/device.h"
#include "instar/engine/status.h"

namespace instar::vmdk {

// `length` bytes of a file from `offset`, as a buffer that reads NUL at and
// past `length`. Reads go through a small window; a failed read is sticky
// (status()) and reads as NUL.
class TextSource {
 public:
  static constexpr size_t kWindowBytes = 4096;

  // `window` must hold kWindowBytes.
  TextSource(BlockDevice* device, uint64_t offset, uint64_t length, uint8_t* window)
      : device_(device), offset_(offset), length_(length), window_(window) {}

  uint8_t At(uint64_t i) {
    if (i >= length_) return 0;
    if (i < window_start_ || i >= window_start_ + window_length_) Fill(i);
    return i - window_start_ < window_length_ ? window_[i - window_start_] : 0;
  }
  uint64_t length() const { return length_; }
  // Index of the first NUL, or length(): where a C string ends.
  uint64_t StrLen();
  Status status() const { return status_; }

 private:
  void Fill(uint64_t i);

  BlockDevice* device_;
  uint64_t offset_;
  uint64_t length_;
  uint8_t* window_;
  uint64_t window_start_ = 0;
  uint64_t window_length_ = 0;
  bool have_strlen_ = false;
  uint64_t strlen_ = 0;
  Status status_;
};

constexpr uint64_t kNotFound = UINT64_MAX;

// strstr: the first index in [from, end) where `needle` starts and fits
// before `end`, or kNotFound.
uint64_t FindText(TextSource& text, uint64_t from, uint64_t end, const char* needle,
                  size_t needle_length);

// The index after the next '\n' at or after `pos`, or `end` (qemu's
// next_line).
uint64_t NextLine(TextSource& text, uint64_t pos, uint64_t end);

// sscanf(p, "%" SCNx32, out) on the text from `pos` up to `end`: whitespace,
// an optional sign and 0x prefix, hex digits accumulated in 64 bits with
// saturation, negated for '-', then truncated to 32 bits. False when no
// number is there.
bool ScanHex32(TextSource& text, uint64_t pos, uint64_t end, uint32_t* out);

// printf's "%x" of `value` (lowercase, no padding: how qemu prints a CID)
// into `out`, which has room for 8; returns how many digits.
size_t PrintHex32(uint32_t value, char* out);

// The fields of one extent line, as
// sscanf(p, "%10s %" SCNd64 " %10s \"%511[^\n\r\"]\" %" SCNd64, ...) fills
// them: `matches` is sscanf's return value (-1 when the input ends before the
// first conversion); fields after the last match are unset.
struct ExtentLine {
  int matches = 0;
  char access[11] = {};
  int64_t sectors = 0;
  char type[11] = {};
  uint64_t name_start = 0;  // index of the file name in the text
  uint32_t name_length = 0;
  int64_t flat_offset = 0;
};

// Scans extent lines. The result depends only on where the first word
// starts, so the scanner remembers the last one: qemu rescans from every
// line start, and from all the line starts of a whitespace run it reaches
// the same word, which would otherwise make a crafted descriptor cost
// quadratic time.
class ExtentLineScanner {
 public:
  ExtentLine Scan(TextSource& text, uint64_t pos, uint64_t end);

 private:
  uint64_t SkipSpace(TextSource& text, uint64_t pos, uint64_t end);

  bool have_memo_ = false;
  uint64_t memo_start_ = 0;
  ExtentLine memo_;
  uint64_t space_run_start_ = 0;
  uint64_t space_run_end_ = 0;
};

// C isspace() in the "C" locale.
constexpr bool IsCSpace(uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

}  // namespace instar::vmdk

#endif  // INSTAR_ENGINE_VMDK_VMDK_TEXT_H_
