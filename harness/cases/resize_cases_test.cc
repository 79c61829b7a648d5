#include "harness/cases/resize_cases.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "harness/cases/case_file.h"
#include "harness/core/error.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

using testing::kSourceRoot;

constexpr uint64_t kMiB = 1 << 20;

TEST(ResizeCasesTest, ExpectedFinalSizeOfAbsoluteAndRelativeEnds) {
  EXPECT_EQ(ExpectedFinalSize("1M", "64M"), 64 * kMiB);
  EXPECT_EQ(ExpectedFinalSize("1M", "+63M"), 64 * kMiB);
  EXPECT_EQ(ExpectedFinalSize("64M", "-32M"), 32 * kMiB);
  EXPECT_EQ(ExpectedFinalSize("64M", "-64M"), 0u);
  EXPECT_EQ(ExpectedFinalSize("64M", "64M"), 64 * kMiB);
  // Every suffix, each in both cases, relative and absolute.
  EXPECT_EQ(ExpectedFinalSize("0", "+512"), 512u);
  EXPECT_EQ(ExpectedFinalSize("0", "512b"), 512u);
  EXPECT_EQ(ExpectedFinalSize("0", "+512B"), 512u);
  EXPECT_EQ(ExpectedFinalSize("1k", "+1K"), 2048u);
  EXPECT_EQ(ExpectedFinalSize("1m", "-512k"), 512 * 1024u);
  EXPECT_EQ(ExpectedFinalSize("1G", "+1g"), 2ull << 30);
  EXPECT_EQ(ExpectedFinalSize("1T", "-1t"), 0u);
  EXPECT_EQ(ExpectedFinalSize("1P", "+1p"), 2ull << 50);
  EXPECT_EQ(ExpectedFinalSize("1E", "+2e"), 3ull << 60);
  EXPECT_EQ(ExpectedFinalSize("0", "7E"), 7ull << 60);
  // Malformed, negative or past 2^63-1.
  EXPECT_FALSE(ExpectedFinalSize("1M", "-2M"));
  EXPECT_FALSE(ExpectedFinalSize("1M", ""));
  EXPECT_FALSE(ExpectedFinalSize("1M", "+"));
  EXPECT_FALSE(ExpectedFinalSize("1M", "+-1M"));
  EXPECT_FALSE(ExpectedFinalSize("1M", "64X"));
  EXPECT_FALSE(ExpectedFinalSize("x", "64M"));
  EXPECT_FALSE(ExpectedFinalSize("7E", "+1E"));
}

TEST(ResizeCasesTest, ShrinkIsInferredFromTheEnd) {
  EXPECT_TRUE(InferShrinkFlag("64M", "1M"));
  EXPECT_TRUE(InferShrinkFlag("64M", "-32M"));
  EXPECT_TRUE(InferShrinkFlag("64M", "-0"));  // subtractive, whatever its size
  EXPECT_FALSE(InferShrinkFlag("1M", "64M"));
  EXPECT_FALSE(InferShrinkFlag("1M", "+63M"));
  EXPECT_FALSE(InferShrinkFlag("64M", "64M"));
  EXPECT_FALSE(InferShrinkFlag("1M", "1048576"));
  EXPECT_TRUE(InferShrinkFlag("1M", "1048575"));
}

class ResizePlanTest : public ::testing::Test {
 protected:
  const CaseSpec& Find(const std::string& bucket, const std::string& name) {
    auto it = std::find_if(cases_.begin(), cases_.end(),
                           [&](const CaseSpec& c) { return c.bucket == bucket && c.name == name; });
    if (it == cases_.end()) throw HarnessError("no case " + bucket + "/" + name);
    return *it;
  }

  Manifest manifest_ = LoadManifest(kSourceRoot / "cases/images/manifest.json");
  std::vector<CaseSpec> cases_ =
      PlanCases(ParseCaseFile(kSourceRoot / "cases/resize.json", manifest_), manifest_, {});
};

TEST_F(ResizePlanTest, CommittedCasesCoverEveryTarget) {
  EXPECT_GE(cases_.size(), 41u);
  for (const char* target : {"qcow2", "vhd", "vhdx", "vmdk", "raw"}) {
    EXPECT_TRUE(std::any_of(cases_.begin(), cases_.end(), [&](const CaseSpec& c) {
      return c.bucket == target;
    })) << target;
  }
}

TEST_F(ResizePlanTest, ShrinkFlagAndParameters) {
  const CaseSpec& shrink = Find("raw", "64M-to-1M-shrink");
  EXPECT_EQ(shrink.steps[1].argv, (std::vector<std::string>{"qemu-img", "resize", "-f", "raw",
                                                            "--shrink", "$FILENAME", "1M"}));
  EXPECT_EQ(shrink.parameters.at("applied_shrink_flag"), true);
  EXPECT_EQ(shrink.parameters.at("expected_final_size"), kMiB);
  EXPECT_EQ(shrink.parameters.at("end_spec"), "1M");

  const CaseSpec& grow = Find("raw", "1M-to-64M-default");
  EXPECT_EQ(grow.parameters.at("applied_shrink_flag"), false);
  EXPECT_FALSE(grow.parameters.contains("prealloc"));
  EXPECT_EQ(grow.steps[0].argv,
            (std::vector<std::string>{"qemu-img", "create", "-f", "raw", "$FILENAME", "1M"}));
  EXPECT_EQ(grow.steps[2].argv,
            (std::vector<std::string>{"qemu-img", "info", "--output=json", "$FILENAME"}));

  // The refusal: smaller, and no --shrink because the case says so.
  const CaseSpec& refused = Find("qcow2", "64M-to-1M-without-shrink-flag");
  EXPECT_EQ(refused.parameters.at("applied_shrink_flag"), false);
  EXPECT_EQ(std::count(refused.steps[1].argv.begin(), refused.steps[1].argv.end(), "--shrink"), 0);

  // No flag and --preallocation=off are two cases.
  const CaseSpec& off = Find("qcow2", "1M-to-4M-prealloc-off");
  EXPECT_EQ(off.parameters.at("prealloc"), "off");
  EXPECT_EQ(off.steps[1].argv[4], "--preallocation=off");

  // vhd is qemu-img's vpc, and vmdk's cid is random.
  EXPECT_EQ(Find("vhd", "1M-to-64M-default").steps[1].argv[3], "vpc");
  EXPECT_EQ(Find("vmdk", "1M-to-64M-default").filters, std::vector<std::string>{"random-cid"});
  EXPECT_TRUE(Find("vhd", "1M-to-64M-default").filters.empty());
}

}  // namespace
}  // namespace instar::harness
