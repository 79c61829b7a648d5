// instar-bench-deflate: the engine's DEFLATE encoder (instar/engine/deflate.h)
// against the system zlib, measured in the same run on the same 64 KiB
// clusters: random (incompressible), zeros, text-like, and the 50 % random
// / 50 % zeros mix the convert -c benchmark uses. Each line prints MB/s of
// input on one core and the output's share of the input:
//   Deflate()        capacity cluster - 1, as qcow2's writer calls it
//   compress2 -1/-6  zlib's compress2() at levels 1 and 6
//   qemu zlib -6     what qemu's qcow2_compress() does per cluster:
//                    deflateInit2(level 6, windowBits -12, memLevel 9)
//
//   build/bench/instar-bench-deflate [megabytes per case, default 64]
#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "instar/engine/deflate.h"

namespace {

constexpr size_t kCluster = 64 * 1024;

std::vector<uint8_t> MakeClusters(const std::string& kind, size_t clusters) {
  std::mt19937_64 rng(1);
  std::vector<uint8_t> data(kCluster * clusters, 0);
  static const char* const kWords[] = {"the",   "disk", "image",  "cluster", "refcount", "table",
                                       "error", "info", "kernel", "module",  "0x1f00",   "42",
                                       "and",   "to",   "in",     "status",  "value",    "size"};
  for (size_t c = 0; c < clusters; ++c) {
    uint8_t* p = data.data() + c * kCluster;
    const bool random = kind == "random" || (kind == "mixed" && c % 2 == 0);
    if (random) {
      for (size_t i = 0; i < kCluster; i += 8) {
        const uint64_t v = rng();
        std::memcpy(p + i, &v, 8);
      }
    } else if (kind == "text") {
      std::string s;
      while (s.size() < kCluster) {
        s += kWords[rng() % (sizeof(kWords) / sizeof(kWords[0]))];
        s += rng() % 12 == 0 ? ".\n" : " ";
      }
      std::memcpy(p, s.data(), kCluster);
    }
  }
  return data;
}

struct Outcome {
  double mb_per_s;
  double ratio;  // output bytes / input bytes; an incompressible cluster counts as stored
};

Outcome Measure(const std::vector<uint8_t>& data,
                const std::function<size_t(const uint8_t*, uint8_t*)>& compress_cluster) {
  std::vector<uint8_t> out(kCluster * 2);
  size_t total = 0;
  const auto start = std::chrono::steady_clock::now();
  for (size_t off = 0; off < data.size(); off += kCluster) {
    total += compress_cluster(data.data() + off, out.data());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {static_cast<double>(data.size()) / 1e6 / seconds,
          static_cast<double>(total) / static_cast<double>(data.size())};
}

}  // namespace

int main(int argc, char** argv) {
  const size_t megabytes = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 64;
  const size_t clusters = megabytes * 16;
  std::vector<uint8_t> arena_buffer(instar::kDeflateScratchBytes);
  instar::Arena arena(arena_buffer.data(), arena_buffer.size());

  auto ours = [&](const uint8_t* in, uint8_t* out) -> size_t {
    const instar::Result<size_t> n = instar::Deflate(in, kCluster, out, kCluster - 1, arena);
    return n.ok() ? *n : kCluster;
  };
  auto zlib_level = [](int level) {
    return [level](const uint8_t* in, uint8_t* out) -> size_t {
      uLongf size = kCluster * 2;
      if (compress2(out, &size, in, kCluster, level) != Z_OK) std::abort();
      return size < kCluster ? size : kCluster;
    };
  };
  auto qemu_zlib = [](const uint8_t* in, uint8_t* out) -> size_t {
    z_stream z{};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
      std::abort();
    }
    z.next_in = const_cast<uint8_t*>(in);
    z.avail_in = kCluster;
    z.next_out = out;
    z.avail_out = kCluster - 1;
    const int ret = deflate(&z, Z_FINISH);
    const size_t size = ret == Z_STREAM_END ? kCluster - 1 - z.avail_out : kCluster;
    deflateEnd(&z);
    return size;
  };

  std::printf("%-8s %22s %22s %22s %22s\n", "data", "instar Deflate", "zlib compress2 -1",
              "zlib compress2 -6", "qemu zlib -6 (raw -12)");
  for (const std::string kind : {"random", "zeros", "text", "mixed"}) {
    const std::vector<uint8_t> data = MakeClusters(kind, clusters);
    const Outcome results[] = {Measure(data, ours), Measure(data, zlib_level(1)),
                               Measure(data, zlib_level(6)), Measure(data, qemu_zlib)};
    std::printf("%-8s", kind.c_str());
    for (const Outcome& r : results) std::printf(" %9.1f MB/s %6.1f %%", r.mb_per_s, 100 * r.ratio);
    std::printf("\n");
  }
  return 0;
}
