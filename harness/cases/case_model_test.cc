#include "harness/cases/case_model.h"

#include <gtest/gtest.h>

namespace instar::harness {
namespace {

CaseSpec Case(const std::string& bucket, const std::string& name,
              std::vector<std::string> argv = {"qemu-img", "info"}) {
  return {"info", "info-json", bucket, name, {}, {{"info", std::move(argv)}}, {}};
}

TEST(CaseSpecTest, GlobsMatchTheNameOrTheId) {
  const CaseSpec spec = Case("qcow2", "qcow2-v2__raw");
  EXPECT_EQ(spec.Id(), "qcow2/qcow2-v2__raw");
  EXPECT_TRUE(spec.MatchesAnyGlob({}));
  EXPECT_TRUE(spec.MatchesAnyGlob({"qcow2-v2__*"}));
  EXPECT_TRUE(spec.MatchesAnyGlob({"vmdk/*", "qcow2/*"}));
  EXPECT_FALSE(spec.MatchesAnyGlob({"vmdk/*", "_size/*"}));
  EXPECT_FALSE(spec.MatchesAnyGlob({"qcow2"}));
}

TEST(CaseSpecTest, WhatACaseNeedsFromItsPlaceholders) {
  const CaseSpec image = Case("qcow2", "a", {"qemu-img", "info", "$TESTDATA_ROOT/a.qcow2"});
  EXPECT_TRUE(image.UsesCorpus());
  EXPECT_FALSE(image.UsesScratchFile());
  const CaseSpec created = Case("raw", "b", {"qemu-img", "create", "file=$FILENAME", "1M"});
  EXPECT_FALSE(created.UsesCorpus());
  EXPECT_TRUE(created.UsesScratchFile());
}

}  // namespace
}  // namespace instar::harness
