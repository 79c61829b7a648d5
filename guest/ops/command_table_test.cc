// The command table (instar/guest/command_table.h) as the guest, instar and
// the harness expand it.
#include <cctype>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "instar/guest/abi.h"
#include "instar/guest/command_table.h"

namespace instar {
namespace {

// The operation numbers are ABI: a host and a guest image of different
// builds must agree on them.
static_assert(static_cast<uint32_t>(abi::Operation::kInfo) == 1);
static_assert(static_cast<uint32_t>(abi::Operation::kMeasure) == 2);

struct ExpandedEntry {
  std::string name;
  std::string stem;  // Name
  uint32_t operation;
};

#define EXPANDED_IMPLEMENTED(name, Name, operation) {#name, #Name, operation},
#define EXPANDED_BASELINES_ONLY(name, Name) {#name, #Name, kNoOperation},
const std::vector<ExpandedEntry> kExpanded = {
    INSTAR_COMMAND_TABLE(EXPANDED_IMPLEMENTED, EXPANDED_BASELINES_ONLY)};
#undef EXPANDED_IMPLEMENTED
#undef EXPANDED_BASELINES_ONLY

TEST(CommandTableTest, DataMatchesTheMacro) {
  ASSERT_EQ(kExpanded.size(), kCommandCount);
  for (size_t i = 0; i < kCommandCount; ++i) {
    EXPECT_EQ(kExpanded[i].name, kCommandTable[i].name);
    EXPECT_EQ(kExpanded[i].operation, kCommandTable[i].operation);
  }
}

// The stem names the command's parts (RunInfoCommand, InfoOperation ...):
// it is the name with a capital.
TEST(CommandTableTest, StemIsTheCapitalisedName) {
  for (const ExpandedEntry& entry : kExpanded) {
    std::string capitalised = entry.name;
    capitalised[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(capitalised[0])));
    EXPECT_EQ(entry.stem, capitalised);
  }
}

}  // namespace
}  // namespace instar
