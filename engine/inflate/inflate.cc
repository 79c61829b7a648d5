// RFC 1951 decoding: canonical Huffman codes decoded a bit at a time (the
// way the RFC describes them), stored, fixed and dynamic blocks.
#include "instar/engine/inflate.h"
#include "inflate/deflate_tables.h"

namespace instar {

namespace {

constexpr int kMaxBits = 15;
constexpr int kMaxLitLen = 288;
constexpr int kMaxDist = 30;

// A canonical Huffman code: how many codes of each length, and the symbols
// in code order.
struct Huffman {
  uint16_t count[kMaxBits + 1];
  uint16_t symbol[kMaxLitLen];
};

using namespace deflate_tables;

Status Corrupt(const char* what) { return Status::Corruption(what); }

class Inflater {
 public:
  Inflater(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size)
      : in_(in), in_size_(in_size), out_(out), out_size_(out_size) {}

  Result<size_t> Run();
  // After Run(): whether the final block ended, and the input bytes used
  // up to the byte after it.
  bool ended() const { return ended_; }
  size_t consumed() const { return in_pos_; }

 private:
  // The next `n` (<= 16) bits, least significant first.
  Result<uint32_t> Bits(int n);
  Result<int> Decode(const Huffman& h);
  Status Stored();
  Status Codes(const Huffman& lengths, const Huffman& distances);
  Status Dynamic();
  bool Full() const { return out_pos_ == out_size_; }

  const uint8_t* in_;
  size_t in_size_;
  size_t in_pos_ = 0;
  uint32_t bit_buffer_ = 0;
  int bit_count_ = 0;
  uint8_t* out_;
  size_t out_size_;
  size_t out_pos_ = 0;
  bool block_done_ = false;  // the block being decoded reached its end
  bool ended_ = false;
};

// Builds the code from each symbol's length; an over-subscribed set of
// lengths is corrupt (an incomplete one is allowed, as zlib allows it for a
// single distance code).
Status Build(Huffman* h, const uint8_t* lengths, int n) {
  for (int len = 0; len <= kMaxBits; ++len) h->count[len] = 0;
  for (int s = 0; s < n; ++s) ++h->count[lengths[s]];
  if (h->count[0] == n) return Status::Ok();
  int left = 1;
  for (int len = 1; len <= kMaxBits; ++len) {
    left <<= 1;
    left -= h->count[len];
    if (left < 0) return Corrupt("inflate: over-subscribed code lengths");
  }
  uint16_t offsets[kMaxBits + 1];
  offsets[1] = 0;
  for (int len = 1; len < kMaxBits; ++len) offsets[len + 1] = offsets[len] + h->count[len];
  for (int s = 0; s < n; ++s) {
    if (lengths[s] != 0) h->symbol[offsets[lengths[s]]++] = static_cast<uint16_t>(s);
  }
  return Status::Ok();
}

Result<uint32_t> Inflater::Bits(int n) {
  while (bit_count_ < n) {
    if (in_pos_ == in_size_) return Corrupt("inflate: the compressed data ends early");
    bit_buffer_ |= static_cast<uint32_t>(in_[in_pos_++]) << bit_count_;
    bit_count_ += 8;
  }
  const uint32_t value = bit_buffer_ & ((1u << n) - 1);
  bit_buffer_ >>= n;
  bit_count_ -= n;
  return value;
}

Result<int> Inflater::Decode(const Huffman& h) {
  int code = 0;   // the bits read so far, first bit most significant
  int first = 0;  // the first code of this length
  int index = 0;  // the index of that first code in symbol[]
  for (int len = 1; len <= kMaxBits; ++len) {
    INSTAR_ASSIGN_OR_RETURN(const uint32_t bit, Bits(1));
    code |= static_cast<int>(bit);
    const int count = h.count[len];
    if (code - count < first) return h.symbol[index + (code - first)];
    index += count;
    first += count;
    first <<= 1;
    code <<= 1;
  }
  return Corrupt("inflate: no such code");
}

Status Inflater::Stored() {
  bit_buffer_ = 0;  // to the next byte boundary
  bit_count_ = 0;
  if (in_size_ - in_pos_ < 4) return Corrupt("inflate: the compressed data ends early");
  const uint32_t len = in_[in_pos_] | (static_cast<uint32_t>(in_[in_pos_ + 1]) << 8);
  const uint32_t nlen = in_[in_pos_ + 2] | (static_cast<uint32_t>(in_[in_pos_ + 3]) << 8);
  in_pos_ += 4;
  if (len != (~nlen & 0xffff)) return Corrupt("inflate: stored block length is corrupt");
  uint32_t i = 0;
  for (; i < len && !Full(); ++i) {
    if (in_pos_ == in_size_) return Corrupt("inflate: the compressed data ends early");
    out_[out_pos_++] = in_[in_pos_++];
  }
  block_done_ = i == len;
  return Status::Ok();
}

Status Inflater::Codes(const Huffman& lengths, const Huffman& distances) {
  for (;;) {
    if (Full()) {
      // zlib still reads an end-of-block code right after the output
      // fills (the stream has then ended); anything else is left unread.
      const size_t in_pos = in_pos_;
      const uint32_t bit_buffer = bit_buffer_;
      const int bit_count = bit_count_;
      const Result<int> next = Decode(lengths);
      if (next.ok() && *next == 256) {
        block_done_ = true;
        return Status::Ok();
      }
      in_pos_ = in_pos;
      bit_buffer_ = bit_buffer;
      bit_count_ = bit_count;
      return Status::Ok();
    }
    INSTAR_ASSIGN_OR_RETURN(int symbol, Decode(lengths));
    if (symbol < 256) {
      out_[out_pos_++] = static_cast<uint8_t>(symbol);
      continue;
    }
    if (symbol == 256) {
      block_done_ = true;
      return Status::Ok();
    }
    symbol -= 257;
    if (symbol >= 29) return Corrupt("inflate: invalid length code");
    INSTAR_ASSIGN_OR_RETURN(const uint32_t extra, Bits(kLengthExtra[symbol]));
    const size_t length = kLengthBase[symbol] + extra;
    INSTAR_ASSIGN_OR_RETURN(const int dsymbol, Decode(distances));
    if (dsymbol >= 30) return Corrupt("inflate: invalid distance code");
    INSTAR_ASSIGN_OR_RETURN(const uint32_t dextra, Bits(kDistExtra[dsymbol]));
    const size_t distance = kDistBase[dsymbol] + dextra;
    if (distance > out_pos_) return Corrupt("inflate: distance before the start of the output");
    for (size_t i = 0; i < length && !Full(); ++i) {
      out_[out_pos_] = out_[out_pos_ - distance];
      ++out_pos_;
    }
  }
}

Status Inflater::Dynamic() {
  INSTAR_ASSIGN_OR_RETURN(const uint32_t hlit, Bits(5));
  INSTAR_ASSIGN_OR_RETURN(const uint32_t hdist, Bits(5));
  INSTAR_ASSIGN_OR_RETURN(const uint32_t hclen, Bits(4));
  const int nlen = static_cast<int>(hlit) + 257;
  const int ndist = static_cast<int>(hdist) + 1;
  const int ncode = static_cast<int>(hclen) + 4;
  if (nlen > 286 || ndist > 30) return Corrupt("inflate: too many length or distance codes");
  uint8_t lengths[kMaxLitLen + kMaxDist] = {};
  for (int i = 0; i < ncode; ++i) {
    INSTAR_ASSIGN_OR_RETURN(const uint32_t len, Bits(3));
    lengths[kCodeLengthOrder[i]] = static_cast<uint8_t>(len);
  }
  Huffman code_lengths;
  INSTAR_RETURN_IF_ERROR(Build(&code_lengths, lengths, 19));
  for (int i = 0; i < 19; ++i) lengths[i] = 0;
  for (int index = 0; index < nlen + ndist;) {
    INSTAR_ASSIGN_OR_RETURN(const int symbol, Decode(code_lengths));
    if (symbol < 16) {
      lengths[index++] = static_cast<uint8_t>(symbol);
      continue;
    }
    uint8_t value = 0;
    uint32_t repeat = 0;
    if (symbol == 16) {
      if (index == 0) return Corrupt("inflate: repeat with no first length");
      value = lengths[index - 1];
      INSTAR_ASSIGN_OR_RETURN(const uint32_t r, Bits(2));
      repeat = 3 + r;
    } else if (symbol == 17) {
      INSTAR_ASSIGN_OR_RETURN(const uint32_t r, Bits(3));
      repeat = 3 + r;
    } else {
      INSTAR_ASSIGN_OR_RETURN(const uint32_t r, Bits(7));
      repeat = 11 + r;
    }
    if (index + static_cast<int>(repeat) > nlen + ndist) {
      return Corrupt("inflate: too many code lengths");
    }
    while (repeat-- > 0) lengths[index++] = value;
  }
  if (lengths[256] == 0) return Corrupt("inflate: no end-of-block code");
  Huffman literals;
  Huffman distances;
  INSTAR_RETURN_IF_ERROR(Build(&literals, lengths, nlen));
  INSTAR_RETURN_IF_ERROR(Build(&distances, lengths + nlen, ndist));
  return Codes(literals, distances);
}

Result<size_t> Inflater::Run() {
  bool last = false;
  for (;;) {
    if (last) {
      ended_ = true;
      break;
    }
    if (Full()) break;
    block_done_ = false;
    INSTAR_ASSIGN_OR_RETURN(const uint32_t final_block, Bits(1));
    INSTAR_ASSIGN_OR_RETURN(const uint32_t type, Bits(2));
    last = final_block != 0;
    if (type == 0) {
      INSTAR_RETURN_IF_ERROR(Stored());
    } else if (type == 1) {
      // 3.2.6: the fixed codes.
      uint8_t lengths[kMaxLitLen + kMaxDist];
      int s = 0;
      for (; s < 144; ++s) lengths[s] = 8;
      for (; s < 256; ++s) lengths[s] = 9;
      for (; s < 280; ++s) lengths[s] = 7;
      for (; s < kMaxLitLen; ++s) lengths[s] = 8;
      for (; s < kMaxLitLen + kMaxDist; ++s) lengths[s] = 5;
      Huffman literals;
      Huffman distances;
      INSTAR_RETURN_IF_ERROR(Build(&literals, lengths, kMaxLitLen));
      INSTAR_RETURN_IF_ERROR(Build(&distances, lengths + kMaxLitLen, kMaxDist));
      INSTAR_RETURN_IF_ERROR(Codes(literals, distances));
    } else if (type == 2) {
      INSTAR_RETURN_IF_ERROR(Dynamic());
    } else {
      return Corrupt("inflate: invalid block type");
    }
    // The output filled inside the block: it has not ended.
    if (!block_done_) break;
  }
  return out_pos_;
}

}  // namespace

Result<size_t> Inflate(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size) {
  Inflater inflater(in, in_size, out, out_size);
  return inflater.Run();
}

Result<size_t> Uncompress(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size) {
  // RFC 1950: CM 8 (deflate), a window of at most 32 KiB, the check bits,
  // and no preset dictionary.
  if (in_size < 2 || (in[0] & 0x0f) != 8 || (in[0] >> 4) > 7 ||
      ((static_cast<uint32_t>(in[0]) << 8) | in[1]) % 31 != 0 || (in[1] & 0x20) != 0) {
    return Corrupt("inflate: not a zlib stream");
  }
  Inflater inflater(in + 2, in_size - 2, out, out_size);
  INSTAR_ASSIGN_OR_RETURN(const size_t n, inflater.Run());
  if (!inflater.ended()) return Corrupt("inflate: the data does not fit");
  const size_t at = 2 + inflater.consumed();
  if (in_size - at < 4) return Corrupt("inflate: the compressed data ends early");
  // Adler-32 of the output, stored big endian.
  uint32_t a = 1;
  uint32_t b = 0;
  for (size_t i = 0; i < n; ++i) {
    a = (a + out[i]) % 65521;
    b = (b + a) % 65521;
  }
  const uint32_t stored = (static_cast<uint32_t>(in[at]) << 24) |
                          (static_cast<uint32_t>(in[at + 1]) << 16) |
                          (static_cast<uint32_t>(in[at + 2]) << 8) | in[at + 3];
  if (stored != ((b << 16) | a)) return Corrupt("inflate: incorrect data check");
  return n;
}

}  // namespace instar
