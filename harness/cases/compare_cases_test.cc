#include <gtest/gtest.h>

#include <algorithm>

#include "harness/cases/case_file.h"
#include "harness/core/error.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

using testing::kSourceRoot;

class CompareCasesTest : public ::testing::Test {
 protected:
  // The error line of a compare.json holding `pair`, or "" when it parses.
  std::string ErrorOf(const std::string& pair) {
    testing::WriteText(dir_.path() / "compare.json",
                       R"({"command": "compare", "cases": [)" + pair + "]}");
    return testing::ErrorOf([&] { ParseCaseFile(dir_.path() / "compare.json", manifest_); });
  }

  Manifest manifest_ = LoadManifest(kSourceRoot / "cases/images/manifest.json");
  testing::TempDir dir_;
};

TEST_F(CompareCasesTest, CommittedPairsPlan) {
  const std::vector<CaseSpec> cases =
      PlanCases(ParseCaseFile(kSourceRoot / "cases/compare.json", manifest_), manifest_, {});
  EXPECT_GE(cases.size(), 20u);
  auto it = std::find_if(cases.begin(), cases.end(),
                         [](const CaseSpec& c) { return c.name == "chain3-vs-flattened"; });
  ASSERT_NE(it, cases.end());
  EXPECT_EQ(it->bucket, "qcow2");
  ASSERT_EQ(it->steps.size(), 2u);
  EXPECT_EQ(it->steps[0].argv,
            (std::vector<std::string>{"qemu-img", "convert", "-O", "raw",
                                      "$TESTDATA_ROOT/chain-top.qcow2", "$FILENAME"}));
  EXPECT_EQ(it->steps[1].argv,
            (std::vector<std::string>{"qemu-img", "compare", "$TESTDATA_ROOT/chain-top.qcow2",
                                      "$FILENAME"}));
}

TEST_F(CompareCasesTest, PairsAreChecked) {
  const std::string file = (dir_.path() / "compare.json").string();
  EXPECT_EQ(ErrorOf(R"({"case": "x", "a": "qcow2-v2", "b": "raw-sparse", "args": ["-s"]})"),
            "(no error)");
  EXPECT_EQ(ErrorOf(R"({"case": "x", "a": "qcow2-v2", "b": "nope", "args": []})"),
            file + ": cases[0] \"x\": \"nope\" is not an image of the manifest");
  EXPECT_EQ(ErrorOf(R"({"case": "x", "a": "qcow2-v2", "b": "$FILENAME", "args": []})"),
            file + ": cases[0] \"x\": \"$FILENAME\" is not an image of the manifest");
  EXPECT_EQ(ErrorOf(R"({"case": "x", "a": "qcow2-v2", "b": "raw-sparse", "args": [],)"
                    R"( "flatten": "qcow2-v2"})"),
            file +
                ": cases[0] \"x\": \"flatten\" makes $FILENAME, which neither \"a\" nor \"b\" "
                "compares");
}

}  // namespace
}  // namespace instar::harness
