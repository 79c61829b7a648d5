// Sharded generate joined by merge is the unsharded generate, byte for
// byte: two commands with the system qemu-img (a matrix of one), three
// shards, into fresh and into existing trees.
#include "harness/shard/merge_trees.h"

#include <gtest/gtest.h>

#include "harness/generate/generator.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

namespace fs = std::filesystem;
using testing::ErrorOf;
using testing::ReadText;
using testing::ReadTree;
using testing::TempDir;
using testing::WriteText;

// create (43 cases, a step pair each) and amend (18 pipelines, three of
// them failing): enough buckets that every shard holds some of each.
const std::vector<std::string> kCommands = {"create", "amend"};

class MergeTreesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ChildRunner runner;
    matrix_ = MatrixOfBinary(testing::kSystemQemuImg, false, runner);
    version_ = matrix_.entries[0].version_text;
  }

  GenerateReport Generate(const std::string& command, const fs::path& out,
                          std::optional<Shard> shard) {
    GenerateRequest request;
    request.command = command;
    request.cases_dir = testing::kSourceRoot / "cases";
    request.out_dir = out;
    request.matrix = matrix_;
    request.jobs = 2;
    request.shard = shard;
    request.progress = ProgressStyle::kSilent;
    Interrupt interrupt;
    return harness::Generate(request, interrupt);
  }

  // The (case, version) pairs recorded.
  size_t GenerateAll(const fs::path& out, std::optional<Shard> shard) {
    size_t recorded = 0;
    for (const auto& command : kCommands) recorded += Generate(command, out, shard).recorded;
    return recorded;
  }

  MergeTreesReport Merge(const std::vector<fs::path>& shards, const fs::path& out) {
    MergeTreesRequest request;
    request.shards = shards;
    request.out = out;
    request.cases_dir = testing::kSourceRoot / "cases";
    return MergeBaselineTrees(request);
  }

  Matrix matrix_;
  std::string version_;
  TempDir dir_;
};

TEST_F(MergeTreesTest, ThreeShardsMergedAreTheUnshardedRun) {
  const fs::path unsharded = dir_.path() / "unsharded";
  const size_t planned = GenerateAll(unsharded, std::nullopt);
  const auto expected = ReadTree(unsharded);
  ASSERT_GT(planned, 3u);
  ASSERT_EQ(expected.size(), 3 * planned);

  std::vector<fs::path> shards;
  size_t recorded = 0;
  for (unsigned k = 1; k <= 3; ++k) {
    shards.push_back(dir_.path() / ("shard-" + std::to_string(k)));
    for (const auto& command : kCommands) {
      const GenerateReport report = Generate(command, shards.back(), Shard{k, 3});
      // A third of the cases, give or take one, each with every version.
      EXPECT_GE(report.cases, report.planned / 3 / report.versions * report.versions);
      EXPECT_LE(report.cases, (report.planned / report.versions + 2) / 3 * report.versions);
      recorded += report.recorded;
    }
  }
  EXPECT_EQ(recorded, planned);
  // No shard holds another's case.
  size_t files = 0;
  for (const auto& shard : shards) files += ReadTree(shard).size();
  EXPECT_EQ(files, expected.size());

  const fs::path merged = dir_.path() / "merged";
  const MergeTreesReport report = Merge(shards, merged);
  EXPECT_EQ(report.cases, planned);
  EXPECT_EQ(report.output_types, (std::vector<std::string>{"amend-info-json", "create-info-json"}));
  EXPECT_EQ(report.versions, std::vector<std::string>{version_});
  EXPECT_TRUE(report.ignored.empty());
  EXPECT_EQ(report.pruned_files, 0u);
  EXPECT_EQ(ReadTree(merged), expected);

  // Into an existing tree: what regenerating it unsharded leaves. A stale
  // case and a stale bucket of this version go; a changed case is put
  // right; another version's files stay.
  const fs::path existing = dir_.path() / "existing";
  fs::copy(unsharded, existing, fs::copy_options::recursive);
  WriteText(existing / "create-info-json/qcow2" / version_ / "old.stdout.txt", "x");
  WriteText(existing / "amend-info-json/gone" / version_ / "old.meta.json", "{}");
  WriteText(existing / "create-info-json/raw" / version_ / "1M-default.stdout.txt", "changed");
  WriteText(existing / "create-info-json/raw/1.2.3/kept.stdout.txt", "other version");
  EXPECT_EQ(Merge(shards, existing).pruned_files, 2u);
  auto with_other = expected;
  with_other["create-info-json/raw/1.2.3/kept.stdout.txt"] = "other version";
  EXPECT_EQ(ReadTree(existing), with_other);
}

// Shards run one after another into one directory: each removes the stale
// files but never the other shards' cases, so the tree is the unsharded one.
TEST_F(MergeTreesTest, ShardsSharingOneOutLeaveTheUnshardedTree) {
  const fs::path unsharded = dir_.path() / "unsharded";
  (void)GenerateAll(unsharded, std::nullopt);
  const fs::path shared = dir_.path() / "shared";
  WriteText(shared / "create-info-json/vmdk" / version_ / "renamed.meta.json", "{}");
  for (unsigned k = 1; k <= 3; ++k) (void)GenerateAll(shared, Shard{k, 3});
  EXPECT_EQ(ReadTree(shared), ReadTree(unsharded));
  // And once more, shard 2 alone: nothing of shards 1 and 3 goes.
  EXPECT_EQ(Generate("create", shared, Shard{2, 3}).pruned_files, 0u);
  EXPECT_EQ(ReadTree(shared), ReadTree(unsharded));
}

TEST_F(MergeTreesTest, AMissingShardOrTwoThatDisagreeIsAnErrorBeforeAnythingIsWritten) {
  std::vector<fs::path> shards;
  std::vector<size_t> recorded;
  for (unsigned k = 1; k <= 3; ++k) {
    shards.push_back(dir_.path() / ("shard-" + std::to_string(k)));
    recorded.push_back(Generate("create", shards.back(), Shard{k, 3}).recorded);
  }
  const fs::path out = dir_.path() / "out";
  const std::string missing = ErrorOf([&] { (void)Merge({shards[0], shards[2]}, out); });
  EXPECT_EQ(missing.rfind("merge: " + std::to_string(recorded[1]) +
                              " planned cases are in no shard directory (is a shard "
                              "missing, or was it cut short?): create-info-json/",
                          0),
            0u)
      << missing;
  EXPECT_FALSE(fs::exists(out));

  // A stray copy of a case in another shard's directory is taken when its
  // bytes agree, and refused when they do not.
  fs::path from;
  std::string name;
  for (const auto& item : fs::recursive_directory_iterator(shards[0])) {
    const std::string file = item.path().filename().string();
    if (!file.ends_with(".meta.json")) continue;
    from = item.path().parent_path();
    name = file.substr(0, file.size() - 10);
    break;
  }
  ASSERT_FALSE(name.empty());
  const fs::path relative = fs::relative(from, shards[0]);
  const fs::path to = shards[1] / relative;
  fs::create_directories(to);
  for (const char* suffix : {".stdout.txt", ".stderr.txt", ".meta.json"}) {
    fs::copy_file(from / (name + suffix), to / (name + suffix));
  }
  EXPECT_EQ(Merge(shards, out).cases, recorded[0] + recorded[1] + recorded[2]);
  WriteText(to / (name + ".stdout.txt"), "something else");
  EXPECT_EQ(ErrorOf([&] { (void)Merge(shards, out); }),
            "merge: " + (relative / name).string() + " differs between " + shards[0].string() +
                " and " + shards[1].string());

  // Files of no planned case are left behind, and said so.
  fs::remove(to / (name + ".stdout.txt"));
  const MergeTreesReport report = Merge(shards, out);
  ASSERT_EQ(report.ignored.size(), 2u);
  EXPECT_EQ(report.ignored[0], (to / (name + ".meta.json")).string());

  // Not a baseline tree.
  WriteText(dir_.path() / "profiles/create-info-json/profile-01/raw/x.meta.json", "{}");
  EXPECT_EQ(ErrorOf([&] { (void)Merge({dir_.path() / "profiles"}, out); }),
            (dir_.path() / "profiles/create-info-json/profile-01/raw").string() +
                ": not a version directory (X.Y.Z)");
  fs::create_directories(dir_.path() / "other/frob-json");
  EXPECT_EQ(ErrorOf([&] { (void)Merge({dir_.path() / "other"}, out); }),
            "merge: " + (dir_.path() / "other/frob-json").string() +
                ": not an output type (is this a generate --out directory?)");
}

}  // namespace
}  // namespace instar::harness
