// instar-harness commands as the Makefile and ci/nightly run it: the table
// for people, one name a line for scripts.

#include <gtest/gtest.h>

#include <sstream>

#include "harness/cases/commands.h"
#include "harness/run/child.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

ChildResult Harness(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), "commands");
  ChildRunner runner;
  return runner.Run({INSTAR_HARNESS_BINARY, arguments, MinimalEnvironment()});
}

std::string Lines(const std::vector<std::string>& words) {
  std::string lines;
  for (const auto& word : words) lines += word + "\n";
  return lines;
}

TEST(CommandsCliTest, NamesForScripts) {
  ChildResult result = Harness({"--names"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, Lines(CommandNames()));
  result = Harness({"--conform"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, Lines(ImplementedCommandNames()));
  EXPECT_EQ(result.err, "");
}

TEST(CommandsCliTest, TableHasARowPerCommand) {
  const ChildResult result = Harness({});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  std::istringstream lines(result.out);
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  EXPECT_EQ(line.rfind("command  operation  instar  steps", 0), 0u) << line;
  for (const auto& command : Commands()) {
    ASSERT_TRUE(std::getline(lines, line));
    std::istringstream words(line);
    std::string name, operation, implemented;
    words >> name >> operation >> implemented;
    EXPECT_EQ(name, command.name);
    EXPECT_EQ(operation, command.implemented() ? std::to_string(command.operation) : "-");
    EXPECT_EQ(implemented, command.implemented() ? "yes" : "no");
    for (const auto& type : command.output_types) {
      EXPECT_NE(line.find(type.name), std::string::npos) << line;
    }
  }
  EXPECT_FALSE(std::getline(lines, line)) << line;
}

TEST(CommandsCliTest, NamesAndConformExcludeEachOther) {
  const ChildResult result = Harness({"--names", "--conform"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "instar-harness: commands: --names and --conform exclude each other\n");
}

}  // namespace
}  // namespace instar::harness
