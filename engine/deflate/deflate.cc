// RFC 1951 encoding, built for speed (instar/engine/deflate.h).
//
// The input is cut into blocks. A block is parsed first (Matcher): greedy
// LZ77 over a hash table of 4-byte prefixes whose chains (prev_) are walked
// a few steps at most, into sequences of "so many literals, then a match".
// Where nothing matches, the matcher strides further and further ahead (it
// starts again at every match), so that incompressible data is parsed at
// a fraction of a byte's cost. The block's symbols are then counted, a
// length-limited Huffman code is built for them, and the block is written
// as the smallest of dynamic Huffman, fixed Huffman and stored, whose sizes
// are known exactly before a bit is written; a block that would pass the
// output's capacity ends the call with NoSpace before it is written.
#include "instar/engine/deflate.h"
#include "inflate/deflate_tables.h"

namespace instar {

namespace {

constexpr int kMaxBits = 15;   // the longest literal/length or distance code
constexpr int kMaxClBits = 7;  // the longest code length code
constexpr int kLitLenCodes = 286;
constexpr int kDistCodes = 30;
constexpr int kClCodes = 19;
constexpr int kEndOfBlock = 256;
constexpr size_t kMinMatch = 4;  // the matcher hashes 4 bytes
constexpr size_t kMaxMatch = 258;
constexpr size_t kStoredMax = 65535;  // the most one stored block holds

// Matcher tuning. A longer chain or a longer nice length gives a better
// ratio on redundant data for more time; kMaxInsert bounds the positions
// inside a match that are hashed (only the last kTailInsert of a long one:
// runs of zeros cost a few hashes per 258 bytes).
constexpr uint32_t kMaxChain = 8;
constexpr size_t kNiceMatch = 64;
constexpr size_t kMaxInsert = 32;
constexpr size_t kTailInsert = 4;
// After 2^kSkipShift literals in a row the matcher tries every other
// position, then every third ..., up to every (kMaxStep)th.
constexpr uint32_t kSkipShift = 5;
constexpr uint32_t kMaxStep = 32;

// A block ends at this many symbols (literals and matches) or when its
// sequence buffer is full, whichever comes first.
constexpr size_t kBlockSymbols = 32768;
constexpr size_t kBlockSequences = 8192;

constexpr uint32_t kMaxHashBits = 15;
constexpr uint32_t kMinHashBits = 9;

using namespace deflate_tables;

// The length code (0..28, symbol 257 + code) of every match length.
struct LengthCodes {
  uint8_t code[kMaxMatch + 1];
};
constexpr LengthCodes MakeLengthCodes() {
  LengthCodes t{};
  int code = 0;
  for (size_t length = 3; length <= kMaxMatch; ++length) {
    // 258 has its own code (285), not code 284's last value.
    while (code < 28 && kLengthBase[code + 1] <= length) ++code;
    t.code[length] = static_cast<uint8_t>(code);
  }
  return t;
}
constexpr LengthCodes kLengthCodes = MakeLengthCodes();

// The distance code (0..29) of distance d >= 1: d - 1 = x; codes 0..3 are
// x itself, then each power of two splits into two codes.
inline uint32_t DistanceCode(uint32_t distance) {
  const uint32_t x = distance - 1;
  if (x < 4) return x;
  const uint32_t bits = 31 - static_cast<uint32_t>(__builtin_clz(x));
  return 2 * bits + ((x >> (bits - 1)) & 1);
}

constexpr uint32_t ReverseBits(uint32_t code, int length) {
  uint32_t r = 0;
  for (int i = 0; i < length; ++i) {
    r = (r << 1) | (code & 1);
    code >>= 1;
  }
  return r;
}

// A Huffman code ready to write: each symbol's length and its code with
// the bits reversed (Huffman codes go out most significant bit first, the
// bit writer least significant first).
template <int N>
struct Code {
  uint8_t length[N];
  uint16_t bits[N];
};

// Assigns canonical codes (3.2.2) to lengths already set.
template <int N>
constexpr void AssignCodes(Code<N>& c) {
  uint16_t count[kMaxBits + 1] = {};
  for (int s = 0; s < N; ++s) ++count[c.length[s]];
  count[0] = 0;
  uint16_t next[kMaxBits + 1] = {};
  uint32_t code = 0;
  for (int bits = 1; bits <= kMaxBits; ++bits) {
    code = (code + count[bits - 1]) << 1;
    next[bits] = static_cast<uint16_t>(code);
  }
  for (int s = 0; s < N; ++s) {
    const int len = c.length[s];
    c.bits[s] = len != 0 ? static_cast<uint16_t>(ReverseBits(next[len]++, len)) : 0;
  }
}

// The fixed codes of 3.2.6 (288 literal/length symbols; 30 distances of 5 bits).
constexpr Code<288> MakeFixedLitLen() {
  Code<288> c{};
  for (int s = 0; s < 288; ++s) c.length[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
  AssignCodes(c);
  return c;
}
constexpr Code<kDistCodes> MakeFixedDist() {
  Code<kDistCodes> c{};
  for (int s = 0; s < kDistCodes; ++s) c.length[s] = 5;
  AssignCodes(c);
  return c;
}
constexpr Code<288> kFixedLitLen = MakeFixedLitLen();
constexpr Code<kDistCodes> kFixedDist = MakeFixedDist();

// Sets length[0, n) to a Huffman code for freq[0, n) whose lengths are at
// most max_bits; symbols of frequency 0 get length 0. At least two symbols
// get a length (a one-symbol code is incomplete; not every decoder takes
// it), so a lone symbol is paired with a neighbour that is never sent.
void BuildLengths(const uint32_t* freq, int n, int max_bits, uint8_t* length) {
  // The used symbols by ascending frequency, as frequency << 9 | symbol.
  uint32_t leaf[kLitLenCodes];
  int used = 0;
  for (int s = 0; s < n; ++s) {
    length[s] = 0;
    if (freq[s] != 0) leaf[used++] = (freq[s] << 9) | static_cast<uint32_t>(s);
  }
  if (used < 2) {
    const int first = used == 1 ? static_cast<int>(leaf[0] & 0x1ff) : 0;
    length[first] = 1;
    length[first == 0 ? 1 : 0] = 1;
    return;
  }
  // Shell sort: few elements, no library.
  static constexpr int kGaps[] = {132, 57, 23, 10, 4, 1};
  for (int gap : kGaps) {
    for (int i = gap; i < used; ++i) {
      const uint32_t v = leaf[i];
      int j = i;
      for (; j >= gap && leaf[j - gap] > v; j -= gap) leaf[j] = leaf[j - gap];
      leaf[j] = v;
    }
  }
  // Huffman's algorithm with two queues: the sorted leaves and the inner
  // nodes, which are made in ascending weight order.
  uint32_t weight[2 * kLitLenCodes];
  uint16_t parent[2 * kLitLenCodes];
  for (int i = 0; i < used; ++i) weight[i] = leaf[i] >> 9;
  int next_leaf = 0;
  int next_inner = used;
  const int root = 2 * used - 2;
  for (int node = used; node <= root; ++node) {
    uint32_t sum = 0;
    for (int k = 0; k < 2; ++k) {
      const bool take_leaf =
          next_leaf < used && (next_inner >= node || weight[next_leaf] <= weight[next_inner]);
      const int child = take_leaf ? next_leaf++ : next_inner++;
      parent[child] = static_cast<uint16_t>(node);
      sum += weight[child];
    }
    weight[node] = sum;
  }
  // Depths from the root down (weight[] now holds depths).
  uint16_t count[32] = {};
  weight[root] = 0;
  for (int node = root - 1; node >= 0; --node) {
    weight[node] = weight[parent[node]] + 1;
    if (node < used) ++count[weight[node] < 31 ? weight[node] : 31];
  }
  // Too long codes are cut to max_bits; that over-subscribes the code,
  // which is repaired one unit of 2^-max_bits at a time: a max_bits leaf
  // leaves, and the deepest shorter leaf becomes an inner node with it and
  // itself as children.
  for (int bits = max_bits + 1; bits < 32; ++bits) {
    count[max_bits] = static_cast<uint16_t>(count[max_bits] + count[bits]);
    count[bits] = 0;
  }
  uint32_t kraft = 0;
  for (int bits = 1; bits <= max_bits; ++bits) kraft += uint32_t{count[bits]} << (max_bits - bits);
  while (kraft > (1u << max_bits)) {
    --count[max_bits];
    for (int bits = max_bits - 1; bits > 0; --bits) {
      if (count[bits] != 0) {
        --count[bits];
        count[bits + 1] = static_cast<uint16_t>(count[bits + 1] + 2);
        break;
      }
    }
    --kraft;
  }
  // The longest codes to the rarest symbols.
  int bits = max_bits;
  for (int i = 0; i < used; ++i) {
    while (count[bits] == 0) --bits;
    --count[bits];
    length[leaf[i] & 0x1ff] = static_cast<uint8_t>(bits);
  }
}

template <int N>
void BuildCode(const uint32_t* freq, int n, int max_bits, Code<N>& c) {
  BuildLengths(freq, n, max_bits, c.length);
  for (int s = n; s < N; ++s) c.length[s] = 0;
  AssignCodes(c);
}

inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}

// How many bytes a[0, limit) and b[0, limit) agree on from the start.
inline size_t MatchLength(const uint8_t* a, const uint8_t* b, size_t limit) {
  size_t n = 0;
  while (n + 8 <= limit) {
    uint64_t x;
    uint64_t y;
    __builtin_memcpy(&x, a + n, 8);
    __builtin_memcpy(&y, b + n, 8);
    const uint64_t diff = x ^ y;
    if (diff != 0) return n + static_cast<size_t>(__builtin_ctzll(diff)) / 8;  // little-endian
    n += 8;
  }
  while (n < limit && a[n] == b[n]) ++n;
  return n;
}

// So many literals, then a match of `length` at `distance` (length 0: the
// literals that end a block).
struct Sequence {
  uint32_t literals;
  uint16_t length;
  uint16_t distance;
};

// Least significant bit first into out[0, capacity); past the capacity it
// only notes that it overflowed.
class BitWriter {
 public:
  BitWriter(uint8_t* out, size_t capacity) : out_(out), capacity_(capacity) {}

  // bits < 2^count, count <= 32.
  void Put(uint32_t bits, uint32_t count) {
    buffer_ |= uint64_t{bits} << count_;
    count_ += count;
    if (count_ >= 32) {
      if (capacity_ - pos_ >= 4) {
        const uint32_t word = static_cast<uint32_t>(buffer_);
        __builtin_memcpy(out_ + pos_, &word, 4);  // x86-64: little-endian
        pos_ += 4;
      } else {
        overflow_ = true;
      }
      buffer_ >>= 32;
      count_ -= 32;
    }
  }

  // Pads with zero bits to a byte boundary and writes out every pending bit.
  void Flush() {
    while (count_ > 0) {
      if (pos_ < capacity_) {
        out_[pos_++] = static_cast<uint8_t>(buffer_);
      } else {
        overflow_ = true;
      }
      buffer_ >>= 8;
      count_ = count_ > 8 ? count_ - 8 : 0;
    }
  }

  // After Flush(): bytes as they are.
  void PutBytes(const uint8_t* data, size_t size) {
    if (capacity_ - pos_ < size) {
      overflow_ = true;
      return;
    }
    if (size != 0) __builtin_memcpy(out_ + pos_, data, size);
    pos_ += size;
  }

  uint64_t bit_position() const { return uint64_t{pos_} * 8 + count_; }
  uint64_t bit_capacity() const { return uint64_t{capacity_} * 8; }
  bool overflow() const { return overflow_; }
  size_t size() const { return pos_; }

 private:
  uint8_t* out_;
  size_t capacity_;
  size_t pos_ = 0;
  uint64_t buffer_ = 0;
  uint32_t count_ = 0;
  bool overflow_ = false;
};

class Encoder {
 public:
  Encoder(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_capacity, size_t window)
      : in_(in), in_size_(in_size), writer_(out, out_capacity), window_(window) {}

  // Takes the tables from `scratch` (the caller rewinds it).
  Status Init(Arena& scratch);
  // Writes the whole stream; the caller then reads size().
  Status Run();
  size_t size() const { return writer_.size(); }

 private:
  // Parses from pos_ into sequences_ up to the end of a block; returns the
  // number of sequences.
  size_t Parse();
  Status WriteBlock(size_t start, size_t end, size_t sequences, bool last);
  void WriteStored(size_t start, size_t end, bool last);
  template <int L, int D>
  void WriteSymbols(size_t start, size_t sequences, const Code<L>& litlen, const Code<D>& dist);

  const uint8_t* in_;
  size_t in_size_;
  BitWriter writer_;
  size_t window_;  // the farthest distance, a power of two

  uint32_t* head_ = nullptr;  // per hash: the latest position + 1, or 0
  uint32_t* prev_ = nullptr;  // per position % window_: the previous position + 1 of its hash
  uint32_t hash_shift_ = 0;
  Sequence* sequences_ = nullptr;
  size_t pos_ = 0;
};

Status Encoder::Init(Arena& scratch) {
  uint32_t hash_bits = kMinHashBits;
  while (hash_bits < kMaxHashBits && (size_t{1} << hash_bits) < in_size_) ++hash_bits;
  hash_shift_ = 32 - hash_bits;
  head_ = scratch.AllocateArray<uint32_t>(size_t{1} << hash_bits);
  prev_ = scratch.AllocateArray<uint32_t>(window_);
  sequences_ = scratch.AllocateArray<Sequence>(kBlockSequences);
  if (head_ == nullptr || prev_ == nullptr || sequences_ == nullptr) {
    return Status::NoSpace("deflate: the scratch arena is too small");
  }
  // prev_ needs no clearing: a slot is read only after its position was
  // hashed, and that wrote it.
  __builtin_memset(head_, 0, sizeof(uint32_t) << hash_bits);
  return Status::Ok();
}

size_t Encoder::Parse() {
  // Positions from which 4 bytes can be read.
  const size_t limit = in_size_ >= kMinMatch ? in_size_ - kMinMatch + 1 : 0;
  const size_t mask = window_ - 1;
  size_t count = 0;
  size_t symbols = 0;
  size_t literal_start = pos_;
  uint32_t misses = 0;
  size_t pos = pos_;
  bool block_full = false;
  while (pos < limit) {
    if (count == kBlockSequences - 1 || symbols + (pos - literal_start) >= kBlockSymbols) {
      block_full = true;
      break;
    }
    const uint32_t v = Load32(in_ + pos);
    const uint32_t h = (v * 2654435761u) >> hash_shift_;
    uint32_t candidate = head_[h];
    head_[h] = static_cast<uint32_t>(pos + 1);
    prev_[pos & mask] = candidate;
    size_t best_length = 0;
    size_t best_distance = 0;
    const size_t max_length = in_size_ - pos < kMaxMatch ? in_size_ - pos : kMaxMatch;
    uint32_t chain = kMaxChain;
    while (candidate != 0) {
      const size_t c = candidate - 1;
      if (pos - c > window_) break;
      // The byte that would make a longer match first: most candidates fail there.
      if (in_[c + best_length] == in_[pos + best_length] && Load32(in_ + c) == v) {
        const size_t length = kMinMatch + MatchLength(in_ + c + kMinMatch, in_ + pos + kMinMatch,
                                                      max_length - kMinMatch);
        if (length > best_length) {
          best_length = length;
          best_distance = pos - c;
          if (length >= kNiceMatch || length == max_length) break;
        }
      }
      if (--chain == 0) break;
      const uint32_t next = prev_[c & mask];
      if (next >= candidate) break;  // a slot a newer position took over
      candidate = next;
    }
    if (best_length >= kMinMatch) {
      const size_t literals = pos - literal_start;
      sequences_[count++] = {static_cast<uint32_t>(literals), static_cast<uint16_t>(best_length),
                             static_cast<uint16_t>(best_distance)};
      symbols += literals + 1;
      const size_t end = pos + best_length;
      // Inside a long match only its last positions, so that what follows
      // still finds it within the window.
      const size_t first = best_length <= kMaxInsert ? pos + 1 : end - kTailInsert;
      for (size_t p = first; p < end && p < limit; ++p) {
        const uint32_t hp = (Load32(in_ + p) * 2654435761u) >> hash_shift_;
        prev_[p & mask] = head_[hp];
        head_[hp] = static_cast<uint32_t>(p + 1);
      }
      pos = end;
      literal_start = end;
      misses = 0;
    } else {
      ++misses;
      const uint32_t step = 1 + (misses >> kSkipShift);
      pos += step < kMaxStep ? step : kMaxStep;
    }
  }
  if (!block_full) pos = in_size_;
  sequences_[count++] = {static_cast<uint32_t>(pos - literal_start), 0, 0};
  pos_ = pos;
  return count;
}

void Encoder::WriteStored(size_t start, size_t end, bool last) {
  do {
    const size_t size = end - start < kStoredMax ? end - start : kStoredMax;
    const bool final_chunk = last && start + size == end;
    writer_.Put(final_chunk ? 1 : 0, 3);  // BFINAL, BTYPE 00
    writer_.Flush();
    const uint8_t header[4] = {static_cast<uint8_t>(size), static_cast<uint8_t>(size >> 8),
                               static_cast<uint8_t>(~size), static_cast<uint8_t>(~size >> 8)};
    writer_.PutBytes(header, 4);
    writer_.PutBytes(in_ + start, size);
    start += size;
  } while (start < end && !writer_.overflow());
}

template <int L, int D>
void Encoder::WriteSymbols(size_t start, size_t sequences, const Code<L>& litlen,
                           const Code<D>& dist) {
  const uint8_t* p = in_ + start;
  for (size_t i = 0; i < sequences && !writer_.overflow(); ++i) {
    const Sequence& s = sequences_[i];
    for (const uint8_t* end = p + s.literals; p < end; ++p) {
      writer_.Put(litlen.bits[*p], litlen.length[*p]);
    }
    if (s.length == 0) continue;
    const uint32_t lc = kLengthCodes.code[s.length];
    const uint32_t ls = 257 + lc;
    writer_.Put(litlen.bits[ls] | ((s.length - kLengthBase[lc]) << litlen.length[ls]),
                litlen.length[ls] + kLengthExtra[lc]);
    const uint32_t dc = DistanceCode(s.distance);
    writer_.Put(dist.bits[dc] | ((s.distance - kDistBase[dc]) << dist.length[dc]),
                dist.length[dc] + kDistExtra[dc]);
    p += s.length;
  }
  writer_.Put(litlen.bits[kEndOfBlock], litlen.length[kEndOfBlock]);
}

Status Encoder::WriteBlock(size_t start, size_t end, size_t sequences, bool last) {
  uint32_t litlen_freq[kLitLenCodes] = {};
  uint32_t dist_freq[kDistCodes] = {};
  uint64_t extra_bits = 0;
  const uint8_t* p = in_ + start;
  for (size_t i = 0; i < sequences; ++i) {
    const Sequence& s = sequences_[i];
    for (const uint8_t* e = p + s.literals; p < e; ++p) ++litlen_freq[*p];
    if (s.length == 0) continue;
    const uint32_t lc = kLengthCodes.code[s.length];
    ++litlen_freq[257 + lc];
    const uint32_t dc = DistanceCode(s.distance);
    ++dist_freq[dc];
    extra_bits += kLengthExtra[lc] + kDistExtra[dc];
    p += s.length;
  }
  litlen_freq[kEndOfBlock] = 1;

  // The dynamic code and its header (3.2.7): the code lengths of both
  // codes, run-length coded with 16 (repeat the last 3..6 times), 17 (3..10
  // zeros) and 18 (11..138 zeros).
  Code<kLitLenCodes> litlen;
  Code<kDistCodes> dist;
  BuildCode(litlen_freq, kLitLenCodes, kMaxBits, litlen);
  BuildCode(dist_freq, kDistCodes, kMaxBits, dist);
  int hlit = kLitLenCodes;
  while (hlit > 257 && litlen.length[hlit - 1] == 0) --hlit;
  int hdist = kDistCodes;
  while (hdist > 1 && dist.length[hdist - 1] == 0) --hdist;
  uint8_t lengths[kLitLenCodes + kDistCodes];
  for (int i = 0; i < hlit; ++i) lengths[i] = litlen.length[i];
  for (int i = 0; i < hdist; ++i) lengths[hlit + i] = dist.length[i];
  const int total = hlit + hdist;
  uint8_t rle_symbol[kLitLenCodes + kDistCodes];
  uint8_t rle_extra[kLitLenCodes + kDistCodes];
  int rle = 0;
  uint32_t cl_freq[kClCodes] = {};
  auto send = [&](int symbol, int extra) {
    rle_symbol[rle] = static_cast<uint8_t>(symbol);
    rle_extra[rle++] = static_cast<uint8_t>(extra);
    ++cl_freq[symbol];
  };
  for (int i = 0; i < total;) {
    const uint8_t len = lengths[i];
    int run = 1;
    while (i + run < total && lengths[i + run] == len) ++run;
    if (len == 0 && run >= 3) {
      const int n = run < 138 ? run : 138;
      if (n >= 11) {
        send(18, n - 11);
      } else {
        send(17, n - 3);
      }
      i += n;
    } else if (len != 0 && run >= 4) {
      // The length once, then 3..6 repeats of it.
      const int n = run - 1 < 6 ? run - 1 : 6;
      send(len, 0);
      send(16, n - 3);
      i += 1 + n;
    } else {
      send(len, 0);
      i += 1;
    }
  }
  Code<kClCodes> cl;
  BuildCode(cl_freq, kClCodes, kMaxClBits, cl);
  int hclen = kClCodes;
  while (hclen > 4 && cl.length[kCodeLengthOrder[hclen - 1]] == 0) --hclen;

  uint64_t dynamic_bits = 3 + 5 + 5 + 4 + 3 * uint64_t(hclen) + extra_bits;
  uint64_t fixed_bits = 3 + extra_bits;
  for (int s = 0; s < kClCodes; ++s) {
    const uint64_t extra = s == 16 ? 2 : s == 17 ? 3 : s == 18 ? 7 : 0;
    dynamic_bits += cl_freq[s] * (cl.length[s] + extra);
  }
  for (int s = 0; s < kLitLenCodes; ++s) {
    dynamic_bits += uint64_t{litlen_freq[s]} * litlen.length[s];
    fixed_bits += uint64_t{litlen_freq[s]} * kFixedLitLen.length[s];
  }
  for (int s = 0; s < kDistCodes; ++s) {
    dynamic_bits += uint64_t{dist_freq[s]} * dist.length[s];
    fixed_bits += uint64_t{dist_freq[s]} * kFixedDist.length[s];
  }
  // Stored: each chunk pads its 3 header bits to a byte, then 4 bytes of
  // lengths and the data.
  const uint64_t position = writer_.bit_position();
  const size_t size = end - start;
  const uint64_t chunks = size == 0 ? 1 : (size + kStoredMax - 1) / kStoredMax;
  const uint64_t first_pad = ((position + 3 + 7) & ~uint64_t{7}) - position;
  const uint64_t stored_bits = first_pad + (chunks - 1) * 8 + chunks * 32 + uint64_t{size} * 8;

  uint64_t best = dynamic_bits < fixed_bits ? dynamic_bits : fixed_bits;
  if (stored_bits < best) best = stored_bits;
  // The stream ends on a byte: a last block's padding counts.
  if (position + best > writer_.bit_capacity() ||
      (last && ((position + best + 7) & ~uint64_t{7}) > writer_.bit_capacity())) {
    return Status::NoSpace("deflate: the compressed data does not fit");
  }

  if (best == stored_bits) {
    WriteStored(start, end, last);
  } else if (best == fixed_bits) {
    writer_.Put(last ? 3 : 2, 3);  // BFINAL, BTYPE 01
    WriteSymbols(start, sequences, kFixedLitLen, kFixedDist);
  } else {
    writer_.Put(last ? 5 : 4, 3);  // BFINAL, BTYPE 10
    writer_.Put(static_cast<uint32_t>(hlit - 257), 5);
    writer_.Put(static_cast<uint32_t>(hdist - 1), 5);
    writer_.Put(static_cast<uint32_t>(hclen - 4), 4);
    for (int i = 0; i < hclen; ++i) writer_.Put(cl.length[kCodeLengthOrder[i]], 3);
    for (int i = 0; i < rle; ++i) {
      const uint8_t s = rle_symbol[i];
      writer_.Put(cl.bits[s], cl.length[s]);
      if (s == 16) writer_.Put(rle_extra[i], 2);
      if (s == 17) writer_.Put(rle_extra[i], 3);
      if (s == 18) writer_.Put(rle_extra[i], 7);
    }
    WriteSymbols(start, sequences, litlen, dist);
  }
  if (writer_.overflow()) return Status::NoSpace("deflate: the compressed data does not fit");
  return Status::Ok();
}

Status Encoder::Run() {
  if (in_size_ >= (uint64_t{1} << 32) - kMaxMatch) {
    return Status::InvalidArgument("deflate: the input is too large");
  }
  do {
    const size_t start = pos_;
    const size_t sequences = Parse();
    INSTAR_RETURN_IF_ERROR(WriteBlock(start, pos_, sequences, pos_ == in_size_));
  } while (pos_ < in_size_);
  writer_.Flush();
  if (writer_.overflow()) return Status::NoSpace("deflate: the compressed data does not fit");
  return Status::Ok();
}

Result<size_t> Encode(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_capacity,
                      size_t window, Arena& scratch) {
  const size_t mark = scratch.Mark();
  Encoder encoder(in, in_size, out, out_capacity, window);
  Status status = encoder.Init(scratch);
  if (status.ok()) status = encoder.Run();
  scratch.Reset(mark);
  if (!status.ok()) return status;
  return encoder.size();
}

uint32_t Adler32(const uint8_t* data, size_t size) {
  constexpr uint32_t kBase = 65521;
  constexpr size_t kRun = 5552;  // the most bytes before the sums may overflow 32 bits
  uint32_t a = 1;
  uint32_t b = 0;
  while (size > 0) {
    const size_t n = size < kRun ? size : kRun;
    for (size_t i = 0; i < n; ++i) {
      a += data[i];
      b += a;
    }
    a %= kBase;
    b %= kBase;
    data += n;
    size -= n;
  }
  return (b << 16) | a;
}

}  // namespace

// head_ at kMaxHashBits, prev_ of the 32 KiB window, the sequences, and
// alignment.
const size_t kDeflateScratchBytes = (sizeof(uint32_t) << kMaxHashBits) + sizeof(uint32_t) * 32768 +
                                    sizeof(Sequence) * kBlockSequences +
                                    3 * alignof(std::max_align_t);

Result<size_t> Deflate(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_capacity,
                       Arena& scratch) {
  return Encode(in, in_size, out, out_capacity, 4096, scratch);
}

Result<size_t> Compress(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_capacity,
                        Arena& scratch) {
  // Header: CM 8 (deflate), CINFO 7 (32 KiB window), FLEVEL 0 (fastest),
  // no dictionary; 0x7801 is a multiple of 31 as FCHECK needs.
  constexpr size_t kFrame = 2 + 4;
  if (out_capacity < kFrame) return Status::NoSpace("deflate: the compressed data does not fit");
  out[0] = 0x78;
  out[1] = 0x01;
  INSTAR_ASSIGN_OR_RETURN(const size_t n,
                          Encode(in, in_size, out + 2, out_capacity - kFrame, 32768, scratch));
  const uint32_t adler = Adler32(in, in_size);
  uint8_t* tail = out + 2 + n;
  tail[0] = static_cast<uint8_t>(adler >> 24);
  tail[1] = static_cast<uint8_t>(adler >> 16);
  tail[2] = static_cast<uint8_t>(adler >> 8);
  tail[3] = static_cast<uint8_t>(adler);
  return n + kFrame;
}

}  // namespace instar
