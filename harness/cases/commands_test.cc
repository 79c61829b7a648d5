// The harness's command table: the project's command table joined with each
// command's own part (cases/<name>_cases.cc).
#include "harness/cases/commands.h"

#include <gtest/gtest.h>

#include "harness/cases/case_file.h"
#include "harness/core/words.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

using testing::kSourceRoot;

TEST(CommandsTest, TheCommandTableInItsOrder) {
  ASSERT_EQ(Commands().size(), kCommandCount);
  std::vector<std::string> names, implemented;
  for (size_t i = 0; i < kCommandCount; ++i) {
    EXPECT_EQ(Commands()[i].name, kCommandTable[i].name);
    EXPECT_EQ(Commands()[i].operation, kCommandTable[i].operation);
    EXPECT_EQ(Commands()[i].implemented(), kCommandTable[i].operation != kNoOperation);
    EXPECT_EQ(FindCommand(kCommandTable[i].name), &Commands()[i]);
    names.push_back(kCommandTable[i].name);
    if (kCommandTable[i].operation != kNoOperation) implemented.push_back(kCommandTable[i].name);
  }
  EXPECT_EQ(CommandNames(), names);
  EXPECT_EQ(ImplementedCommandNames(), implemented);
  EXPECT_EQ(FindCommand("no-such-command"), nullptr);
}

// Each command's part is complete: output types named after the command,
// hooks set, a committed case file of its own that plans cases whose steps
// are the command's.
TEST(CommandsTest, EveryCommandHasItsParts) {
  const Manifest manifest = LoadManifest(kSourceRoot / "cases/images/manifest.json");
  for (const auto& command : Commands()) {
    SCOPED_TRACE(command.name);
    ASSERT_NE(command.read_case_file, nullptr);
    ASSERT_NE(command.plan, nullptr);
    ASSERT_FALSE(command.output_types.empty());
    for (const auto& type : command.output_types) {
      EXPECT_EQ(type.name.rfind(command.name + "-", 0), 0u) << type.name;
    }
    ASSERT_FALSE(command.steps.empty());
    const CaseFile file = ParseCaseFile(kSourceRoot / "cases" / (command.name + ".json"), manifest);
    EXPECT_EQ(file.command, command.name);
    const std::vector<CaseSpec> cases = PlanCases(file, manifest, {});
    EXPECT_FALSE(cases.empty());
    // A case's steps are the command's, in order, some perhaps left out,
    // and always the last.
    for (const auto& spec : cases) {
      ASSERT_FALSE(spec.steps.empty()) << spec.Id();
      EXPECT_EQ(spec.steps.back().name, command.steps.back()) << spec.Id();
      size_t next = 0;
      for (const auto& step : spec.steps) {
        while (next < command.steps.size() && command.steps[next] != step.name) ++next;
        EXPECT_LT(next, command.steps.size()) << spec.Id() << ": step " << step.name;
        ++next;
      }
    }
  }
}

TEST(CommandsTest, OutputTypesAndTheirNamedFilters) {
  const CommandSpec* measure = FindCommand("measure");
  ASSERT_NE(measure, nullptr);
  EXPECT_EQ(SelectOutputTypes(*measure, {}),
            (std::vector<std::string>{"measure-human", "measure-json"}));
  EXPECT_EQ(SelectOutputTypes(*measure, {"measure-json"}),
            std::vector<std::string>{"measure-json"});
  EXPECT_EQ(testing::ErrorOf([&] { SelectOutputTypes(*measure, {"info-json"}); }),
            "command measure has no output type \"info-json\" (it has measure-human, "
            "measure-json)");
  EXPECT_EQ(FindOutputType("create-info-json")->flags, std::vector<std::string>{"--output=json"});
  EXPECT_EQ(FindOutputType("info"), nullptr);
  // Every command can check the parameters its meta.json records.
  for (const auto& command : Commands()) {
    EXPECT_NE(command.check_parameters, nullptr) << command.name;
  }
}

// harness/CMakeLists.txt makes a conformance test per IMPLEMENTED line of
// the table's header, read before the harness is built; what it read is
// what the program implements.
TEST(CommandsTest, TheConformanceTestsAreOfTheImplementedCommands) {
  EXPECT_EQ(JoinWords(ImplementedCommandNames(), " "), INSTAR_CONFORM_COMMANDS);
}

}  // namespace
}  // namespace instar::harness
