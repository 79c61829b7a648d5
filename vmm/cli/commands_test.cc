// instar's command list, expanded from the command table
// (instar/guest/command_table.h): the IMPLEMENTED commands, in table order,
// and `instar --help` lists each synopsis.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "instar/guest/command_table.h"
#include "vmm/cli/cli.h"
#include "vmm/testing/subprocess.h"

namespace instar::vmm {
namespace {

TEST(CommandsTest, EveryImplementedCommandOfTheTableInItsOrder) {
  std::vector<std::string> expected;
  for (const CommandTableEntry& entry : kCommandTable) {
    if (entry.operation != kNoOperation) expected.push_back(entry.name);
  }
  std::vector<std::string> listed;
  for (const Command& command : Commands()) {
    listed.push_back(command.name);
    ASSERT_NE(command.run, nullptr) << command.name;
    // A synopsis starts with its command, as `instar --help` shows it.
    EXPECT_EQ(std::string(command.synopsis).rfind(std::string(command.name) + " ", 0), 0u)
        << command.synopsis;
  }
  EXPECT_EQ(listed, expected);
}

TEST(CommandsTest, HelpListsEverySynopsis) {
  const testing::ProgramResult r = testing::RunProgram({INSTAR_BINARY_PATH, "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const Command& command : Commands()) {
    EXPECT_NE(r.out.find(std::string("  ") + command.synopsis + "\n"), std::string::npos) << r.out;
  }
}

}  // namespace
}  // namespace instar::vmm
