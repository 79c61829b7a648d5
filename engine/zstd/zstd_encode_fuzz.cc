// libFuzzer target: arbitrary bytes compressed by ZstdCompress()
// (instar/engine/zstd.h) into a buffer of ZstdCompressBound() must make a
// frame that ZstdDecompress() turns back into them, and that
// ZstdDecompressCluster() decodes as a cluster of their size; the same
// input into one byte less than that frame is NoSpace; both arenas must be
// given back. ci/fuzz seeds it with the tree's zstd sources.
// Built only with -DINSTAR_FUZZ=ON and clang (see engine/CMakeLists.txt):
//   build/fuzz/zstd_encode_fuzz -max_len=300000 -max_total_time=60 corpus
#include <cstddef>
#include <cstdint>
#include <vector>

#include "instar/engine/arena.h"
#include "instar/engine/zstd.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::vector<uint8_t> encoder_memory(instar::kZstdCompressScratchBytes);
  static std::vector<uint8_t> decoder_memory(instar::kZstdScratchBytes);
  instar::Arena encoder_arena(encoder_memory.data(), encoder_memory.size());
  instar::Arena decoder_arena(decoder_memory.data(), decoder_memory.size());
  std::vector<uint8_t> frame(instar::ZstdCompressBound(size));
  const instar::Result<size_t> n =
      instar::ZstdCompress(data, size, frame.data(), frame.size(), encoder_arena);
  if (!n.ok() || *n > frame.size()) __builtin_trap();
  std::vector<uint8_t> out(size + 1);
  const instar::Result<size_t> back =
      instar::ZstdDecompress(frame.data(), *n, out.data(), out.size(), decoder_arena);
  if (!back.ok() || *back != size) __builtin_trap();
  for (size_t i = 0; i < size; ++i) {
    if (out[i] != data[i]) __builtin_trap();
  }
  if (size > 0) {
    const instar::Result<size_t> cluster =
        instar::ZstdDecompressCluster(frame.data(), *n, out.data(), size, decoder_arena);
    if (!cluster.ok() || *cluster != size) __builtin_trap();
  }
  const instar::Result<size_t> short_of_room =
      instar::ZstdCompress(data, size, frame.data(), *n - 1, encoder_arena);
  if (short_of_room.ok() || short_of_room.status().code() != instar::StatusCode::kNoSpace) {
    __builtin_trap();
  }
  if (encoder_arena.used() != 0 || decoder_arena.used() != 0) __builtin_trap();
  return 0;
}
