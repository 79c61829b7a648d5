// Replays the inputs measure_fuzz once failed on (engine/measure/testdata/
// fuzz-*) through the fuzz body, which aborts if an invariant breaks. Each
// file's name says what it found.
#include <gtest/gtest.h>

#include <dirent.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "measure/measure_fuzz_body.h"

namespace instar {
namespace {

TEST(MeasureFuzzRegressionTest, KeptInputsPass) {
  const std::string dir = std::string(INSTAR_SOURCE_ROOT) + "/engine/measure/testdata";
  int replayed = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* entry = readdir(d)) {
      const std::string name = entry->d_name;
      if (name.compare(0, 5, "fuzz-") != 0) continue;
      std::ifstream in(dir + "/" + name, std::ios::binary);
      const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                       std::istreambuf_iterator<char>());
      EXPECT_EQ(measure_fuzz::MeasureFuzzOne(bytes.data(), bytes.size()), 0) << name;
      ++replayed;
    }
    closedir(d);
  }
  EXPECT_GE(replayed, 1);
}

}  // namespace
}  // namespace instar
