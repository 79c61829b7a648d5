#include "harness/cases/dd_cases.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "harness/cases/case_file.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

using testing::kSourceRoot;

TEST(DdCasesTest, OperandsAreChecked) {
  EXPECT_EQ(CheckDdOperands({}), "");
  EXPECT_EQ(CheckDdOperands({"bs=1000", "count=3"}), "");
  EXPECT_EQ(CheckDdOperands({"bs=64k", "skip=2", "count=4"}), "");
  EXPECT_EQ(CheckDdOperands({"count=0"}), "");
  EXPECT_EQ(CheckDdOperands({"if=x"}),
            "bad operand \"if=x\" (bs=, count= or skip=; the harness adds if= and of=)");
  EXPECT_EQ(CheckDdOperands({"count"}), "bad operand \"count\" (count= takes a number)");
  EXPECT_EQ(CheckDdOperands({"obs=512"}),
            "bad operand \"obs=512\" (bs=, count= or skip=; the harness adds if= and of=)");
  EXPECT_EQ(CheckDdOperands({"count=3k"}), "bad operand \"count=3k\" (count= takes a number)");
  EXPECT_EQ(CheckDdOperands({"bs="}), "bad operand \"bs=\" (bs= takes a number)");
  EXPECT_EQ(CheckDdOperands({"bs=1", "bs=2"}), "operand bs= given twice");
}

TEST(DdCasesTest, ArgumentsNameBothScratchFiles) {
  EXPECT_EQ(DdArguments("raw", "vpc", {"bs=1000", "count=3"}),
            (std::vector<std::string>{"qemu-img", "dd", "-f", "raw", "-O", "vpc", "bs=1000",
                                      "count=3", "if=$FILENAME.in", "of=$FILENAME"}));
  EXPECT_EQ(DdArguments("qcow2", "qcow2", {}),
            (std::vector<std::string>{"qemu-img", "dd", "-f", "qcow2", "-O", "qcow2",
                                      "if=$FILENAME.in", "of=$FILENAME"}));
}

TEST(DdCasesTest, CommittedCasesPlan) {
  const Manifest manifest = LoadManifest(kSourceRoot / "cases/images/manifest.json");
  const std::vector<CaseSpec> cases =
      PlanCases(ParseCaseFile(kSourceRoot / "cases/dd.json", manifest), manifest, {});
  EXPECT_GE(cases.size(), 18u);
  auto it = std::find_if(cases.begin(), cases.end(), [](const CaseSpec& c) {
    return c.bucket == "vpc" && c.name == "1M-raw-bs1000-count3";
  });
  ASSERT_NE(it, cases.end());
  ASSERT_EQ(it->steps.size(), 3u);
  EXPECT_EQ(it->steps[0].argv,
            (std::vector<std::string>{"qemu-img", "create", "-f", "raw", "$FILENAME.in", "1M"}));
  EXPECT_EQ(it->steps[1].argv, DdArguments("raw", "vpc", {"bs=1000", "count=3"}));
  EXPECT_EQ(it->parameters.at("input_format"), "raw");
  EXPECT_EQ(it->parameters.at("format"), "vpc");
}

}  // namespace
}  // namespace instar::harness
