// Replays the inputs of engine/qcow2/testdata/create-fuzz/ (the seeds of
// qcow2_create_fuzz and any input it once failed on) through the fuzz
// body, which aborts if an invariant breaks.
#include <gtest/gtest.h>

#include <dirent.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "qcow2/qcow2_create_fuzz_body.h"

namespace instar {
namespace {

TEST(Qcow2CreateFuzzRegressionTest, KeptInputsPass) {
  const std::string dir = std::string(INSTAR_SOURCE_ROOT) + "/engine/qcow2/testdata/create-fuzz";
  int replayed = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* entry = readdir(d)) {
      const std::string name = entry->d_name;
      if (name[0] == '.') continue;
      std::ifstream in(dir + "/" + name, std::ios::binary);
      const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                       std::istreambuf_iterator<char>());
      EXPECT_EQ(qcow2_create_fuzz::CreateFuzzOne(bytes.data(), bytes.size()), 0) << name;
      ++replayed;
    }
    closedir(d);
  }
  EXPECT_GE(replayed, 4);
}

}  // namespace
}  // namespace instar
