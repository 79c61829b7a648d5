// RFC 8878 decoding, written from the RFC: frames and their blocks (raw,
// RLE, compressed), the literals section (raw, RLE, Huffman-coded in one
// or four streams, or with the previous block's Huffman table), the
// sequences section (predefined, RLE, FSE-compressed and repeat table
// modes) and sequence execution with the repeat offsets. Tables are
// decoded into a state in the caller's arena; the bitstreams are read
// directly from the input.
#include "instar/engine/zstd.h"

#include "zstd/xxh64.h"
#include "zstd/zstd_tables.h"

namespace instar {

namespace {

constexpr uint32_t kFrameMagic = 0xFD2FB528u;
// 0x184D2A50 .. 0x184D2A5F: skippable frames (RFC 8878 3.1.2).
constexpr uint32_t kSkippableMagic = 0x184D2A50u;
constexpr uint32_t kSkippableMask = 0xFFFFFFF0u;
constexpr size_t kMaxBlockSize = 128u << 10;
// The window zstd's streaming decoder (ZSTD_decompressStream(), which qemu
// uses) accepts by default, ZSTD_WINDOWLOG_LIMIT_DEFAULT: a frame that
// needs more is refused unless its declared content fits the output, which
// is then the whole window.
constexpr uint64_t kMaxWindowSize = uint64_t{1} << 27;

constexpr int kMaxHuffmanBits = 11;
constexpr int kMaxWeightLog = 6;  // FSE accuracy of compressed Huffman weights
constexpr int kMaxLiteralsLengthLog = 9;
constexpr int kMaxMatchLengthLog = 9;
constexpr int kMaxOffsetLog = 8;
constexpr int kMaxLiteralsLengthCode = 35;
constexpr int kMaxMatchLengthCode = 52;
// RFC 8878 3.1.1.3.2.1.1 leaves the largest offset code to the decoder;
// 31 as the reference decoder, enough for any window up to 2 GiB.
constexpr int kMaxOffsetCode = 31;

using zstd_internal::kDefaultLiteralsLength;
using zstd_internal::kDefaultMatchLength;
using zstd_internal::kDefaultOffset;
using zstd_internal::kLiteralsLengthBase;
using zstd_internal::kLiteralsLengthBits;
using zstd_internal::kMatchLengthBase;
using zstd_internal::kMatchLengthBits;

Status Corrupt(const char* what) { return Status::Corruption(what); }

uint32_t Load16(const uint8_t* p) { return p[0] | (static_cast<uint32_t>(p[1]) << 8); }
uint32_t Load24(const uint8_t* p) { return Load16(p) | (static_cast<uint32_t>(p[2]) << 16); }
uint32_t Load32(const uint8_t* p) { return Load24(p) | (static_cast<uint32_t>(p[3]) << 24); }

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "bitstreams are loaded as x86-64 words");

// memcpy that accepts an empty copy from or to no buffer at all.
void CopyBytes(uint8_t* to, const uint8_t* from, size_t n) {
  if (n != 0) __builtin_memcpy(to, from, n);
}

// Sequence execution copies most bytes in 16-byte chunks where the output
// has room for the last chunk whole: what it writes past the copy's end is
// overwritten by the next copy, or lies past the decoded data (which the
// header allows).
size_t RoundUp16(size_t n) { return (n + 15) & ~size_t{15}; }

void CopyChunks(uint8_t* to, const uint8_t* from, size_t n) {
  for (size_t i = 0; i < n; i += 16) {
    uint8_t chunk[16];
    __builtin_memcpy(chunk, from + i, 16);
    __builtin_memcpy(to + i, chunk, 16);
  }
}

// The index of the highest set bit of x (x > 0).
int HighBit(uint32_t x) { return 31 - __builtin_clz(x); }

// Bits read backwards (3.1.1.3.2.1.2 and 4.2.2): the stream's last byte
// holds a 1 above its highest useful bit; reading n bits takes the n
// highest bits not yet read, as a little-endian value. Reading past the
// start yields zeros and leaves remaining() negative, which the callers
// check at the points the RFC names.
class BackwardBits {
 public:
  Status Init(const uint8_t* data, size_t size) {
    if (size == 0) return Corrupt("zstd: an empty bitstream");
    const uint8_t last = data[size - 1];
    if (last == 0) return Corrupt("zstd: a bitstream without its end mark");
    data_ = data;
    size_ = size;
    remaining_ = static_cast<int64_t>(size - 1) * 8 + HighBit(last);
    return Status::Ok();
  }

  // The next n (<= 56) bits without reading them.
  uint64_t Peek(int n) const {
    if (n == 0 || remaining_ <= 0) return 0;
    const int64_t low = remaining_ - n;
    uint64_t v;
    if (low >= 0) {
      v = Load(static_cast<size_t>(low >> 3)) >> (low & 7);
    } else {
      v = Load(0) << (-low);
    }
    return v & ((uint64_t{1} << n) - 1);
  }
  void Skip(int n) { remaining_ -= n; }
  uint64_t Read(int n) {
    const uint64_t v = Peek(n);
    Skip(n);
    return v;
  }
  int64_t remaining() const { return remaining_; }

 private:
  // Eight bytes from data_[at], little-endian; bytes past the end are 0.
  uint64_t Load(size_t at) const {
    uint64_t v = 0;
    if (size_ - at >= 8) {
      __builtin_memcpy(&v, data_ + at, sizeof(v));  // x86-64: little-endian
    } else {
      for (size_t i = size_; i > at; --i) v = (v << 8) | data_[i - 1];
    }
    return v;
  }

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  int64_t remaining_ = 0;
};

// Bits read forwards from the first byte, least significant first (the FSE
// table description, 4.1.1). Reading past the end yields zeros;
// overrun() says it happened.
class ForwardBits {
 public:
  ForwardBits(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint32_t Read(int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) {
      const uint64_t byte = position_ >> 3;
      const uint32_t bit = byte < size_ ? (data_[byte] >> (position_ & 7)) & 1u : 0u;
      v |= bit << i;
      ++position_;
    }
    return v;
  }
  uint32_t Peek(int n) const {
    ForwardBits copy = *this;
    return copy.Read(n);
  }
  void Skip(int n) { position_ += static_cast<uint64_t>(n); }
  bool overrun() const { return position_ > uint64_t{size_} * 8; }
  size_t bytes_used() const { return static_cast<size_t>((position_ + 7) >> 3); }

 private:
  const uint8_t* data_;
  size_t size_;
  uint64_t position_ = 0;
};

// One FSE decoding table cell (4.1): the symbol, and how to find the next
// state: read `bits` bits and add `base`.
struct FseCell {
  uint8_t symbol;
  uint8_t bits;
  uint16_t base;
};

template <int kMaxLog>
struct FseTable {
  FseCell cells[1 << kMaxLog];
  int log;
};

// 4.1.1, "from normalized distribution to decoding tables". `counts` holds
// `symbols` probabilities summing to 1 << log, -1 for "less than 1".
template <int kMaxLog>
Status BuildFseTable(FseTable<kMaxLog>& table, const int16_t* counts, int symbols, int log) {
  const uint32_t size = 1u << log;
  uint32_t high = size - 1;
  uint16_t next[256];
  for (int s = 0; s < symbols; ++s) {
    if (counts[s] == -1) {
      table.cells[high].symbol = static_cast<uint8_t>(s);
      --high;  // wraps only when every cell is "less than 1"; then unused
      next[s] = 1;
    } else {
      next[s] = static_cast<uint16_t>(counts[s]);
    }
  }
  const uint32_t step = (size >> 1) + (size >> 3) + 3;
  const uint32_t mask = size - 1;
  uint32_t position = 0;
  for (int s = 0; s < symbols; ++s) {
    for (int i = 0; i < counts[s]; ++i) {
      table.cells[position].symbol = static_cast<uint8_t>(s);
      do {
        position = (position + step) & mask;
      } while (position > high);
    }
  }
  if (position != 0) return Corrupt("zstd: an FSE distribution does not fill its table");
  for (uint32_t u = 0; u < size; ++u) {
    const uint8_t s = table.cells[u].symbol;
    const uint32_t x = next[s]++;
    const int bits = log - HighBit(x);
    table.cells[u].bits = static_cast<uint8_t>(bits);
    table.cells[u].base = static_cast<uint16_t>((x << bits) - size);
  }
  table.log = log;
  return Status::Ok();
}

// Reads an FSE table description (4.1.1) from data[0, size) into a table
// of at most 1 << kMaxLog cells over symbols 0..max_symbol; returns the
// bytes it took.
template <int kMaxLog>
Result<size_t> ReadFseTable(FseTable<kMaxLog>& table, const uint8_t* data, size_t size,
                            int max_symbol) {
  if (size == 0) return Corrupt("zstd: an FSE table description is missing");
  ForwardBits bits(data, size);
  const int log = static_cast<int>(bits.Read(4)) + 5;
  if (log > kMaxLog) return Corrupt("zstd: an FSE table's accuracy log is too large");
  int16_t counts[256];
  int32_t remaining = (1 << log) + 1;
  int32_t threshold = 1 << log;
  int width = log + 1;
  int symbol = 0;
  while (remaining > 1) {
    if (symbol > max_symbol) return Corrupt("zstd: an FSE table has too many symbols");
    const int32_t max = 2 * threshold - 1 - remaining;
    int32_t value;
    if (static_cast<int32_t>(bits.Peek(width - 1)) < max) {
      value = static_cast<int32_t>(bits.Read(width - 1));
    } else {
      value = static_cast<int32_t>(bits.Read(width));
      if (value >= threshold) value -= max;
    }
    const int32_t probability = value - 1;
    remaining -= probability < 0 ? -probability : probability;
    counts[symbol++] = static_cast<int16_t>(probability);
    if (probability == 0) {
      uint32_t repeat;
      do {
        repeat = bits.Read(2);
        if (symbol + static_cast<int>(repeat) > max_symbol + 1) {
          return Corrupt("zstd: an FSE table has too many symbols");
        }
        for (uint32_t i = 0; i < repeat; ++i) counts[symbol++] = 0;
      } while (repeat == 3 && !bits.overrun());
    }
    while (remaining < threshold && threshold > 1) {
      --width;
      threshold >>= 1;
    }
    if (bits.overrun()) return Corrupt("zstd: an FSE table description ends early");
  }
  if (remaining != 1) return Corrupt("zstd: an FSE distribution does not add up");
  INSTAR_RETURN_IF_ERROR(BuildFseTable(table, counts, symbol, log));
  return bits.bytes_used();
}

// A Huffman decoding table (4.2): indexed by the next `log` bits, each
// entry the symbol and its code's length.
struct HuffmanEntry {
  uint8_t symbol;
  uint8_t bits;
};

struct HuffmanTable {
  HuffmanEntry entries[1 << kMaxHuffmanBits];
  int log;
};

// Every table and buffer a frame's blocks share, in the arena.
struct ZstdDecoderState {
  uint8_t literals[kMaxBlockSize];
  HuffmanTable huffman;
  FseTable<kMaxLiteralsLengthLog> literals_length;
  FseTable<kMaxOffsetLog> offsets;
  FseTable<kMaxMatchLengthLog> match_length;
  bool has_huffman;
  bool has_literals_length;
  bool has_offsets;
  bool has_match_length;
  uint32_t repeat[3];
};

// Huffman weights to the decoding table (4.2.1.1 and 4.2.1.3): `weights`
// holds `count` weights; the last symbol's weight is what completes the
// sum to a power of two.
Status BuildHuffmanTable(HuffmanTable& table, uint8_t* weights, int count) {
  uint32_t sum = 0;
  for (int s = 0; s < count; ++s) {
    if (weights[s] > kMaxHuffmanBits) return Corrupt("zstd: a Huffman weight is too large");
    if (weights[s] != 0) sum += 1u << (weights[s] - 1);
  }
  if (sum == 0) return Corrupt("zstd: a Huffman table without weights");
  const int log = HighBit(sum) + 1;
  if (log > kMaxHuffmanBits) return Corrupt("zstd: a Huffman code is too long");
  const uint32_t rest = (1u << log) - sum;
  if ((rest & (rest - 1)) != 0) return Corrupt("zstd: Huffman weights do not complete a tree");
  if (count >= 256) return Corrupt("zstd: too many Huffman weights");
  weights[count] = static_cast<uint8_t>(HighBit(rest) + 1);
  const int symbols = count + 1;
  int ones = 0;
  for (int s = 0; s < symbols; ++s) ones += weights[s] == 1 ? 1 : 0;
  // A complete prefix code has an even number (at least two) of longest codes.
  if (ones < 2 || (ones & 1) != 0) return Corrupt("zstd: Huffman weights do not complete a tree");
  uint32_t position = 0;
  for (int weight = 1; weight <= log; ++weight) {
    const uint32_t span = 1u << (weight - 1);
    for (int s = 0; s < symbols; ++s) {
      if (weights[s] != weight) continue;
      for (uint32_t i = 0; i < span; ++i) {
        table.entries[position + i].symbol = static_cast<uint8_t>(s);
        table.entries[position + i].bits = static_cast<uint8_t>(log + 1 - weight);
      }
      position += span;
    }
  }
  table.log = log;
  return Status::Ok();
}

// The Huffman tree description (4.2.1.2); returns the bytes it took.
Result<size_t> ReadHuffmanTable(HuffmanTable& table, const uint8_t* data, size_t size) {
  if (size == 0) return Corrupt("zstd: the Huffman tree description is missing");
  const uint32_t header = data[0];
  uint8_t weights[256];
  int count = 0;
  size_t used;
  if (header >= 128) {
    count = static_cast<int>(header) - 127;
    used = 1 + (static_cast<size_t>(count) + 1) / 2;
    if (used > size) return Corrupt("zstd: the Huffman tree description ends early");
    for (int i = 0; i < count; ++i) {
      const uint8_t byte = data[1 + i / 2];
      weights[i] = static_cast<uint8_t>((i & 1) == 0 ? byte >> 4 : byte & 15);
    }
  } else {
    used = 1 + header;
    if (used > size) return Corrupt("zstd: the Huffman tree description ends early");
    FseTable<kMaxWeightLog> fse;
    INSTAR_ASSIGN_OR_RETURN(const size_t table_bytes,
                            ReadFseTable(fse, data + 1, header, kMaxHuffmanBits));
    BackwardBits bits;
    INSTAR_RETURN_IF_ERROR(bits.Init(data + 1 + table_bytes, header - table_bytes));
    // Two states take turns over one table; the stream ends when a state
    // update reads past its start, and the other state's symbol is the last.
    uint32_t state[2] = {static_cast<uint32_t>(bits.Read(fse.log)),
                         static_cast<uint32_t>(bits.Read(fse.log))};
    if (bits.remaining() < 0) return Corrupt("zstd: the Huffman weights stream is too short");
    for (int turn = 0;; turn ^= 1) {
      if (count > 253) return Corrupt("zstd: too many Huffman weights");
      const FseCell& cell = fse.cells[state[turn]];
      weights[count++] = cell.symbol;
      state[turn] = cell.base + static_cast<uint32_t>(bits.Read(cell.bits));
      if (bits.remaining() < 0) {
        weights[count++] = fse.cells[state[turn ^ 1]].symbol;
        break;
      }
    }
  }
  INSTAR_RETURN_IF_ERROR(BuildHuffmanTable(table, weights, count));
  return used;
}

// One Huffman-coded stream (4.2.2) of exactly `count` symbols that uses
// every bit of data[0, size).
Status DecodeHuffmanStream(const HuffmanTable& table, const uint8_t* data, size_t size,
                           uint8_t* out, size_t count) {
  BackwardBits bits;
  INSTAR_RETURN_IF_ERROR(bits.Init(data, size));
  for (size_t i = 0; i < count; ++i) {
    const HuffmanEntry& entry = table.entries[bits.Peek(table.log)];
    out[i] = entry.symbol;
    bits.Skip(entry.bits);
    if (bits.remaining() < 0) return Corrupt("zstd: a Huffman stream ends early");
  }
  if (bits.remaining() != 0) return Corrupt("zstd: a Huffman stream has bits left over");
  return Status::Ok();
}

// A decoded literals section: where its bytes are and how many, and how
// much of the block it took.
struct Literals {
  const uint8_t* data;
  size_t size;
  size_t section_size;
};

// The literals section (3.1.1.3.1) of the block in[0, size).
Result<Literals> ReadLiterals(ZstdDecoderState& state, const uint8_t* in, size_t size,
                              size_t block_max) {
  if (size == 0) return Corrupt("zstd: a compressed block without literals section");
  const int type = in[0] & 3;
  const int size_format = (in[0] >> 2) & 3;
  if (type == 0 || type == 1) {  // raw or RLE
    size_t header;
    size_t regenerated;
    if ((size_format & 1) == 0) {
      header = 1;
      regenerated = in[0] >> 3;
    } else if (size_format == 1) {
      header = 2;
      if (size < 2) return Corrupt("zstd: a literals section header ends early");
      regenerated = Load16(in) >> 4;
    } else {
      header = 3;
      if (size < 3) return Corrupt("zstd: a literals section header ends early");
      regenerated = Load24(in) >> 4;
    }
    if (regenerated > block_max) return Corrupt("zstd: more literals than a block holds");
    if (type == 0) {
      if (size - header < regenerated) return Corrupt("zstd: raw literals end early");
      return Literals{in + header, regenerated, header + regenerated};
    }
    if (size - header < 1) return Corrupt("zstd: RLE literals end early");
    for (size_t i = 0; i < regenerated; ++i) state.literals[i] = in[header];
    return Literals{state.literals, regenerated, header + 1};
  }
  // Compressed (2) or treeless (3): sizes of 10, 14 or 18 bits each.
  size_t header;
  int field_bits;
  bool four_streams = size_format != 0;
  if (size_format <= 1) {
    header = 3;
    field_bits = 10;
  } else if (size_format == 2) {
    header = 4;
    field_bits = 14;
  } else {
    header = 5;
    field_bits = 18;
  }
  if (size < header) return Corrupt("zstd: a literals section header ends early");
  uint64_t fields = 0;
  for (size_t i = header; i > 0; --i) fields = (fields << 8) | in[i - 1];
  const uint64_t field_mask = (uint64_t{1} << field_bits) - 1;
  const size_t regenerated = static_cast<size_t>((fields >> 4) & field_mask);
  const size_t compressed = static_cast<size_t>((fields >> (4 + field_bits)) & field_mask);
  if (regenerated > block_max) return Corrupt("zstd: more literals than a block holds");
  if (size - header < compressed) return Corrupt("zstd: compressed literals end early");
  const uint8_t* data = in + header;
  size_t data_size = compressed;
  if (type == 2) {
    INSTAR_ASSIGN_OR_RETURN(const size_t tree, ReadHuffmanTable(state.huffman, data, data_size));
    state.has_huffman = true;
    data += tree;
    data_size -= tree;
  } else if (!state.has_huffman) {
    return Corrupt("zstd: treeless literals without a previous Huffman table");
  }
  if (!four_streams) {
    INSTAR_RETURN_IF_ERROR(
        DecodeHuffmanStream(state.huffman, data, data_size, state.literals, regenerated));
  } else {
    if (data_size < 6) return Corrupt("zstd: the literals jump table ends early");
    const size_t sizes[3] = {Load16(data), Load16(data + 2), Load16(data + 4)};
    const size_t first_three = sizes[0] + sizes[1] + sizes[2];
    if (data_size - 6 < first_three + 1) return Corrupt("zstd: literals streams overrun");
    const size_t segment = (regenerated + 3) / 4;
    if (segment * 3 > regenerated) return Corrupt("zstd: too few literals for four streams");
    const uint8_t* stream = data + 6;
    uint8_t* out = state.literals;
    for (int i = 0; i < 3; ++i) {
      INSTAR_RETURN_IF_ERROR(DecodeHuffmanStream(state.huffman, stream, sizes[i], out, segment));
      stream += sizes[i];
      out += segment;
    }
    INSTAR_RETURN_IF_ERROR(DecodeHuffmanStream(state.huffman, stream, data_size - 6 - first_three,
                                               out, regenerated - 3 * segment));
  }
  return Literals{state.literals, regenerated, header + compressed};
}

// One table of the sequences section header (3.1.1.3.2.1): built by its
// mode into `table`; returns the bytes its description took.
template <int kMaxLog>
Result<size_t> ReadSequenceTable(FseTable<kMaxLog>& table, bool& has_table, int mode,
                                 const uint8_t* in, size_t size, const int16_t* defaults,
                                 int default_symbols, int default_log, int max_symbol) {
  switch (mode) {
    case 0:
      INSTAR_RETURN_IF_ERROR(BuildFseTable(table, defaults, default_symbols, default_log));
      has_table = true;
      return size_t{0};
    case 1:
      if (size < 1) return Corrupt("zstd: a sequences RLE symbol is missing");
      if (in[0] > max_symbol) return Corrupt("zstd: a sequences RLE symbol is out of range");
      table.cells[0] = FseCell{in[0], 0, 0};
      table.log = 0;
      has_table = true;
      return size_t{1};
    case 2: {
      INSTAR_ASSIGN_OR_RETURN(const size_t used, ReadFseTable(table, in, size, max_symbol));
      has_table = true;
      return used;
    }
    default:
      if (!has_table) return Corrupt("zstd: a repeated sequences table without a previous one");
      return size_t{0};
  }
}

class FrameDecoder {
 public:
  FrameDecoder(ZstdDecoderState& state, uint8_t* out, size_t out_size)
      : state_(state), out_(out), out_size_(out_size) {}

  // Decodes the frame at in[0, size) (after its magic number) to the
  // output at out_pos(); returns the input bytes it took.
  Result<size_t> Frame(const uint8_t* in, size_t size);
  size_t out_pos() const { return out_pos_; }

 private:
  Status CompressedBlock(const uint8_t* in, size_t size);
  Status Sequences(const uint8_t* in, size_t size, const Literals& literals);

  ZstdDecoderState& state_;
  uint8_t* out_;
  size_t out_size_;
  size_t out_pos_ = 0;
  size_t frame_start_ = 0;
  size_t block_max_ = 0;
};

Result<size_t> FrameDecoder::Frame(const uint8_t* in, size_t size) {
  // Frame_Header_Descriptor (3.1.1.1.1).
  if (size < 1) return Corrupt("zstd: a frame header ends early");
  const uint8_t descriptor = in[0];
  const int content_size_flag = descriptor >> 6;
  const bool single_segment = (descriptor & 0x20) != 0;
  const bool has_checksum = (descriptor & 0x04) != 0;
  const int dictionary_flag = descriptor & 3;
  if ((descriptor & 0x08) != 0) return Corrupt("zstd: a frame header's reserved bit is set");
  const size_t dictionary_bytes = dictionary_flag == 3 ? 4 : static_cast<size_t>(dictionary_flag);
  const size_t content_bytes =
      content_size_flag == 0 ? (single_segment ? 1 : 0) : size_t{1} << content_size_flag;
  const size_t header = 1 + (single_segment ? 0 : 1) + dictionary_bytes + content_bytes;
  if (size < header) return Corrupt("zstd: a frame header ends early");
  const uint8_t* p = in + 1;
  uint64_t window = 0;
  if (!single_segment) {
    const int exponent = *p >> 3;
    const uint64_t base = uint64_t{1} << (10 + exponent);
    window = base + (base / 8) * (*p & 7);
    ++p;
  }
  uint32_t dictionary = 0;
  for (size_t i = dictionary_bytes; i > 0; --i) dictionary = (dictionary << 8) | p[i - 1];
  p += dictionary_bytes;
  if (dictionary != 0) return Status::NotSupported("zstd: the frame needs a dictionary");
  bool has_content_size = content_bytes != 0;
  uint64_t content_size = 0;
  for (size_t i = content_bytes; i > 0; --i) content_size = (content_size << 8) | p[i - 1];
  if (content_bytes == 2) content_size += 256;
  if (single_segment) window = content_size;
  const size_t room = out_size_ - out_pos_;
  if (has_content_size && content_size > room) {
    return Corrupt("zstd: a frame holds more than the output has room for");
  }
  if (window > kMaxWindowSize && !has_content_size) {
    return Corrupt("zstd: a frame needs a window over 128 MiB");
  }
  block_max_ = window < kMaxBlockSize ? static_cast<size_t>(window) : kMaxBlockSize;
  frame_start_ = out_pos_;
  state_.has_huffman = false;
  state_.has_literals_length = false;
  state_.has_offsets = false;
  state_.has_match_length = false;
  state_.repeat[0] = 1;
  state_.repeat[1] = 4;
  state_.repeat[2] = 8;

  size_t pos = header;
  for (;;) {  // every block takes at least its 3-byte header
    if (size - pos < 3) return Corrupt("zstd: a block header ends early");
    const uint32_t block_header = Load24(in + pos);
    pos += 3;
    const bool last = (block_header & 1) != 0;
    const uint32_t type = (block_header >> 1) & 3;
    const size_t block_size = block_header >> 3;
    if (block_size > block_max_) return Corrupt("zstd: a block is larger than the frame allows");
    if (type == 3) return Corrupt("zstd: a block of the reserved type");
    if (type == 0 || type == 1) {  // raw, or one byte repeated block_size times
      const size_t input = type == 0 ? block_size : 1;
      if (size - pos < input) return Corrupt("zstd: a block ends early");
      if (out_size_ - out_pos_ < block_size) {
        return Corrupt("zstd: a frame holds more than the output has room for");
      }
      if (type == 0) {
        CopyBytes(out_ + out_pos_, in + pos, block_size);
      } else {
        for (size_t i = 0; i < block_size; ++i) out_[out_pos_ + i] = in[pos];
      }
      out_pos_ += block_size;
      pos += input;
    } else {
      if (size - pos < block_size) return Corrupt("zstd: a block ends early");
      INSTAR_RETURN_IF_ERROR(CompressedBlock(in + pos, block_size));
      pos += block_size;
    }
    if (last) break;
  }
  const size_t produced = out_pos_ - frame_start_;
  if (has_content_size && produced != content_size) {
    return Corrupt("zstd: a frame's content is not the size its header says");
  }
  if (has_checksum) {
    if (size - pos < 4) return Corrupt("zstd: a frame's checksum is missing");
    const uint64_t hash = zstd_internal::Xxh64(out_ + frame_start_, produced, 0);
    if (Load32(in + pos) != static_cast<uint32_t>(hash)) {
      return Corrupt("zstd: a frame's content checksum does not match");
    }
    pos += 4;
  }
  return pos;
}

Status FrameDecoder::CompressedBlock(const uint8_t* in, size_t size) {
  INSTAR_ASSIGN_OR_RETURN(const Literals literals, ReadLiterals(state_, in, size, block_max_));
  return Sequences(in + literals.section_size, size - literals.section_size, literals);
}

Status FrameDecoder::Sequences(const uint8_t* in, size_t size, const Literals& literals) {
  // Sequences_Section_Header (3.1.1.3.2.1).
  if (size < 1) return Corrupt("zstd: a sequences section is missing");
  size_t count;
  size_t pos;
  if (in[0] < 128) {
    count = in[0];
    pos = 1;
  } else if (in[0] < 255) {
    if (size < 2) return Corrupt("zstd: a sequences section header ends early");
    count = ((static_cast<size_t>(in[0]) - 128) << 8) + in[1];
    pos = 2;
  } else {
    if (size < 3) return Corrupt("zstd: a sequences section header ends early");
    count = Load16(in + 1) + 0x7F00;
    pos = 3;
  }
  const size_t block_start = out_pos_;
  const size_t room = out_size_ - out_pos_;
  size_t literal_pos = 0;
  if (count > 0) {
    if (size - pos < 1) return Corrupt("zstd: a sequences section header ends early");
    const uint8_t modes = in[pos++];
    if ((modes & 3) != 0) return Corrupt("zstd: a sequences header's reserved bits are set");
    INSTAR_ASSIGN_OR_RETURN(
        size_t used,
        ReadSequenceTable(state_.literals_length, state_.has_literals_length, modes >> 6, in + pos,
                          size - pos, kDefaultLiteralsLength, 36, 6, kMaxLiteralsLengthCode));
    pos += used;
    INSTAR_ASSIGN_OR_RETURN(
        used, ReadSequenceTable(state_.offsets, state_.has_offsets, (modes >> 4) & 3, in + pos,
                                size - pos, kDefaultOffset, 29, 5, kMaxOffsetCode));
    pos += used;
    INSTAR_ASSIGN_OR_RETURN(
        used,
        ReadSequenceTable(state_.match_length, state_.has_match_length, (modes >> 2) & 3, in + pos,
                          size - pos, kDefaultMatchLength, 53, 6, kMaxMatchLengthCode));
    pos += used;

    BackwardBits bits;
    INSTAR_RETURN_IF_ERROR(bits.Init(in + pos, size - pos));
    const auto& ll_table = state_.literals_length;
    const auto& of_table = state_.offsets;
    const auto& ml_table = state_.match_length;
    uint32_t ll_state = static_cast<uint32_t>(bits.Read(ll_table.log));
    uint32_t of_state = static_cast<uint32_t>(bits.Read(of_table.log));
    uint32_t ml_state = static_cast<uint32_t>(bits.Read(ml_table.log));
    uint32_t* repeat = state_.repeat;
    for (size_t i = 0; i < count; ++i) {
      const uint8_t of_code = of_table.cells[of_state].symbol;
      const uint8_t ml_code = ml_table.cells[ml_state].symbol;
      const uint8_t ll_code = ll_table.cells[ll_state].symbol;
      // Offset, then match length, then literals length (3.1.1.3.2.1.2).
      const uint32_t offset_value =
          (uint32_t{1} << of_code) + static_cast<uint32_t>(bits.Read(of_code));
      const size_t match_length =
          kMatchLengthBase[ml_code] + static_cast<size_t>(bits.Read(kMatchLengthBits[ml_code]));
      const size_t literals_length = kLiteralsLengthBase[ll_code] +
                                     static_cast<size_t>(bits.Read(kLiteralsLengthBits[ll_code]));
      if (i + 1 < count) {
        ll_state = ll_table.cells[ll_state].base +
                   static_cast<uint32_t>(bits.Read(ll_table.cells[ll_state].bits));
        ml_state = ml_table.cells[ml_state].base +
                   static_cast<uint32_t>(bits.Read(ml_table.cells[ml_state].bits));
        of_state = of_table.cells[of_state].base +
                   static_cast<uint32_t>(bits.Read(of_table.cells[of_state].bits));
      }
      if (bits.remaining() < 0) return Corrupt("zstd: a sequences bitstream ends early");

      // Repeat offsets (3.1.1.5): 1..3 name a recent offset, shifted by one
      // when the sequence has no literals; 3 then means the most recent less 1.
      uint32_t offset;
      if (offset_value > 3) {
        offset = offset_value - 3;
        repeat[2] = repeat[1];
        repeat[1] = repeat[0];
        repeat[0] = offset;
      } else {
        const uint32_t index = offset_value - 1 + (literals_length == 0 ? 1 : 0);
        if (index == 0) {
          offset = repeat[0];
        } else {
          offset = index == 3 ? repeat[0] - 1 : repeat[index];
          if (index != 1) repeat[2] = repeat[1];
          repeat[1] = repeat[0];
          repeat[0] = offset;
        }
      }

      // Execution (3.1.1.4): the literals, then the match.
      if (literals.size - literal_pos < literals_length) {
        return Corrupt("zstd: a sequence takes more literals than there are");
      }
      const size_t written = out_pos_ - block_start;
      if (literals_length > room - written || match_length > room - written - literals_length) {
        return Corrupt("zstd: a frame holds more than the output has room for");
      }
      if (written + literals_length + match_length > block_max_) {
        return Corrupt("zstd: a block decodes to more than the frame allows");
      }
      uint8_t* op = out_ + out_pos_;
      const uint8_t* lp = literals.data + literal_pos;
      if (RoundUp16(literals_length) <= literals.size - literal_pos &&
          RoundUp16(literals_length) <= out_size_ - out_pos_) {
        CopyChunks(op, lp, literals_length);
      } else {
        CopyBytes(op, lp, literals_length);
      }
      out_pos_ += literals_length;
      literal_pos += literals_length;
      if (offset == 0 || offset > out_pos_ - frame_start_) {
        return Corrupt("zstd: a match reaches before the start of its frame");
      }
      op = out_ + out_pos_;
      const uint8_t* from = op - offset;
      if (offset >= 16 && RoundUp16(match_length) <= out_size_ - out_pos_) {
        // Each chunk reads only bytes already final: at least 16 before it.
        CopyChunks(op, from, match_length);
      } else if (offset >= match_length) {
        CopyBytes(op, from, match_length);
      } else {
        // The match overlaps what it writes: byte by byte, in order, repeats
        // its first `offset` bytes.
        for (size_t j = 0; j < match_length; ++j) op[j] = from[j];
      }
      out_pos_ += match_length;
    }
    if (bits.remaining() != 0) return Corrupt("zstd: a sequences bitstream has bits left over");
  } else if (pos != size) {
    return Corrupt("zstd: a block without sequences has bytes left over");
  }
  // The literals no sequence took end the block.
  const size_t rest = literals.size - literal_pos;
  const size_t written = out_pos_ - block_start;
  if (rest > room - written)
    return Corrupt("zstd: a frame holds more than the output has room for");
  if (written + rest > block_max_)
    return Corrupt("zstd: a block decodes to more than the frame allows");
  for (size_t j = 0; j < rest; ++j) out_[out_pos_ + j] = literals.data[literal_pos + j];
  out_pos_ += rest;
  return Status::Ok();
}

// The frames of in[0, in_size) into out; with `until_full`, as qemu's
// cluster reads: stop at the first frame end where the output is full and
// ignore what follows, and fail if the input ends first.
Result<size_t> DecodeFrames(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size,
                            Arena& scratch, bool until_full) {
  const size_t mark = scratch.Mark();
  void* memory = scratch.Allocate(sizeof(ZstdDecoderState), alignof(ZstdDecoderState));
  if (memory == nullptr) return Status::NoSpace("out of memory decoding zstd data");
  auto* state = new (memory) ZstdDecoderState;
  FrameDecoder decoder(*state, out, out_size);
  size_t pos = 0;
  size_t frames = 0;
  Status status;
  while (status.ok()) {
    if (until_full ? decoder.out_pos() == out_size : pos == in_size && frames > 0) break;
    if (in_size - pos < 4) {
      status = Corrupt(pos == in_size ? "zstd: the input ends before the output is full"
                                      : "zstd: the input ends inside a frame's magic number");
      break;
    }
    const uint32_t magic = Load32(in + pos);
    pos += 4;
    ++frames;
    if ((magic & kSkippableMask) == kSkippableMagic) {
      if (in_size - pos < 4) {
        status = Corrupt("zstd: a skippable frame ends early");
        break;
      }
      const uint32_t skip = Load32(in + pos);
      pos += 4;
      if (in_size - pos < skip) {
        status = Corrupt("zstd: a skippable frame ends early");
        break;
      }
      pos += skip;
      continue;
    }
    if (magic != kFrameMagic) {
      status = Corrupt("zstd: not a zstd frame (bad magic number)");
      break;
    }
    const Result<size_t> used = decoder.Frame(in + pos, in_size - pos);
    if (!used.ok()) {
      status = used.status();
      break;
    }
    pos += *used;
  }
  scratch.Reset(mark);
  if (!status.ok()) return status;
  return decoder.out_pos();
}

}  // namespace

const size_t kZstdScratchBytes = sizeof(ZstdDecoderState) + alignof(ZstdDecoderState);

Result<size_t> ZstdDecompress(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size,
                              Arena& scratch) {
  return DecodeFrames(in, in_size, out, out_size, scratch, false);
}

Result<size_t> ZstdDecompressCluster(const uint8_t* in, size_t in_size, uint8_t* out,
                                     size_t out_size, Arena& scratch) {
  return DecodeFrames(in, in_size, out, out_size, scratch, true);
}

}  // namespace instar
