// Replays the inputs of engine/qcow2/testdata/modify-fuzz/ (the seeds of
// qcow2_modify_fuzz and any input it once failed on), then a sample of
// pseudo-random inputs, through the fuzz body, which aborts if an
// invariant breaks: the normal build runs what the fuzzer checks.
#include <gtest/gtest.h>

#include <dirent.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "qcow2/qcow2_modify_fuzz_body.h"

namespace instar {
namespace {

TEST(Qcow2ModifyFuzzRegressionTest, KeptInputsPass) {
  const std::string dir = std::string(INSTAR_SOURCE_ROOT) + "/engine/qcow2/testdata/modify-fuzz";
  int replayed = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* entry = readdir(d)) {
      const std::string name = entry->d_name;
      if (name[0] == '.') continue;
      std::ifstream in(dir + "/" + name, std::ios::binary);
      const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                       std::istreambuf_iterator<char>());
      EXPECT_EQ(qcow2_modify_fuzz::ModifyFuzzOne(bytes.data(), bytes.size()), 0) << name;
      ++replayed;
    }
    closedir(d);
  }
  EXPECT_GE(replayed, 6);
}

// Inputs built from a fixed generator over the option texts the hooks
// care about: every combination runs to the end without an invariant
// breaking.
TEST(Qcow2ModifyFuzzRegressionTest, SeededSamplePasses) {
  static const char* const kCreate[] = {"",
                                        "cluster_size=512",
                                        "cluster_size=4k,refcount_bits=1",
                                        "compat=0.10",
                                        "extended_l2=on",
                                        "lazy_refcounts=on",
                                        "refcount_bits=64",
                                        "preallocation=metadata",
                                        "cluster_size=1k,preallocation=falloc"};
  static const char* const kAmend[] = {"compat=0.10",
                                       "compat=1.1",
                                       "lazy_refcounts=on",
                                       "lazy_refcounts=off",
                                       "refcount_bits=1",
                                       "refcount_bits=8",
                                       "refcount_bits=64",
                                       "size=8M",
                                       "size=512k",
                                       "cluster_size=4k",
                                       "refcount_bits=2,size=3M,compat=0.10",
                                       "backing_file=x",
                                       "compat=1.1,lazy_refcounts=on"};
  uint64_t state = 0x9e3779b97f4a7c15ull;
  const auto next = [&]() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int runs = 0;
  for (int i = 0; i < 160; ++i) {
    std::vector<uint8_t> input(21);
    const uint64_t r = next();
    input[0] = static_cast<uint8_t>(r);
    input[1] = static_cast<uint8_t>(r >> 8);
    const uint64_t start = (next() % 8) << 20;
    const uint64_t end = ((next() % 16) << 20) + (next() % 3 == 0 ? 512 * (next() % 64) : 0);
    for (int b = 0; b < 8; ++b) {
      input[2 + b] = static_cast<uint8_t>(start >> (8 * b));
      input[10 + b] = static_cast<uint8_t>(end >> (8 * b));
    }
    input[18] = 0;
    input[19] = 0;
    const std::string create = kCreate[next() % (sizeof(kCreate) / sizeof(kCreate[0]))];
    const std::string amend = kAmend[next() % (sizeof(kAmend) / sizeof(kAmend[0]))];
    input[20] = static_cast<uint8_t>(create.size());
    input.insert(input.end(), create.begin(), create.end());
    input.insert(input.end(), amend.begin(), amend.end());
    if (std::getenv("INSTAR_FUZZ_TRACE") != nullptr) {
      std::fprintf(stderr, "v%d mode %d %llu -> %llu create '%s' amend '%s'\n", input[0] % 4,
                   input[1], static_cast<unsigned long long>(start),
                   static_cast<unsigned long long>(end), create.c_str(), amend.c_str());
    }
    EXPECT_EQ(qcow2_modify_fuzz::ModifyFuzzOne(input.data(), input.size()), 0);
    ++runs;
  }
  EXPECT_EQ(runs, 160);
}

}  // namespace
}  // namespace instar
