#include "harness/conform/conform_cases.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "harness/core/error.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

using testing::ErrorOf;
using testing::kSourceRoot;

// How many cases a committed profile holds, from the case data itself: one
// info case per corpus image; for measure, every --size case and each image
// measure.json selects (its tiers less its excluded images) for its two
// targets, and in measure-human the cli cases as well.
size_t CorpusImages(const char* tier = nullptr) {
  const auto manifest =
      boost::json::parse(testing::ReadText(kSourceRoot / "cases/images/manifest.json"));
  size_t count = 0;
  for (const auto& image : manifest.at("images").as_array()) {
    if (tier == nullptr || image.at("tier").as_string() == tier) ++count;
  }
  return count;
}
size_t MeasureHumanCases() {
  const auto cases = boost::json::parse(testing::ReadText(kSourceRoot / "cases/measure.json"));
  const auto& images = cases.at("image-cases").as_object();
  size_t selected = 0;
  for (const auto& tier : images.at("tiers").as_array()) {
    selected += CorpusImages(tier.as_string().c_str());
  }
  selected -= images.at("exclude").as_array().size();
  return cases.at("size-cases").as_array().size() + 2 * selected +
         cases.at("cli-cases").as_array().size();
}

TargetSelection Committed() {
  TargetSelection selection;
  selection.profiles = kSourceRoot / "profiles";
  return selection;
}

TEST(ConformCasesTest, EveryProfileOfTheCommittedTree) {
  const std::vector<ConformTarget> targets = SelectTargets("info-json", Committed());
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_EQ(targets[0].name, "profile-01");
  EXPECT_EQ(targets[0].compat, "5.2.0");
  EXPECT_EQ(targets[1].versions, (std::vector<std::string>{"7.2.18", "7.2.22"}));
  EXPECT_EQ(targets[1].compat, "7.2.18");
  EXPECT_EQ(targets[2].compat, "10.0.2");
  for (const auto& target : targets) {
    EXPECT_EQ(target.cases.size(), CorpusImages()) << target.name;
    EXPECT_TRUE(std::is_sorted(
        target.cases.begin(), target.cases.end(),
        [](const StoredCase& a, const StoredCase& b) { return a.spec.Id() < b.spec.Id(); }));
  }
  // profiles/info-json/profile-01/qcow2/qcow2-zstd.meta.json: 5.2.0 exits 1.
  const auto zstd = std::find_if(targets[0].cases.begin(), targets[0].cases.end(),
                                 [](const StoredCase& c) { return c.spec.name == "qcow2-zstd"; });
  ASSERT_NE(zstd, targets[0].cases.end());
  EXPECT_EQ(zstd->expected_exit(), 1);
  EXPECT_EQ(zstd->spec.steps[0].argv,
            (std::vector<std::string>{"qemu-img", "info", "--output=json",
                                      "$TESTDATA_ROOT/qcow2-zstd.qcow2"}));
  EXPECT_TRUE(zstd->spec.UsesCorpus());
  EXPECT_FALSE(zstd->spec.UsesScratchFile());
}

TEST(ConformCasesTest, ProfilesByNameOrByVersion) {
  TargetSelection selection = Committed();
  selection.versions = {"11.1.2"};
  std::vector<ConformTarget> targets = SelectTargets("measure-human", selection);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].name, "profile-03");
  EXPECT_EQ(targets[0].compat, "10.0.2");  // the profile's lowest version
  selection.versions = {};
  selection.profile_names = {"profile-01"};
  targets = SelectTargets("measure-human", selection);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].name, "profile-01");
  EXPECT_EQ(targets[0].cases.size(), MeasureHumanCases());
}

TEST(ConformCasesTest, UnknownProfileOrVersionNamesWhatThereIs) {
  TargetSelection selection = Committed();
  selection.profile_names = {"profile-04"};
  const std::string map = (kSourceRoot / "profiles/measure-human/version-map.json").string();
  EXPECT_EQ(ErrorOf([&] { SelectTargets("measure-human", selection); }),
            map + ": no profile \"profile-04\" (there are profile-01, profile-02, profile-03)");
  selection.profile_names = {};
  selection.versions = {"8.0.0"};
  EXPECT_EQ(ErrorOf([&] { SelectTargets("measure-human", selection); }),
            map +
                ": no version \"8.0.0\" (there are 5.2.0, 7.2.18, 7.2.22, 10.0.2, 10.0.13, "
                "11.1.2, 11.1.3)");
}

TEST(ConformCasesTest, BaselineTreeGivesOneTargetPerVersion) {
  TargetSelection selection = Committed();
  selection.baselines = kSourceRoot / "baselines";
  std::vector<ConformTarget> targets = SelectTargets("info-human", selection);
  ASSERT_EQ(targets.size(), 7u);
  EXPECT_EQ(targets[0].name, "5.2.0");
  EXPECT_EQ(targets[3].name, "10.0.2");
  EXPECT_FALSE(targets[3].is_profile);
  EXPECT_EQ(targets[3].compat, "10.0.2");
  EXPECT_EQ(targets[3].cases.size(), CorpusImages());
  selection.profile_names = {"profile-02"};
  targets = SelectTargets("info-human", selection);
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[1].name, "7.2.22");
}

}  // namespace
}  // namespace instar::harness
