// RFC 8878 encoding, written from the RFC: one frame per call, its blocks
// RLE (a run of one byte), raw (what does not compress) or compressed. A
// compressed block's sequences come from a greedy LZ77 match finder over a
// hash table of 6-byte prefixes (LZ4's shape: matches extended both ways,
// the last offset tried first, the search stepping faster the longer it
// finds nothing, so incompressible data is skimmed, not searched). Each of
// their three code streams is FSE-coded (4.1) with the predefined
// distribution, one symbol (RLE) or a table of the block's own, whichever
// costs least. Literals are Huffman-coded (4.2) where that is shorter,
// with the weights written 4 bits each or FSE-compressed, else raw or RLE.
//
// Every write is checked against the room left: a block that does not fit
// compressed falls back to raw, and one that fits neither is NoSpace.
#include "instar/engine/zstd.h"
#include "zstd/zstd_tables.h"

namespace instar {

namespace {

using zstd_internal::kDefaultLiteralsLength;
using zstd_internal::kDefaultMatchLength;
using zstd_internal::kDefaultOffset;
using zstd_internal::kLiteralsLengthBase;
using zstd_internal::kLiteralsLengthBits;
using zstd_internal::kMatchLengthBase;
using zstd_internal::kMatchLengthBits;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "bitstreams are stored as x86-64 words");

constexpr uint32_t kFrameMagic = 0xFD2FB528u;
constexpr size_t kBlockSize = 128u << 10;
// The shortest new match: six bytes, as zstd's fast levels on larger
// inputs; a shorter one far back costs about what Huffman-coded literals
// do (on the tree's sources and binaries 6 compresses best of 4 to 8). A
// repeat of the last offset, which costs a few bits, needs only four.
constexpr size_t kMinMatch = 6;
constexpr size_t kMinRepeatMatch = 4;
// Every sequence of a block takes at least kMinRepeatMatch bytes of it.
constexpr size_t kMaxSequences = kBlockSize / kMinRepeatMatch;
// A block this short is not worth a match search: raw costs it 3 bytes.
constexpr size_t kMinSearchedBlock = 16;
constexpr int kHashLog = 14;
// ZSTD_WINDOWLOG_LIMIT_DEFAULT: the window zstd's streaming decoder (the
// zstd CLI's, qemu's) takes without being told to allow more.
constexpr int kMaxWindowLog = 27;
constexpr size_t kMaxWindow = size_t{1} << kMaxWindowLog;
constexpr int kMaxHuffmanBits = 11;
// Fewer literals than this are written raw: a Huffman table costs more
// than it could save.
constexpr size_t kMinHuffmanLiterals = 64;
// The predefined distributions' accuracy logs (3.1.1.3.2.2).
constexpr int kLiteralsLengthLog = 6;
constexpr int kMatchLengthLog = 6;
constexpr int kOffsetLog = 5;

uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}

uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}

void Store16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

void Store24(uint8_t* p, uint32_t v) {
  Store16(p, v);
  p[2] = static_cast<uint8_t>(v >> 16);
}

void StoreLe(uint8_t* p, uint64_t v, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

constexpr int HighBit(uint32_t x) { return 31 - __builtin_clz(x); }

// Bits written forwards, least significant first, for a reader that takes
// them backwards from the end mark (4.1 and 4.2.2): what is added last is
// read first. Add() only queues bits; Flush() stores the whole bytes, so
// at most 56 bits may be added between two flushes. A store that does not
// fit sets overflow() and is dropped.
class BitWriter {
 public:
  BitWriter(uint8_t* out, size_t capacity) : start_(out), pos_(out), end_(out + capacity) {}

  // The low n bits of value (value < 2^n, n <= 32).
  void Add(uint64_t value, int n) {
    bits_ |= value << count_;
    count_ += n;
  }

  void Flush() {
    const size_t bytes = static_cast<size_t>(count_ >> 3);
    const size_t room = static_cast<size_t>(end_ - pos_);
    if (room >= 8) {
      __builtin_memcpy(pos_, &bits_, 8);  // the bytes past `bytes` are rewritten later
      pos_ += bytes;
    } else if (room >= bytes) {
      StoreLe(pos_, bits_, bytes);
      pos_ += bytes;
    } else {
      overflow_ = true;
    }
    bits_ = bytes == 8 ? 0 : bits_ >> (8 * bytes);
    count_ &= 7;
  }

  // The end mark and the last partial byte; the stream's size, or 0 when
  // it did not fit.
  size_t Close() {
    Add(1, 1);
    return Align();
  }

  // The last partial byte, zero-filled (no end mark: a forward stream);
  // the size, or 0 when it did not fit.
  size_t Align() {
    Flush();
    if (count_ > 0) {
      if (pos_ == end_) {
        overflow_ = true;
      } else {
        *pos_++ = static_cast<uint8_t>(bits_);
      }
    }
    return overflow_ ? 0 : static_cast<size_t>(pos_ - start_);
  }

 private:
  uint8_t* start_;
  uint8_t* pos_;
  uint8_t* end_;
  uint64_t bits_ = 0;
  int count_ = 0;
  bool overflow_ = false;
};

// An FSE encoding table (tANS) for a normalized distribution, built from
// the decoding table the RFC defines (4.1.1): the decoder in state d emits
// its symbol and moves to base(d) plus the next nb(d) bits. Encoding a
// symbol s before a state d' (symbols are encoded last first) picks the
// cell d of s whose range [base(d), base(d) + 2^nb(d)) holds d', and writes
// the offset of d' in it. With t = d' + table size, the cells of s, taken
// in table order, have ranges of t starting at x << nb for x = count(s),
// count(s) + 1, ..., so nb is the shift that brings t into
// [count(s), 2 count(s)) and the cell is the (t >> nb) - count(s)-th of s.
template <int kSymbols, int kMaxLog>
struct FseEncoder {
  uint16_t cells[1 << kMaxLog];  // the cells of symbol 0 in table order, then symbol 1's ...
  int32_t rank_base[kSymbols];   // index in cells of symbol s's x, less x
  uint16_t count[kSymbols];      // its cells ("less than 1" has one)
  uint8_t bits[kSymbols];        // nb for t >= count << bits, else one less
  int log;                       // 0 for a single symbol (RLE mode)
};

// `distribution` holds kSymbols probabilities summing to 1 << log, -1
// meaning "less than 1" (one cell at the table's high end).
template <int kSymbols, int kMaxLog>
constexpr void BuildFseEncoder(FseEncoder<kSymbols, kMaxLog>& encoder, const int16_t* distribution,
                               int log) {
  const uint32_t size = 1u << log;
  uint8_t symbol_at[1 << kMaxLog] = {};
  // The spread of 4.1.1, as the decoder does it.
  uint32_t high = size - 1;
  for (int s = 0; s < kSymbols; ++s) {
    if (distribution[s] == -1) symbol_at[high--] = static_cast<uint8_t>(s);
  }
  const uint32_t step = (size >> 1) + (size >> 3) + 3;
  uint32_t position = 0;
  for (int s = 0; s < kSymbols; ++s) {
    for (int i = 0; i < distribution[s]; ++i) {
      symbol_at[position] = static_cast<uint8_t>(s);
      do {
        position = (position + step) & (size - 1);
      } while (position > high);
    }
  }
  int32_t first[kSymbols] = {};
  int32_t next = 0;
  for (int s = 0; s < kSymbols; ++s) {
    const int32_t count = distribution[s] == -1 ? 1 : distribution[s];
    first[s] = next;
    encoder.count[s] = static_cast<uint16_t>(count);
    encoder.rank_base[s] = next - count;
    encoder.bits[s] = count == 0 ? 0 : static_cast<uint8_t>(log - HighBit(count));
    next += count;
  }
  for (uint32_t u = 0; u < size; ++u) {
    encoder.cells[first[symbol_at[u]]++] = static_cast<uint16_t>(u);
  }
  encoder.log = log;
}

// The sequence tables' largest accuracy logs (3.1.1.3.2.2) and codes.
constexpr int kMaxLiteralsLengthLog = 9;
constexpr int kMaxMatchLengthLog = 9;
constexpr int kMaxOffsetLog = 8;
constexpr int kLiteralsLengthCodes = 36;
constexpr int kMatchLengthCodes = 53;
constexpr int kOffsetCodes = 32;
using LiteralsLengthEncoder = FseEncoder<kLiteralsLengthCodes, kMaxLiteralsLengthLog>;
using MatchLengthEncoder = FseEncoder<kMatchLengthCodes, kMaxMatchLengthLog>;
using OffsetEncoder = FseEncoder<kOffsetCodes, kMaxOffsetLog>;

template <int kSymbols, int kMaxLog, int kDefaultSymbols>
constexpr FseEncoder<kSymbols, kMaxLog> MakePredefined(
    const int16_t (&distribution)[kDefaultSymbols], int log) {
  int16_t all[kSymbols] = {};
  for (int s = 0; s < kDefaultSymbols; ++s) all[s] = distribution[s];
  FseEncoder<kSymbols, kMaxLog> encoder{};
  BuildFseEncoder(encoder, all, log);
  return encoder;
}

constexpr auto kPredefinedLiteralsLength =
    MakePredefined<kLiteralsLengthCodes, kMaxLiteralsLengthLog>(kDefaultLiteralsLength,
                                                                kLiteralsLengthLog);
constexpr auto kPredefinedMatchLength =
    MakePredefined<kMatchLengthCodes, kMaxMatchLengthLog>(kDefaultMatchLength, kMatchLengthLog);
constexpr auto kPredefinedOffset =
    MakePredefined<kOffsetCodes, kMaxOffsetLog>(kDefaultOffset, kOffsetLog);

// The state a symbol's decoding starts from: the first cell of the last
// symbol encoded (the decoder reads no state after it). Its nb is the
// larger of the symbol's two, at least 1 unless the symbol has every cell.
template <int kSymbols, int kMaxLog>
uint32_t FseInitialState(const FseEncoder<kSymbols, kMaxLog>& encoder, uint32_t symbol) {
  return encoder.cells[encoder.rank_base[symbol] + encoder.count[symbol]];
}

template <int kSymbols, int kMaxLog>
void FseEncode(const FseEncoder<kSymbols, kMaxLog>& encoder, uint32_t& state, uint32_t symbol,
               BitWriter& writer) {
  const uint32_t t = state + (1u << encoder.log);
  const int shift = encoder.bits[symbol];
  const int bits = shift - (t < (uint32_t{encoder.count[symbol]} << shift) ? 1 : 0);
  writer.Add(t & ((1u << bits) - 1), bits);
  state = encoder.cells[encoder.rank_base[symbol] + static_cast<int32_t>(t >> bits)];
}

// log2(x) in 1/256ths of a bit (x > 0), to within 0.09 bit: the code
// lengths FSE gives a probability.
uint32_t Log2Fixed(uint32_t x) {
  const int high = HighBit(x);
  const uint32_t mantissa = high >= 8 ? (x >> (high - 8)) & 0xFF : (x << (8 - high)) & 0xFF;
  return static_cast<uint32_t>(high) * 256 + mantissa;
}

// `counts` of `symbols` symbols (`total` in all, at least two occurring)
// scaled to probabilities summing to 1 << log, every symbol that occurs
// at least 1; false when 1 << log is too few cells for that.
bool NormalizeCounts(const uint32_t* counts, int symbols, uint32_t total, int log,
                     int16_t* probabilities) {
  const int32_t target = 1 << log;
  int32_t sum = 0;
  for (int s = 0; s < symbols; ++s) {
    probabilities[s] = 0;
    if (counts[s] == 0) continue;
    const uint64_t scaled = (uint64_t{counts[s]} << log) + total / 2;
    const int32_t p = static_cast<int32_t>(scaled / total);
    probabilities[s] = static_cast<int16_t>(p < 1 ? 1 : p);
    sum += probabilities[s];
  }
  // What rounding left over goes to (or comes from) the most frequent
  // symbols, where a unit changes their cost least.
  while (sum != target) {
    int best = -1;
    for (int s = 0; s < symbols; ++s) {
      if (counts[s] == 0 || (sum > target && probabilities[s] == 1)) continue;
      if (best < 0 || counts[s] > counts[best]) best = s;
    }
    if (best < 0) return false;
    const int16_t step = sum > target ? -1 : 1;
    probabilities[best] = static_cast<int16_t>(probabilities[best] + step);
    sum += step;
  }
  return true;
}

// Code lookups for the short lengths (3.1.1.3.2.1.1); longer ones take
// one code per power of two.
template <int kCodes, int kEntries>
struct CodeLookup {
  uint8_t code[kEntries];
};

template <int kCodes, int kEntries>
constexpr CodeLookup<kCodes, kEntries> MakeCodeLookup(const uint32_t (&base)[kCodes],
                                                      uint32_t less) {
  CodeLookup<kCodes, kEntries> lookup{};
  int code = 0;
  for (uint32_t v = 0; v < kEntries; ++v) {
    while (code + 1 < kCodes && base[code + 1] - less <= v) ++code;
    lookup.code[v] = static_cast<uint8_t>(code);
  }
  return lookup;
}

constexpr auto kLiteralsLengthCodeLookup = MakeCodeLookup<36, 64>(kLiteralsLengthBase, 0);
constexpr auto kMatchLengthCodeLookup = MakeCodeLookup<53, 128>(kMatchLengthBase, 3);

uint32_t LiteralsLengthCode(uint32_t length) {
  return length < 64 ? kLiteralsLengthCodeLookup.code[length] : HighBit(length) + 19;
}

// For match length - 3.
uint32_t MatchLengthCode(uint32_t length_less_3) {
  return length_less_3 < 128 ? kMatchLengthCodeLookup.code[length_less_3]
                             : HighBit(length_less_3) + 36;
}

static_assert(kLiteralsLengthBase[25] == 64 && HighBit(64) + 19 == 25);
static_assert(kLiteralsLengthBase[35] == 65536 && HighBit(65536) + 19 == 35);
static_assert(kMatchLengthBase[43] - 3 == 128 && HighBit(128) + 36 == 43);
static_assert(kMatchLengthBase[52] - 3 == 65536 && HighBit(65536) + 36 == 52);

// One sequence (3.1.1.3.2.1): literals, then a match; offset_value as the
// bitstream carries it (1..3 a repeat offset, else offset + 3).
struct Sequence {
  uint32_t literals;
  uint32_t match;
  uint32_t offset_value;
};

struct ZstdEncoderState {
  uint32_t hash[1u << kHashLog];  // positions from the frame's start
  uint8_t literals[kBlockSize];
  Sequence sequences[kMaxSequences];
  uint32_t repeat[3];  // the decoder's repeat offsets after the last block written
  bool hash_ready;
  // A block's own sequence tables, where they beat the predefined ones.
  LiteralsLengthEncoder literals_length;
  MatchLengthEncoder match_length;
  OffsetEncoder offset;
};

// The hash of the kMinMatch bytes at p (8 readable).
uint32_t Hash(const uint8_t* p) {
  return static_cast<uint32_t>(((Load64(p) << (64 - 8 * kMinMatch)) * 0xCF1BBCDCB7A56463ull) >>
                               (64 - kHashLog));
}

// Whether the kMinMatch bytes at a and b (8 readable at each) agree.
bool SamePrefix(const uint8_t* a, const uint8_t* b) {
  return ((Load64(a) ^ Load64(b)) << (64 - 8 * kMinMatch)) == 0;
}

// How many bytes at a and b (b < a) agree, up to a_end.
size_t MatchLength(const uint8_t* a, const uint8_t* b, const uint8_t* a_end) {
  const uint8_t* const start = a;
  while (a_end - a >= 8) {
    const uint64_t diff = Load64(a) ^ Load64(b);
    if (diff != 0) return static_cast<size_t>(a - start) + (__builtin_ctzll(diff) >> 3);
    a += 8;
    b += 8;
  }
  while (a < a_end && *a == *b) {
    ++a;
    ++b;
  }
  return static_cast<size_t>(a - start);
}

bool AllOneByte(const uint8_t* p, size_t n) {
  const uint64_t pattern = p[0] * 0x0101010101010101ull;
  size_t i = 0;
  for (; n - i >= 32; i += 32) {
    if (((Load64(p + i) ^ pattern) | (Load64(p + i + 8) ^ pattern) |
         (Load64(p + i + 16) ^ pattern) | (Load64(p + i + 24) ^ pattern)) != 0) {
      return false;
    }
  }
  for (; i < n; ++i) {
    if (p[i] != p[0]) return false;
  }
  return true;
}

// A block's sequences and literals, found greedily. Matches may reach back
// to any earlier byte of the frame within the window, never past the
// block's end.
class MatchFinder {
 public:
  MatchFinder(ZstdEncoderState& state, const uint8_t* frame, size_t max_distance)
      : state_(state), frame_(frame), max_distance_(max_distance) {}

  // Fills the state's literals and sequences for [block, block_end);
  // updates the state's repeat offsets as the decoder will.
  void Find(const uint8_t* block, const uint8_t* block_end);
  size_t literal_count() const { return literal_count_; }
  size_t sequence_count() const { return sequence_count_; }

 private:
  void Emit(const uint8_t* anchor, const uint8_t* at, size_t length, uint32_t offset_value) {
    const size_t literals = static_cast<size_t>(at - anchor);
    __builtin_memcpy(state_.literals + literal_count_, anchor, literals);
    literal_count_ += literals;
    state_.sequences[sequence_count_++] =
        Sequence{static_cast<uint32_t>(literals), static_cast<uint32_t>(length), offset_value};
  }

  ZstdEncoderState& state_;
  const uint8_t* frame_;
  size_t max_distance_;
  size_t literal_count_ = 0;
  size_t sequence_count_ = 0;
};

void MatchFinder::Find(const uint8_t* block, const uint8_t* block_end) {
  uint32_t* const hash = state_.hash;
  uint32_t* const repeat = state_.repeat;
  const uint8_t* anchor = block;
  const uint8_t* ip = block;
  // Room for the 8-byte loads at ip and the 4-byte ones at ip + 1.
  const uint8_t* const limit = block_end - 8;
  uint32_t misses = 0;
  while (ip < limit) {
    const uint32_t h = Hash(ip);
    const uint8_t* candidate = frame_ + hash[h];
    hash[h] = static_cast<uint32_t>(ip - frame_);

    // The last offset again, one byte on (zstd's fast strategy): literals
    // come first, so it is repeat code 1 and the history stays.
    const size_t last = repeat[0];
    if (last <= static_cast<size_t>(ip + 1 - frame_) && last <= max_distance_ &&
        Load32(ip + 1 - last) == Load32(ip + 1)) {
      const uint8_t* at = ip + 1;
      const size_t length = kMinRepeatMatch + MatchLength(at + kMinRepeatMatch,
                                                          at + kMinRepeatMatch - last, block_end);
      Emit(anchor, at, length, 1);
      ip = at + length;
      anchor = ip;
      misses = 0;
      continue;
    }

    const size_t distance = static_cast<size_t>(ip - candidate);
    if (candidate < ip && distance <= max_distance_ && SamePrefix(candidate, ip)) {
      while (ip > anchor && candidate > frame_ && ip[-1] == candidate[-1]) {
        --ip;
        --candidate;
      }
      const size_t length =
          kMinMatch + MatchLength(ip + kMinMatch, candidate + kMinMatch, block_end);
      Emit(anchor, ip, length, static_cast<uint32_t>(distance + 3));
      repeat[2] = repeat[1];
      repeat[1] = repeat[0];
      repeat[0] = static_cast<uint32_t>(distance);
      ip += length;
      anchor = ip;
      misses = 0;
      // The position two back, so a match that follows this one at once is found.
      if (ip < limit) hash[Hash(ip - 2)] = static_cast<uint32_t>(ip - 2 - frame_);
      continue;
    }
    ip += 1 + (misses++ >> 6);
  }
  const size_t rest = static_cast<size_t>(block_end - anchor);
  __builtin_memcpy(state_.literals + literal_count_, anchor, rest);
  literal_count_ += rest;
}

// The size of a raw or RLE literals section's header (3.1.1.3.1.1).
size_t RawLiteralsHeaderSize(size_t count) { return count < 32 ? 1 : count < 4096 ? 2 : 3; }

// The literals section header of a raw or RLE section (3.1.1.3.1.1).
size_t RawLiteralsHeader(uint8_t* out, size_t count, uint32_t type) {
  if (count < 32) {
    out[0] = static_cast<uint8_t>(type | (count << 3));
    return 1;
  }
  if (count < 4096) {
    Store16(out, type | (1u << 2) | static_cast<uint32_t>(count << 4));
    return 2;
  }
  Store24(out, type | (3u << 2) | static_cast<uint32_t>(count << 4));
  return 3;
}

// Raw literals into out[0, room); the section's size, or 0 when it does not fit.
size_t RawLiterals(const uint8_t* literals, size_t count, uint8_t* out, size_t room) {
  const size_t header = RawLiteralsHeaderSize(count);
  if (room < header + count) return 0;
  RawLiteralsHeader(out, count, 0);
  __builtin_memcpy(out + header, literals, count);
  return header + count;
}

// Huffman code lengths of at most kMaxHuffmanBits for the symbols that
// occur, a complete prefix code; the longest length, or 0 when fewer than
// two symbols occur.
int HuffmanLengths(const uint32_t* counts, uint8_t* lengths) {
  // The symbols that occur, by count ascending: count << 8 | symbol.
  uint64_t order[256];
  int n = 0;
  for (int s = 0; s < 256; ++s) {
    lengths[s] = 0;
    if (counts[s] == 0) continue;
    const uint64_t key = (uint64_t{counts[s]} << 8) | static_cast<uint64_t>(s);
    int i = n++;
    for (; i > 0 && order[i - 1] > key; --i) order[i] = order[i - 1];
    order[i] = key;
  }
  if (n < 2) return 0;
  // Minimum-redundancy lengths in place over the sorted weights (Moffat
  // and Katajainen, "In-place calculation of minimum-redundancy codes"):
  // a pass that pairs the two lightest of leaves and internal nodes,
  // leaving parent links, a pass turning links into internal depths, and
  // one handing out leaf depths level by level.
  uint32_t a[256];
  for (int i = 0; i < n; ++i) a[i] = static_cast<uint32_t>(order[i] >> 8);
  a[0] += a[1];
  int root = 0;
  int leaf = 2;
  for (int next = 1; next < n - 1; ++next) {
    if (leaf >= n || a[root] < a[leaf]) {
      a[next] = a[root];
      a[root++] = static_cast<uint32_t>(next);
    } else {
      a[next] = a[leaf++];
    }
    if (leaf >= n || (root < next && a[root] < a[leaf])) {
      a[next] += a[root];
      a[root++] = static_cast<uint32_t>(next);
    } else {
      a[next] += a[leaf++];
    }
  }
  a[n - 2] = 0;
  for (int next = n - 3; next >= 0; --next) a[next] = a[a[next]] + 1;
  int available = 1;
  int used = 0;
  uint32_t depth = 0;
  root = n - 2;
  int next = n - 1;
  while (available > 0) {
    while (root >= 0 && a[root] == depth) {
      ++used;
      --root;
    }
    while (available > used) {
      a[next--] = depth;
      --available;
    }
    available = 2 * used;
    ++depth;
    used = 0;
  }
  // a[i] is now the length of order[i], longest first. Codes longer than
  // the limit are cut to it; each unit of the Kraft sum that overflows is
  // paid back by moving a leaf one level down, from the deepest level
  // above the limit that has one (miniz's tdefl_huffman_enforce_max_code_size).
  uint32_t per_length[64] = {};
  int longest = 0;
  for (int i = 0; i < n; ++i) {
    const int length = a[i] > kMaxHuffmanBits ? kMaxHuffmanBits : static_cast<int>(a[i]);
    ++per_length[length];
    if (length > longest) longest = length;
  }
  uint32_t total = 0;
  for (int length = 1; length <= longest; ++length) {
    total += per_length[length] << (longest - length);
  }
  while (total > (1u << longest)) {
    --per_length[longest];
    for (int length = longest - 1; length > 0; --length) {
      if (per_length[length] != 0) {
        --per_length[length];
        per_length[length + 1] += 2;
        break;
      }
    }
    --total;
  }
  int i = 0;
  for (int length = longest; length > 0; --length) {
    for (uint32_t k = 0; k < per_length[length]; ++k) {
      lengths[order[i++] & 0xff] = static_cast<uint8_t>(length);
    }
  }
  return longest;
}

// The FSE table description (4.1.1) of `probabilities` (each at least 1
// or 0, summing to 1 << log) into `writer`, as ReadFseTable() reads it.
void WriteFseDescription(const int16_t* probabilities, int symbols, int log, BitWriter& writer) {
  writer.Add(static_cast<uint32_t>(log - 5), 4);
  int32_t remaining = (1 << log) + 1;
  int32_t threshold = 1 << log;
  int width = log + 1;
  int symbol = 0;
  while (remaining > 1) {
    const int32_t value = probabilities[symbol] + 1;
    const int32_t max = 2 * threshold - 1 - remaining;
    // Values below `max` take a bit less; the rest are written whole, the
    // upper ones moved up by `max` so the short reading cannot take them.
    if (value < max) {
      writer.Add(static_cast<uint32_t>(value), width - 1);
    } else {
      writer.Add(static_cast<uint32_t>(value >= threshold ? value + max : value), width);
    }
    writer.Flush();
    remaining -= probabilities[symbol];
    ++symbol;
    if (probabilities[symbol - 1] == 0) {
      int zeros = 0;
      while (symbol + zeros < symbols && probabilities[symbol + zeros] == 0) ++zeros;
      symbol += zeros;
      for (; zeros >= 3; zeros -= 3) writer.Add(3, 2);
      writer.Add(static_cast<uint32_t>(zeros), 2);
      writer.Flush();
    }
    while (remaining < threshold && threshold > 1) {
      --width;
      threshold >>= 1;
    }
  }
}

constexpr int kWeightLog = 6;  // the most RFC 8878 allows for Huffman weights
constexpr int kWeightSymbols = kMaxHuffmanBits + 1;
constexpr size_t kMaxTreeBytes = 128;

// The weights FSE-compressed (4.2.1.2): header byte, table description,
// then two states taking turns over one table. Its size, or 0 when it
// would take 128 bytes or more, or the weights have one value only (one
// state table of a single symbol never ends its stream).
size_t FseHuffmanTree(const uint8_t* weights, int count, uint8_t* out) {
  uint32_t counts[kWeightSymbols] = {};
  for (int i = 0; i < count; ++i) ++counts[weights[i]];
  int symbols = 0;
  int distinct = 0;
  for (int w = 0; w < kWeightSymbols; ++w) {
    if (counts[w] != 0) {
      symbols = w + 1;
      ++distinct;
    }
  }
  if (distinct < 2) return 0;
  int16_t probabilities[kWeightSymbols] = {};
  if (!NormalizeCounts(counts, symbols, static_cast<uint32_t>(count), kWeightLog, probabilities)) {
    return 0;
  }
  BitWriter writer(out + 1, kMaxTreeBytes - 2);
  WriteFseDescription(probabilities, symbols, kWeightLog, writer);
  const size_t description = writer.Align();
  if (description == 0) return 0;
  FseEncoder<kWeightSymbols, kWeightLog> table;
  BuildFseEncoder(table, probabilities, kWeightLog);
  BitWriter stream(out + 1 + description, kMaxTreeBytes - 1 - description);
  uint32_t state[2];
  state[(count - 1) & 1] = FseInitialState(table, weights[count - 1]);
  state[(count - 2) & 1] = FseInitialState(table, weights[count - 2]);
  for (int i = count - 3; i >= 0; --i) {
    FseEncode(table, state[i & 1], weights[i], stream);
    stream.Flush();
  }
  stream.Add(state[1], kWeightLog);
  stream.Add(state[0], kWeightLog);
  const size_t bitstream = stream.Close();
  if (bitstream == 0) return 0;
  out[0] = static_cast<uint8_t>(description + bitstream);
  return 1 + description + bitstream;
}

// The Huffman tree description of `count` weights (the symbols below the
// last) into out[0, kMaxTreeBytes): the shorter of 4 bits a weight (up to
// 128 weights) and FSE-compressed weights; its size, or 0 when neither can
// be written.
size_t HuffmanTree(const uint8_t* weights, int count, uint8_t* out) {
  uint8_t compressed[kMaxTreeBytes];
  const size_t fse = count >= 2 ? FseHuffmanTree(weights, count, compressed) : 0;
  const size_t direct = count <= 128 ? 1 + (static_cast<size_t>(count) + 1) / 2 : 0;
  if (fse != 0 && (direct == 0 || fse < direct)) {
    __builtin_memcpy(out, compressed, fse);
    return fse;
  }
  if (direct == 0) return 0;
  out[0] = static_cast<uint8_t>(127 + count);
  for (int s = 0; s < count; s += 2) {
    const uint32_t second = s + 1 < count ? weights[s + 1] : 0;
    out[1 + s / 2] = static_cast<uint8_t>((uint32_t{weights[s]} << 4) | second);
  }
  return direct;
}

// One Huffman-coded stream (4.2.2) of literals[0, count); its size, or 0
// when it does not fit out[0, room). The decoder reads the first literal
// first, from the stream's end: the literals are added last first.
size_t HuffmanStream(const uint8_t* literals, size_t count, const uint16_t* codes,
                     const uint8_t* lengths, uint8_t* out, size_t room) {
  BitWriter writer(out, room);
  size_t i = count;
  while ((i & 3) != 0) {
    --i;
    writer.Add(codes[literals[i]], lengths[literals[i]]);
  }
  writer.Flush();
  while (i > 0) {  // four codes of at most 11 bits between flushes
    writer.Add(codes[literals[i - 1]], lengths[literals[i - 1]]);
    writer.Add(codes[literals[i - 2]], lengths[literals[i - 2]]);
    writer.Add(codes[literals[i - 3]], lengths[literals[i - 3]]);
    writer.Add(codes[literals[i - 4]], lengths[literals[i - 4]]);
    writer.Flush();
    i -= 4;
  }
  return writer.Close();
}

// The literals section (3.1.1.3.1) of literals[0, count) into out[0,
// room): Huffman-coded where that is shorter than raw, RLE for one byte
// repeated, else raw. Its size, or 0 when it does not fit.
size_t EncodeLiterals(const uint8_t* literals, size_t count, uint8_t* out, size_t room) {
  if (count < kMinHuffmanLiterals) return RawLiterals(literals, count, out, room);
  uint32_t counts[256] = {};
  for (size_t i = 0; i < count; ++i) ++counts[literals[i]];
  uint8_t lengths[256];
  const int longest = HuffmanLengths(counts, lengths);
  if (longest == 0) {  // one byte value only
    if (room < RawLiteralsHeaderSize(count) + 1) return 0;
    const size_t header = RawLiteralsHeader(out, count, 1);
    out[header] = literals[0];
    return header + 1;
  }
  // The tree description (4.2.1): the weights of the symbols below the
  // last one that occurs; the last symbol's is implied.
  int last = 255;
  while (lengths[last] == 0) --last;
  uint8_t weights[256];
  for (int s = 0; s < last; ++s) {
    weights[s] = static_cast<uint8_t>(lengths[s] != 0 ? longest + 1 - lengths[s] : 0);
  }
  uint8_t tree_bytes[kMaxTreeBytes];
  const size_t tree = HuffmanTree(weights, last, tree_bytes);
  const size_t raw_size = RawLiteralsHeaderSize(count) + count;
  if (tree == 0) return RawLiterals(literals, count, out, room);
  uint64_t bits = 0;
  for (int s = 0; s <= last; ++s) bits += uint64_t{counts[s]} * lengths[s];
  const bool four_streams = count > 1023;
  const size_t header = count <= 1023 ? 3 : count <= 16383 ? 4 : 5;
  const size_t estimate = header + tree + (four_streams ? 6 + 4 : 1) + bits / 8;
  if (estimate >= raw_size) return RawLiterals(literals, count, out, room);
  if (room < header + tree) return RawLiterals(literals, count, out, room);
  uint8_t* p = out + header;
  __builtin_memcpy(p, tree_bytes, tree);
  p += tree;
  // Canonical codes as the decoder lays out its table (4.2.1.3): by weight
  // ascending, then by symbol.
  uint16_t codes[256];
  uint32_t position = 0;
  for (int length = longest; length > 0; --length) {
    for (int s = 0; s <= last; ++s) {
      if (lengths[s] != length) continue;
      codes[s] = static_cast<uint16_t>(position >> (longest - length));
      position += 1u << (longest - length);
    }
  }
  size_t left = room - header - tree;
  size_t streams;
  if (!four_streams) {
    streams = HuffmanStream(literals, count, codes, lengths, p, left);
    if (streams == 0) return RawLiterals(literals, count, out, room);
  } else {
    if (left < 6) return RawLiterals(literals, count, out, room);
    const size_t segment = (count + 3) / 4;
    streams = 6;
    left -= 6;
    for (int k = 0; k < 4; ++k) {
      const size_t first = segment * static_cast<size_t>(k);
      const size_t n = k < 3 ? segment : count - 3 * segment;
      const size_t size = HuffmanStream(literals + first, n, codes, lengths, p + streams, left);
      if (size == 0 || size > 0xFFFF) return RawLiterals(literals, count, out, room);
      if (k < 3) Store16(p + 2 * k, static_cast<uint32_t>(size));
      streams += size;
      left -= size;
    }
  }
  const size_t compressed = tree + streams;
  if (header + compressed >= raw_size) return RawLiterals(literals, count, out, room);
  const uint32_t size_format = !four_streams ? 0 : header == 4 ? 2 : 3;
  const int field = header == 3 ? 10 : header == 4 ? 14 : 18;
  const uint64_t value =
      2u | (size_format << 2) | (uint64_t{count} << 4) | (uint64_t{compressed} << (4 + field));
  StoreLe(out, value, header);
  return header + compressed;
}

// One sequence table's choice (3.1.1.3.2.1): the code counts of a block,
// and its mode, with the description a mode 1 or 2 writes.
struct TableChoice {
  uint32_t mode;  // 0 predefined, 1 RLE, 2 FSE-compressed
  uint8_t description[96];
  size_t description_size;
};

// Chooses the table the codes `counts` (`total` in all) cost least with:
// the predefined one (`predefined`, built from the first
// `predefined_symbols` of `predefined_distribution`), RLE where one code
// is all there is, or a table of their own built into `custom`, whose
// description counts against it. Costs are estimated in 1/256 bit: a code
// of probability p in 2^log cells costs log - log2(p) bits.
template <int kSymbols, int kMaxLog>
const FseEncoder<kSymbols, kMaxLog>& ChooseTable(const uint32_t* counts, uint32_t total,
                                                 const FseEncoder<kSymbols, kMaxLog>& predefined,
                                                 const int16_t* predefined_distribution,
                                                 int predefined_symbols,
                                                 FseEncoder<kSymbols, kMaxLog>& custom,
                                                 TableChoice& choice) {
  int symbols = 0;
  int distinct = 0;
  for (int s = 0; s < kSymbols; ++s) {
    if (counts[s] != 0) {
      symbols = s + 1;
      ++distinct;
    }
  }
  choice.mode = 0;
  choice.description_size = 0;
  if (distinct == 1) {  // a table of one cell, no bits read
    int16_t probabilities[kSymbols] = {};
    probabilities[symbols - 1] = 1;
    BuildFseEncoder(custom, probabilities, 0);
    choice.mode = 1;
    choice.description[0] = static_cast<uint8_t>(symbols - 1);
    choice.description_size = 1;
    return custom;
  }
  uint64_t predefined_cost = 0;
  const uint32_t predefined_log = static_cast<uint32_t>(predefined.log) * 256;
  for (int s = 0; s < symbols; ++s) {
    if (counts[s] == 0) continue;
    if (s >= predefined_symbols) {
      predefined_cost = UINT64_MAX;
      break;
    }
    const int16_t p = predefined_distribution[s];
    predefined_cost += uint64_t{counts[s]} * (predefined_log - Log2Fixed(p < 1 ? 1 : p));
  }
  int log = HighBit(total) + 1;
  if (log < 6) log = 6;
  if (log > kMaxLog) log = kMaxLog;
  int16_t probabilities[kSymbols] = {};
  if (!NormalizeCounts(counts, symbols, total, log, probabilities)) return predefined;
  BitWriter writer(choice.description, sizeof(choice.description));
  WriteFseDescription(probabilities, symbols, log, writer);
  const size_t description = writer.Align();
  if (description == 0) return predefined;
  uint64_t custom_cost = uint64_t{description} * 8 * 256;
  for (int s = 0; s < symbols; ++s) {
    if (counts[s] == 0) continue;
    custom_cost +=
        uint64_t{counts[s]} * (static_cast<uint32_t>(log) * 256 - Log2Fixed(probabilities[s]));
  }
  if (custom_cost >= predefined_cost) return predefined;
  BuildFseEncoder(custom, probabilities, log);
  choice.mode = 2;
  choice.description_size = description;
  return custom;
}

// The sequences section (3.1.1.3.2) into out[0, room); its size, or 0
// when it does not fit.
size_t EncodeSequences(ZstdEncoderState& state, size_t count, uint8_t* out, size_t room) {
  const Sequence* const sequences = state.sequences;
  if (room < (count < 128 ? 1u : count < 0x7F00 ? 2u : 3u)) return 0;
  size_t pos;
  if (count < 128) {
    out[0] = static_cast<uint8_t>(count);
    pos = 1;
  } else if (count < 0x7F00) {
    out[0] = static_cast<uint8_t>((count >> 8) + 128);
    out[1] = static_cast<uint8_t>(count);
    pos = 2;
  } else {
    out[0] = 255;
    Store16(out + 1, static_cast<uint32_t>(count - 0x7F00));
    pos = 3;
  }
  if (count == 0) return pos;
  uint32_t ll_counts[kLiteralsLengthCodes] = {};
  uint32_t ml_counts[kMatchLengthCodes] = {};
  uint32_t of_counts[kOffsetCodes] = {};
  for (size_t i = 0; i < count; ++i) {
    ++ll_counts[LiteralsLengthCode(sequences[i].literals)];
    ++ml_counts[MatchLengthCode(sequences[i].match - 3)];
    ++of_counts[HighBit(sequences[i].offset_value)];
  }
  const auto total = static_cast<uint32_t>(count);
  TableChoice ll_choice;
  TableChoice of_choice;
  TableChoice ml_choice;
  const LiteralsLengthEncoder& ll_table =
      ChooseTable(ll_counts, total, kPredefinedLiteralsLength, kDefaultLiteralsLength, 36,
                  state.literals_length, ll_choice);
  const OffsetEncoder& of_table =
      ChooseTable(of_counts, total, kPredefinedOffset, kDefaultOffset, 29, state.offset, of_choice);
  const MatchLengthEncoder& ml_table =
      ChooseTable(ml_counts, total, kPredefinedMatchLength, kDefaultMatchLength, 53,
                  state.match_length, ml_choice);
  // Symbol_Compression_Modes, then the tables in that order.
  if (room - pos <
      1 + ll_choice.description_size + of_choice.description_size + ml_choice.description_size) {
    return 0;
  }
  out[pos++] =
      static_cast<uint8_t>((ll_choice.mode << 6) | (of_choice.mode << 4) | (ml_choice.mode << 2));
  for (const TableChoice* choice : {&ll_choice, &of_choice, &ml_choice}) {
    __builtin_memcpy(out + pos, choice->description, choice->description_size);
    pos += choice->description_size;
  }
  BitWriter writer(out + pos, room - pos);
  // The decoder takes, per sequence, the offset's, the match length's and
  // the literals length's extra bits, then the literals length, match
  // length and offset state updates, and it starts with the three states:
  // all of it is written here in reverse, last sequence first.
  uint32_t ll_state = 0;
  uint32_t ml_state = 0;
  uint32_t of_state = 0;
  for (size_t i = count; i-- > 0;) {
    const Sequence& sequence = sequences[i];
    const uint32_t ll_code = LiteralsLengthCode(sequence.literals);
    const uint32_t ml_code = MatchLengthCode(sequence.match - 3);
    const uint32_t of_code = static_cast<uint32_t>(HighBit(sequence.offset_value));
    if (i + 1 == count) {
      ll_state = FseInitialState(ll_table, ll_code);
      ml_state = FseInitialState(ml_table, ml_code);
      of_state = FseInitialState(of_table, of_code);
    } else {
      FseEncode(of_table, of_state, of_code, writer);
      FseEncode(ml_table, ml_state, ml_code, writer);
      FseEncode(ll_table, ll_state, ll_code, writer);
    }
    writer.Add(sequence.literals - kLiteralsLengthBase[ll_code], kLiteralsLengthBits[ll_code]);
    writer.Flush();
    writer.Add(sequence.match - kMatchLengthBase[ml_code], kMatchLengthBits[ml_code]);
    writer.Add(sequence.offset_value - (1u << of_code), static_cast<int>(of_code));
    writer.Flush();
  }
  writer.Add(ml_state, ml_table.log);
  writer.Add(of_state, of_table.log);
  writer.Add(ll_state, ll_table.log);
  const size_t bitstream = writer.Close();
  if (bitstream == 0) return 0;
  return pos + bitstream;
}

size_t FrameHeaderSize(size_t in_size) {
  if (in_size > kMaxWindow) return 5 + 1 + (in_size > 0xFFFFFFFFu ? 8 : 4);
  return 5 + (in_size < 256 ? 1 : in_size < 65536 + 256 ? 2 : 4);
}

// The magic number and frame header (3.1.1.1) into out (room for
// FrameHeaderSize()): the content size always, a window only when the
// content is larger than the window.
size_t WriteFrameHeader(uint8_t* out, size_t in_size) {
  StoreLe(out, kFrameMagic, 4);
  if (in_size > kMaxWindow) {
    const bool eight = in_size > 0xFFFFFFFFu;
    out[4] = static_cast<uint8_t>((eight ? 3u : 2u) << 6);
    out[5] = static_cast<uint8_t>((kMaxWindowLog - 10) << 3);
    StoreLe(out + 6, in_size, eight ? 8 : 4);
    return eight ? 14 : 10;
  }
  if (in_size < 256) {
    out[4] = 0x20;  // Single_Segment, a 1-byte content size
    out[5] = static_cast<uint8_t>(in_size);
    return 6;
  }
  if (in_size < 65536 + 256) {
    out[4] = 0x20 | (1u << 6);
    Store16(out + 5, static_cast<uint32_t>(in_size - 256));
    return 7;
  }
  out[4] = 0x20 | (2u << 6);
  StoreLe(out + 5, in_size, 4);
  return 9;
}

// The body of a compressed block of [block, block_end) into out[0, room);
// its size, or 0 when it does not fit.
size_t CompressBlock(ZstdEncoderState& state, const uint8_t* frame, size_t max_distance,
                     const uint8_t* block, const uint8_t* block_end, uint8_t* out, size_t room) {
  if (!state.hash_ready) {
    __builtin_memset(state.hash, 0, sizeof(state.hash));
    state.hash_ready = true;
  }
  MatchFinder finder(state, frame, max_distance);
  finder.Find(block, block_end);
  const size_t literals = EncodeLiterals(state.literals, finder.literal_count(), out, room);
  if (literals == 0) return 0;
  const size_t sequences =
      EncodeSequences(state, finder.sequence_count(), out + literals, room - literals);
  if (sequences == 0) return 0;
  return literals + sequences;
}

}  // namespace

const size_t kZstdCompressScratchBytes = sizeof(ZstdEncoderState) + alignof(ZstdEncoderState);

size_t ZstdCompressBound(size_t in_size) {
  const size_t blocks = in_size == 0 ? 1 : (in_size + kBlockSize - 1) / kBlockSize;
  return FrameHeaderSize(in_size) + 3 * blocks + in_size;
}

Result<size_t> ZstdCompress(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_capacity,
                            Arena& scratch) {
  const auto no_space = [] { return Status::NoSpace("zstd: the frame does not fit its buffer"); };
  const size_t header = FrameHeaderSize(in_size);
  if (out_capacity < header + 3) return no_space();
  size_t pos = WriteFrameHeader(out, in_size);
  if (in_size == 0) {
    Store24(out + pos, 1);  // the last block, raw, empty
    return pos + 3;
  }
  const size_t mark = scratch.Mark();
  void* memory = scratch.Allocate(sizeof(ZstdEncoderState), alignof(ZstdEncoderState));
  if (memory == nullptr) return Status::NoSpace("out of memory encoding zstd data");
  auto* state = new (memory) ZstdEncoderState;
  state->hash_ready = false;
  state->repeat[0] = 1;
  state->repeat[1] = 4;
  state->repeat[2] = 8;
  const size_t max_distance = in_size > kMaxWindow ? kMaxWindow : in_size;
  Status status;
  for (size_t start = 0; start < in_size;) {
    const size_t size = in_size - start < kBlockSize ? in_size - start : kBlockSize;
    const uint32_t last = start + size == in_size ? 1u : 0u;
    const uint8_t* block = in + start;
    const size_t room = out_capacity - pos;
    if (room < 4) {
      status = no_space();
      break;
    }
    if (AllOneByte(block, size)) {
      Store24(out + pos, last | (1u << 1) | static_cast<uint32_t>(size << 3));
      out[pos + 3] = block[0];
      pos += 4;
      start += size;
      continue;
    }
    size_t body = 0;
    if (size >= kMinSearchedBlock) {
      uint32_t repeat[3] = {state->repeat[0], state->repeat[1], state->repeat[2]};
      // Compressed only when shorter than raw (and a block's size at most
      // the largest block).
      const size_t body_room = room - 3 < size - 1 ? room - 3 : size - 1;
      body = CompressBlock(*state, in, max_distance, block, block + size, out + pos + 3, body_room);
      if (body == 0) __builtin_memcpy(state->repeat, repeat, sizeof(repeat));
    }
    if (body != 0) {
      Store24(out + pos, last | (2u << 1) | static_cast<uint32_t>(body << 3));
      pos += 3 + body;
    } else {
      if (room - 3 < size) {
        status = no_space();
        break;
      }
      Store24(out + pos, last | static_cast<uint32_t>(size << 3));
      __builtin_memcpy(out + pos + 3, block, size);
      pos += 3 + size;
    }
    start += size;
  }
  scratch.Reset(mark);
  if (!status.ok()) return status;
  return pos;
}

}  // namespace instar
