// libFuzzer target: arbitrary bytes inflated as raw DEFLATE into a 64 KiB
// cluster, as a compressed qcow2 cluster is (instar/engine/inflate.h).
// Built only with -DINSTAR_FUZZ=ON and clang (see engine/CMakeLists.txt):
//   build/engine/inflate_fuzz -max_len=70000 -max_total_time=60 corpus
#include <cstddef>
#include <cstdint>
#include <vector>

#include "instar/engine/inflate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::vector<uint8_t> out(64u << 10);
  const instar::Result<size_t> n = instar::Inflate(data, size, out.data(), out.size());
  if (n.ok() && *n > out.size()) __builtin_trap();
  return 0;
}
