// libFuzzer target: arbitrary bytes (up to a 64 KiB cluster and a little
// more) through Deflate() and Compress() (instar/engine/deflate.h), then
// back through Inflate() and Uncompress(): the round trip must give the
// input back, and a capacity one byte short of the stream must be NoSpace.
// The first byte picks the capacity's slack, so NoSpace in the middle of a
// stream is reached too. Built only with -DINSTAR_FUZZ=ON and clang (see
// engine/CMakeLists.txt):
//   build/engine/deflate_fuzz -max_len=70000 -max_total_time=60 corpus
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "instar/engine/deflate.h"
#include "instar/engine/inflate.h"

namespace {

void Check(bool zlib_stream, const uint8_t* data, size_t size, size_t capacity) {
  static std::vector<uint8_t> arena_buffer(instar::kDeflateScratchBytes);
  static std::vector<uint8_t> packed;
  static std::vector<uint8_t> out;
  instar::Arena arena(arena_buffer.data(), arena_buffer.size());
  packed.assign(capacity, 0);
  const instar::Result<size_t> n =
      zlib_stream ? instar::Compress(data, size, packed.data(), packed.size(), arena)
                  : instar::Deflate(data, size, packed.data(), packed.size(), arena);
  if (arena.used() != 0) __builtin_trap();
  if (!n.ok()) {
    if (n.status().code() != instar::StatusCode::kNoSpace) __builtin_trap();
    return;
  }
  if (*n > capacity) __builtin_trap();
  out.assign(size + 1, 0);
  const instar::Result<size_t> m =
      zlib_stream ? instar::Uncompress(packed.data(), *n, out.data(), out.size())
                  : instar::Inflate(packed.data(), *n, out.data(), out.size());
  if (!m.ok() || *m != size || (size != 0 && std::memcmp(out.data(), data, size) != 0)) {
    __builtin_trap();
  }
  // One byte less than the stream is not enough.
  if (*n > 0) {
    const instar::Result<size_t> short_one =
        zlib_stream ? instar::Compress(data, size, packed.data(), *n - 1, arena)
                    : instar::Deflate(data, size, packed.data(), *n - 1, arena);
    if (short_one.ok() || short_one.status().code() != instar::StatusCode::kNoSpace) {
      __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t slack = data[0];
  ++data;
  --size;
  // Enough room for any stream (stored blocks cost 5 bytes per 64 KiB),
  // then a capacity that may cut it short.
  Check(false, data, size, size + size / 64 + 64);
  Check(true, data, size, size + size / 64 + 64);
  Check(false, data, size, size / 2 + slack);
  Check(true, data, size, size / 2 + slack);
  return 0;
}
