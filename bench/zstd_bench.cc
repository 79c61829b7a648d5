// instar-bench-zstd: ZstdCompress() (engine/zstd) on 64 KiB clusters, as
// qcow2 compresses them (each one frame into cluster_size - 1 bytes of
// room; one that does not fit is stored whole), over random bytes, zeros,
// text-like words, the tree's own C++ sources and a mix of runs, noise and
// repeats. For each it prints
//
//   MB/s of CPU time    input bytes over the process's CPU seconds (the
//                       machine may be shared; wall time is printed too)
//   ratio               input bytes over stored bytes
//
// and, measured in the same run where the `zstd` CLI is on PATH, what
// libzstd (qemu-img's encoder) makes of the same data in 64 KiB blocks at
// level 1 and at qemu's level 3 (`zstd -b -B64K`, whose speed is wall
// time).
//
// Usage: instar-bench-zstd [SECONDS]   (per data kind and side; default 1)

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "harness/run/child.h"
#include "instar/engine/arena.h"
#include "instar/engine/zstd.h"

namespace {

constexpr size_t kClusterSize = 64u << 10;
constexpr size_t kDataSize = 8u << 20;  // 128 clusters, repeated for SECONDS

double CpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

std::vector<uint8_t> Sources() {
  std::vector<uint8_t> data;
  const std::filesystem::path root = std::filesystem::path(INSTAR_SOURCE_ROOT) / "engine";
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".cc" && entry.path().extension() != ".h") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    data.insert(data.end(), std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (data.size() >= kDataSize) break;
  }
  while (!data.empty() && data.size() < kDataSize)
    data.insert(data.end(), data.begin(), data.end());
  data.resize(kDataSize);
  return data;
}

std::vector<uint8_t> MakeData(const std::string& kind) {
  if (kind == "sources") return Sources();
  std::vector<uint8_t> data(kDataSize);
  std::mt19937 random(1);
  if (kind == "random") {
    for (uint8_t& b : data) b = static_cast<uint8_t>(random());
  } else if (kind == "text") {
    static const char* const kWords[] = {"qcow2 ",   "cluster ",  "zstd ",   "frame ", "block ",
                                         "literal ", "sequence ", "offset ", "\n",     "the "};
    size_t i = 0;
    while (i < data.size()) {
      for (const char* c = kWords[random() % 10]; *c != '\0' && i < data.size(); ++c) {
        data[i++] = static_cast<uint8_t>(*c);
      }
    }
  } else if (kind == "mixed") {
    size_t i = 0;
    while (i < data.size()) {
      const size_t run = 1 + random() % 3000;
      const uint32_t how = random() % 4;
      for (size_t j = 0; j < run && i < data.size(); ++j, ++i) {
        data[i] = how == 0   ? 0
                  : how == 1 ? static_cast<uint8_t>(random())
                  : how == 2 ? static_cast<uint8_t>('a' + random() % 7)
                             : (i >= 777 ? data[i - 777] : 'x');
      }
    }
  }
  return data;  // zeros
}

// libzstd's line for `data` at `level`: "-3  693155 (6.051) 225.26 MB/s ...".
std::string ZstdCli(const std::filesystem::path& zstd, const std::filesystem::path& file, int level,
                    int seconds) {
  instar::harness::ChildRunner runner;
  instar::harness::ChildRequest request;
  request.executable = zstd;
  request.arguments = {"-b" + std::to_string(level), "-B64K", "-i" + std::to_string(seconds), "-q",
                       file.string()};
  request.environment = instar::harness::MinimalEnvironment();
  const instar::harness::ChildResult result = runner.Run(request);
  std::string line = result.out + result.err;
  const size_t at = line.rfind("\n-" + std::to_string(level));
  if (result.exit_code != 0 || at == std::string::npos) return "(zstd -b failed)";
  line = line.substr(at + 1);
  const size_t end = line.find('\n');
  return end == std::string::npos ? line : line.substr(0, end);
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 1;
  std::vector<uint8_t> memory(instar::kZstdCompressScratchBytes);
  instar::Arena arena(memory.data(), memory.size());
  std::vector<uint8_t> out(kClusterSize);
  const std::filesystem::path zstd = instar::harness::FindOnPath("zstd");
  const std::filesystem::path scratch =
      std::filesystem::temp_directory_path() / ("instar-bench-zstd-" + std::to_string(getpid()));
  std::filesystem::create_directories(scratch);
  std::printf("ZstdCompress, 64 KiB clusters into 65535 bytes; %s\n",
              zstd.empty() ? "no zstd on PATH" : "libzstd via `zstd -b -B64K` beside it");
  for (const char* kind : {"random", "zeros", "text", "sources", "mixed"}) {
    const std::vector<uint8_t> data = MakeData(kind);
    uint64_t bytes = 0;
    uint64_t stored = 0;
    const double cpu_start = CpuSeconds();
    const auto wall_start = std::chrono::steady_clock::now();
    double cpu = 0;
    while (cpu < seconds) {
      for (size_t at = 0; at < data.size(); at += kClusterSize) {
        const instar::Result<size_t> n = instar::ZstdCompress(data.data() + at, kClusterSize,
                                                              out.data(), kClusterSize - 1, arena);
        if (!n.ok() && n.status().code() != instar::StatusCode::kNoSpace) {
          (void)std::fprintf(stderr, "instar-bench-zstd: %s\n", n.status().message());
          return 1;
        }
        bytes += kClusterSize;
        stored += n.ok() ? *n : kClusterSize;
      }
      cpu = CpuSeconds() - cpu_start;
    }
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    std::printf("%-8s %9.1f MB/s CPU %9.1f MB/s wall  ratio %7.3f\n", kind,
                static_cast<double>(bytes) / cpu / 1e6, static_cast<double>(bytes) / wall / 1e6,
                static_cast<double>(bytes) / static_cast<double>(stored));
    if (zstd.empty()) continue;
    const std::filesystem::path file = scratch / kind;
    std::ofstream(file, std::ios::binary)
        .write(reinterpret_cast<const char*>(data.data()),
               static_cast<std::streamsize>(data.size()));
    for (int level : {1, 3}) {
      std::printf("         libzstd %s\n", ZstdCli(zstd, file, level, seconds).c_str());
    }
  }
  std::filesystem::remove_all(scratch);
  return 0;
}
