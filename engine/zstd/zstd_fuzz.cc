// libFuzzer target: arbitrary bytes decoded as zstd frames into a 64 KiB
// buffer, as ZstdDecompress() and as a 64 KiB qcow2 cluster
// (ZstdDecompressCluster(); instar/engine/zstd.h). Any output must fit the
// buffer, a decoded cluster must fill it, and the arena must be given back.
// ci/fuzz seeds it with frames the zstd CLI makes of the tree's sources.
// Built only with -DINSTAR_FUZZ=ON and clang (see engine/CMakeLists.txt):
//   build/fuzz/zstd_fuzz -max_len=70000 -max_total_time=60 corpus
#include <cstddef>
#include <cstdint>
#include <vector>

#include "instar/engine/arena.h"
#include "instar/engine/zstd.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::vector<uint8_t> out(64u << 10);
  static std::vector<uint8_t> memory(instar::kZstdScratchBytes);
  instar::Arena arena(memory.data(), memory.size());
  const instar::Result<size_t> n =
      instar::ZstdDecompress(data, size, out.data(), out.size(), arena);
  if (n.ok() && *n > out.size()) __builtin_trap();
  const instar::Result<size_t> cluster =
      instar::ZstdDecompressCluster(data, size, out.data(), out.size(), arena);
  if (cluster.ok() && *cluster != out.size()) __builtin_trap();
  if (arena.used() != 0) __builtin_trap();
  return 0;
}
