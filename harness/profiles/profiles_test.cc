#include "harness/profiles/profiles.h"

#include <xxhash.h>

#include <gtest/gtest.h>

#include "harness/store/baseline_store.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

namespace fs = std::filesystem;
using testing::ReadText;
using testing::ReadTree;
using testing::TempDir;
using testing::WriteText;

// Fixture baselines with synthetic outputs ("out-A"...), recorded by the
// store's writer: what is tested is the grouping, not what any qemu-img
// printed.
void AddCase(const fs::path& baselines, const std::string& bucket, const std::string& version,
             const std::string& name, const std::string& out, int exit_code) {
  CaseSpec spec{"measure", "measure-json", bucket, name, {}, {}, {}};
  spec.parameters["mode"] = "size";
  spec.parameters["size"] = "1M";
  spec.parameters["target"] = "raw";
  spec.parameters["options"] = boost::json::array();
  spec.steps.push_back({"measure", {"qemu-img", "measure", "--size", "1M", "-O", "raw"}});
  const fs::path dir = BaselineDir(baselines, spec, version);
  fs::create_directories(dir);
  WriteRecord(
      dir, name,
      BuildRecord(spec, version, {{&spec.steps[0], {exit_code, false, out, "err of " + version}}}));
}

class ProfilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // 10.0.2 and 11.1.3 agree; 5.2.0 and 7.2.22 agree; 9.0.0 differs only
    // in an exit code.
    for (const char* version : {"11.1.3", "10.0.2"}) {
      AddCase(baselines_.path(), "_size", version, "a", "out-A2", 0);
      AddCase(baselines_.path(), "qcow2", version, "b", "out-B", 0);
    }
    for (const char* version : {"7.2.22", "5.2.0"}) {
      AddCase(baselines_.path(), "_size", version, "a", "out-A1", 0);
      AddCase(baselines_.path(), "qcow2", version, "b", "out-B", 0);
    }
    AddCase(baselines_.path(), "_size", "9.0.0", "a", "out-A1", 1);
    AddCase(baselines_.path(), "qcow2", "9.0.0", "b", "out-B", 0);
  }

  TempDir baselines_;
  TempDir out_;
};

TEST_F(ProfilesTest, FingerprintIsOverSortedCaseLines) {
  std::vector<CaseDigest> cases = {{"_size/a", 0x1234, 0}, {"qcow2/b", 0xabcdef, 1}};
  const std::string lines = "_size/a\t0000000000001234\t0\nqcow2/b\t0000000000abcdef\t1\n";
  EXPECT_EQ(Fingerprint(cases), XXH3_64bits(lines.data(), lines.size()));
  EXPECT_EQ(Hex16(0xabc), "0000000000000abc");
}

TEST_F(ProfilesTest, GroupsByFingerprintNumberedByLowestVersion) {
  std::vector<VersionDigest> versions = ReadDigests(baselines_.path(), "measure-json");
  ASSERT_EQ(versions.size(), 5u);
  EXPECT_EQ(versions.front().version, "5.2.0");
  EXPECT_EQ(versions.back().version, "11.1.3");
  std::vector<Profile> profiles = GroupProfiles(versions);
  ASSERT_EQ(profiles.size(), 3u);
  EXPECT_EQ(profiles[0].name, "profile-01");
  EXPECT_EQ(profiles[0].versions, (std::vector<std::string>{"5.2.0", "7.2.22"}));
  EXPECT_EQ(profiles[1].versions, (std::vector<std::string>{"9.0.0"}));
  EXPECT_EQ(profiles[2].name, "profile-03");
  EXPECT_EQ(profiles[2].versions, (std::vector<std::string>{"10.0.2", "11.1.3"}));
  EXPECT_EQ(profiles[2].cases, 2u);
}

TEST_F(ProfilesTest, WritesProfilesAndVersionMap) {
  OutputTypeProfiles result = WriteProfiles(baselines_.path(), out_.path(), "measure-json");
  ASSERT_EQ(result.profiles.size(), 3u);
  const fs::path type_dir = out_.path() / "measure-json";
  // One copy of each case, from the profile's lowest version.
  EXPECT_EQ(ReadText(type_dir / "profile-03/_size/a.stdout.txt"), "out-A2");
  EXPECT_EQ(ReadText(type_dir / "profile-03/_size/a.stderr.txt"), "err of 10.0.2");
  EXPECT_EQ(ReadText(type_dir / "profile-01/qcow2/b.stderr.txt"), "err of 5.2.0");
  const std::string map = ReadText(type_dir / "version-map.json");
  EXPECT_EQ(map,
            "{\n"
            "  \"output-type\": \"measure-json\",\n"
            "  \"versions\": {\n"
            "    \"5.2.0\": \"profile-01\",\n"
            "    \"7.2.22\": \"profile-01\",\n"
            "    \"9.0.0\": \"profile-02\",\n"
            "    \"10.0.2\": \"profile-03\",\n"
            "    \"11.1.3\": \"profile-03\"\n"
            "  },\n"
            "  \"profiles\": [\n"
            "    {\n"
            "      \"name\": \"profile-01\",\n"
            "      \"versions\": [\"5.2.0\", \"7.2.22\"],\n"
            "      \"fingerprint\": \"" +
                Hex16(result.profiles[0].fingerprint) +
                "\",\n"
                "      \"cases\": 2\n"
                "    },\n"
                "    {\n"
                "      \"name\": \"profile-02\",\n"
                "      \"versions\": [\"9.0.0\"],\n"
                "      \"fingerprint\": \"" +
                Hex16(result.profiles[1].fingerprint) +
                "\",\n"
                "      \"cases\": 2\n"
                "    },\n"
                "    {\n"
                "      \"name\": \"profile-03\",\n"
                "      \"versions\": [\"10.0.2\", \"11.1.3\"],\n"
                "      \"fingerprint\": \"" +
                Hex16(result.profiles[2].fingerprint) +
                "\",\n"
                "      \"cases\": 2\n"
                "    }\n"
                "  ]\n"
                "}\n");
}

TEST_F(ProfilesTest, RegenerationIsIdenticalAndRemovesStaleProfiles) {
  WriteProfiles(baselines_.path(), out_.path(), "measure-json");
  auto first = ReadTree(out_.path());
  WriteText(out_.path() / "measure-json/profile-07/_size/a.stdout.txt", "stale");
  WriteText(out_.path() / "measure-json/profile-01/qcow2/removed.meta.json", "{}");
  WriteProfiles(baselines_.path(), out_.path(), "measure-json");
  EXPECT_EQ(ReadTree(out_.path()), first);
  EXPECT_FALSE(fs::exists(out_.path() / "measure-json/profile-07"));

  // 9.0.0 goes away: its profile with it, and the newer one is renumbered
  // after the lowest versions that remain.
  fs::remove_all(baselines_.path() / "measure-json/_size/9.0.0");
  fs::remove_all(baselines_.path() / "measure-json/qcow2/9.0.0");
  OutputTypeProfiles result = WriteProfiles(baselines_.path(), out_.path(), "measure-json");
  ASSERT_EQ(result.profiles.size(), 2u);
  EXPECT_EQ(result.profiles[1].name, "profile-02");
  EXPECT_EQ(result.profiles[1].versions, (std::vector<std::string>{"10.0.2", "11.1.3"}));
  EXPECT_FALSE(fs::exists(out_.path() / "measure-json/profile-03"));
}

TEST_F(ProfilesTest, TableListsProfilesAndVersions) {
  OutputTypeProfiles result = WriteProfiles(baselines_.path(), out_.path(), "measure-json");
  std::string table = FormatProfileTable({result});
  EXPECT_EQ(table.substr(0, table.find('\n')), "measure-json: 3 profiles over 5 versions");
  EXPECT_NE(table.find("  profile-01  5.2.0 7.2.22  (2 cases, "), std::string::npos) << table;
}

}  // namespace
}  // namespace instar::harness
