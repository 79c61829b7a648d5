#include "harness/store/baseline_store.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "harness/core/error.h"
#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

namespace fs = std::filesystem;
using testing::ErrorOf;
using testing::ReadText;
using testing::TempDir;
using testing::WriteText;

CaseSpec CreateSpec() {
  CaseSpec spec{"create", "create-info-json", "vhd", "1M-fixed", {}, {}, {"random-cid"}};
  spec.parameters["target"] = "vhd";
  spec.parameters["format"] = "vpc";
  spec.parameters["size"] = "1M";
  spec.parameters["options"] = boost::json::array{"subformat=fixed"};
  spec.steps.push_back(
      {"create", {"qemu-img", "create", "-f", "vpc", "-o", "subformat=fixed", "$FILENAME", "1M"}});
  spec.steps.push_back({"info", {"qemu-img", "info", "--output=json", "$FILENAME"}});
  return spec;
}

// The outputs here are placeholders of the right shape, not qemu-img's: the
// test is about how a record is put together, not about what qemu printed.
TEST(BaselineStoreTest, MetaJsonOfAPipeline) {
  CaseSpec spec = CreateSpec();
  std::vector<StepRun> runs = {{&spec.steps[0], {0, false, "create-out\n", "create-err"}},
                               {&spec.steps[1], {0, false, "info-out\n", ""}}};
  CaseRecord record = BuildRecord(spec, "7.2.22", runs);
  EXPECT_EQ(record.stdout_text, "info-out\n");
  EXPECT_EQ(record.stderr_text, "---CREATE STDERR---\ncreate-err\n---INFO STDERR---\n");
  EXPECT_EQ(record.meta_json,
            R"({
  "case": "1M-fixed",
  "command": "create",
  "output-type": "create-info-json",
  "bucket": "vhd",
  "version": "7.2.22",
  "parameters": {
    "target": "vhd",
    "format": "vpc",
    "size": "1M",
    "options": ["subformat=fixed"]
  },
  "filters": ["random-cid"],
  "steps": [
    {
      "name": "create",
      "argv": ["qemu-img", "create", "-f", "vpc", "-o", "subformat=fixed", "$FILENAME", "1M"],
      "exit-code": 0,
      "stdout-bytes": 11,
      "stderr-bytes": 10,
      "timed-out": false
    },
    {
      "name": "info",
      "argv": ["qemu-img", "info", "--output=json", "$FILENAME"],
      "exit-code": 0,
      "stdout-bytes": 9,
      "stderr-bytes": 0,
      "timed-out": false
    }
  ]
}
)");
}

// Only the steps that ran are in meta.json (case_runner_test.cc has what
// the stdout and stderr of a stopped pipeline are).
TEST(BaselineStoreTest, FailedFirstStepStopsThePipeline) {
  CaseSpec spec = CreateSpec();
  std::vector<StepRun> runs = {{&spec.steps[0], {1, false, "", "create failed\n"}}};
  CaseRecord record = BuildRecord(spec, "5.2.0", runs);
  EXPECT_EQ(record.stdout_text, "");
  EXPECT_NE(record.meta_json.find("\"exit-code\": 1"), std::string::npos);
  EXPECT_EQ(record.meta_json.find("\"info\""), std::string::npos);
}

TEST(BaselineStoreTest, WriteAndCompleteness) {
  TempDir dir;
  CaseSpec spec = CreateSpec();
  const fs::path version_dir = BaselineDir(dir.path(), spec, "7.2.22");
  EXPECT_EQ(version_dir, dir.path() / "create-info-json" / "vhd" / "7.2.22");
  fs::create_directories(version_dir);
  EXPECT_FALSE(IsRecorded(version_dir, "1M-fixed"));
  WriteRecord(version_dir, "1M-fixed", {"out", "err", "{}\n"});
  EXPECT_TRUE(IsRecorded(version_dir, "1M-fixed"));
  EXPECT_EQ(testing::ReadTree(dir.path()),
            (std::map<std::string, std::string>{
                {"create-info-json/vhd/7.2.22/1M-fixed.meta.json", "{}\n"},
                {"create-info-json/vhd/7.2.22/1M-fixed.stderr.txt", "err"},
                {"create-info-json/vhd/7.2.22/1M-fixed.stdout.txt", "out"}}));
  // Without its meta.json a case is not recorded, whatever else is there.
  fs::remove(version_dir / "1M-fixed.meta.json");
  EXPECT_FALSE(IsRecorded(version_dir, "1M-fixed"));
}

// A recorded pipeline in <dir>/create-info-json/vhd/7.2.22/, to read back
// or to break.
class StoreReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spec_ = CreateSpec();
    dir_ = BaselineDir(root_.path(), spec_, "7.2.22");
    fs::create_directories(dir_);
    std::vector<StepRun> runs = {{&spec_.steps[0], {0, false, "create-out\n", "create-err"}},
                                 {&spec_.steps[1], {0, false, "info-out\n", ""}}};
    WriteRecord(dir_, spec_.name, BuildRecord(spec_, "7.2.22", runs));
    stem_ = dir_ / spec_.name;
  }

  StoredCase Read() { return ReadStoredCase(stem_, "create-info-json", "vhd"); }

  // meta.json as a JSON value, changed by `change`, written back.
  void ChangeMeta(const std::function<void(boost::json::object&)>& change) {
    const fs::path path = stem_.string() + ".meta.json";
    boost::json::value meta = boost::json::parse(ReadText(path));
    change(meta.as_object());
    WriteText(path, boost::json::serialize(meta));
  }
  std::string MetaPath() const { return stem_.string() + ".meta.json"; }

  TempDir root_;
  CaseSpec spec_;
  fs::path dir_;
  fs::path stem_;
};

TEST_F(StoreReaderTest, ReadsBackWhatWasWritten) {
  const StoredCase stored = Read();
  EXPECT_EQ(stored.spec.command, "create");
  EXPECT_EQ(stored.spec.Id(), "vhd/1M-fixed");
  EXPECT_EQ(stored.spec.parameters, spec_.parameters);
  ASSERT_EQ(stored.spec.steps.size(), 2u);
  EXPECT_EQ(stored.spec.steps[0].name, "create");
  EXPECT_EQ(stored.spec.steps[1].argv, spec_.steps[1].argv);
  // The case names its filters.
  EXPECT_EQ(stored.spec.filters, spec_.filters);
  EXPECT_EQ(stored.version, "7.2.22");
  EXPECT_EQ(stored.outcomes, (std::vector<StepOutcome>{{0, 11, 10, false}, {0, 9, 0, false}}));
  EXPECT_EQ(stored.expected_exit(), 0);
  EXPECT_EQ(stored.ReadStdout(), "info-out\n");
  EXPECT_EQ(MetaJson(stored.spec, stored.version, stored.outcomes), ReadText(MetaPath()));

  const std::vector<StoredCase> listed =
      ReadBaselineCases(root_.path(), "create-info-json", "7.2.22");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].stem, stem_);
  EXPECT_EQ(BaselineVersions(root_.path(), "create-info-json"), std::vector<std::string>{"7.2.22"});
}

TEST_F(StoreReaderTest, UnknownOrMissingKeysAreErrors) {
  ChangeMeta([](boost::json::object& meta) { meta["timestamp"] = 1; });
  EXPECT_EQ(ErrorOf([&] { Read(); }), MetaPath() + ": unknown key \"timestamp\"");
  SetUp();
  ChangeMeta([](boost::json::object& meta) { meta.erase("version"); });
  EXPECT_EQ(ErrorOf([&] { Read(); }), MetaPath() + ": missing field \"version\"");
  SetUp();
  ChangeMeta([](boost::json::object& meta) {
    meta["steps"].as_array()[1].as_object().erase("timed-out");
  });
  EXPECT_EQ(ErrorOf([&] { Read(); }), MetaPath() + ": steps[1]: missing field \"timed-out\"");
  SetUp();
  ChangeMeta([](boost::json::object& meta) { meta["parameters"].as_object()["colour"] = "red"; });
  EXPECT_EQ(ErrorOf([&] { Read(); }), MetaPath() + ": parameters: unknown key \"colour\"");
  SetUp();
  ChangeMeta([](boost::json::object& meta) { meta["parameters"].as_object().erase("size"); });
  EXPECT_EQ(ErrorOf([&] { Read(); }), MetaPath() + ": parameters: missing field \"size\"");
}

TEST_F(StoreReaderTest, WrongValuesAreErrors) {
  ChangeMeta(
      [](boost::json::object& meta) { meta["steps"].as_array()[0].as_object()["timed-out"] = 0; });
  EXPECT_EQ(ErrorOf([&] { Read(); }),
            MetaPath() + ": steps[0]: \"timed-out\" must be a boolean, found an integer");
  SetUp();
  ChangeMeta([](boost::json::object& meta) {
    meta["steps"].as_array()[0].as_object()["argv"].as_array()[0] = "qemu-io";
  });
  EXPECT_EQ(ErrorOf([&] { Read(); }),
            MetaPath() + ": steps[0]: \"argv\" must start with \"qemu-img\"");
  SetUp();
  ChangeMeta([](boost::json::object& meta) { meta["command"] = "measure"; });
  EXPECT_EQ(ErrorOf([&] { Read(); }),
            MetaPath() + ": command measure has no output type \"create-info-json\"");
  SetUp();
  ChangeMeta([](boost::json::object& meta) { meta["version"] = "7.2"; });
  EXPECT_EQ(ErrorOf([&] { Read(); }), MetaPath() + ": bad \"version\" \"7.2\"");
  SetUp();
  ChangeMeta([](boost::json::object& meta) { meta["filters"] = boost::json::array{"no-such"}; });
  EXPECT_EQ(ErrorOf([&] { Read(); }),
            MetaPath() + ": unknown output filter \"no-such\" (known: random-cid)");
  SetUp();
  ChangeMeta([](boost::json::object& meta) { meta["filters"] = boost::json::array{}; });
  EXPECT_EQ(ErrorOf([&] { Read(); }),
            MetaPath() + ": \"filters\" is empty (leave it out for none)");
}

// A case with a content file records it, and its digest once every step
// ran; the reader gives both back and checks the digest's form.
TEST_F(StoreReaderTest, ContentFileAndDigest) {
  spec_.content_file = "$FILENAME.raw";
  std::vector<StepRun> runs = {{&spec_.steps[0], {0, false, "", ""}},
                               {&spec_.steps[1], {0, false, "{}\n", ""}}};
  runs.back().content_digest = "xxh3-64-sparse:0123456789abcdef";
  WriteRecord(dir_, spec_.name, BuildRecord(spec_, "7.2.22", runs));
  const std::string text = ReadText(MetaPath());
  EXPECT_NE(text.find(R"(  "content": {
    "file": "$FILENAME.raw",
    "digest": "xxh3-64-sparse:0123456789abcdef"
  })"),
            std::string::npos)
      << text;
  StoredCase stored = Read();
  EXPECT_EQ(stored.spec.content_file, "$FILENAME.raw");
  EXPECT_EQ(stored.content_digest, "xxh3-64-sparse:0123456789abcdef");
  ChangeMeta([](boost::json::object& meta) {
    meta["content"].as_object()["digest"] = "xxh3-64-sparse:12";
  });
  EXPECT_EQ(ErrorOf([&] { Read(); }),
            MetaPath() + ": content: \"digest\" is not xxh3-64-sparse:<16 hex digits>");
  ChangeMeta([](boost::json::object& meta) { meta["content"].as_object()["file"] = "/tmp/x"; });
  EXPECT_EQ(ErrorOf([&] { Read(); }),
            MetaPath() + ": content: \"file\" must be a scratch file ($FILENAME...)");
}

// A case without filters has no "filters" key, and reads back without any.
TEST_F(StoreReaderTest, FiltersAreOptional) {
  ChangeMeta([](boost::json::object& meta) { meta.erase("filters"); });
  EXPECT_TRUE(Read().spec.filters.empty());
}

TEST_F(StoreReaderTest, AMetaJsonOfAnotherCaseIsAnError) {
  const fs::path renamed = dir_ / "1M-renamed";
  fs::copy_file(MetaPath(), renamed.string() + ".meta.json");
  EXPECT_EQ(ErrorOf([&] { ReadStoredCase(renamed, "create-info-json", "vhd"); }),
            renamed.string() +
                ".meta.json: describes create-info-json vhd/1M-fixed, not create-info-json "
                "vhd/1M-renamed");
  fs::remove(renamed.string() + ".meta.json");
  // Recorded by another version than the directory says.
  fs::create_directories(BaselineDir(root_.path(), spec_, "7.2.18"));
  for (const auto& file : RecordFiles(dir_, spec_.name)) {
    fs::rename(file, BaselineDir(root_.path(), spec_, "7.2.18") / file.filename());
  }
  const fs::path moved = BaselineDir(root_.path(), spec_, "7.2.18") / "1M-fixed.meta.json";
  EXPECT_EQ(
      ErrorOf([&] { ReadBaselineCases(root_.path(), "create-info-json", "7.2.18"); }),
      moved.string() + ": \"version\" is \"7.2.22\", but the case is in the directory of 7.2.18");
}

TEST_F(StoreReaderTest, AnIncompleteCaseIsAnError) {
  fs::remove(stem_.string() + ".stderr.txt");
  EXPECT_EQ(ErrorOf([&] { Read(); }), MetaPath() + ": the case is incomplete (regenerate it)");
}

TEST_F(StoreReaderTest, CopyAndPrune) {
  const fs::path profile =
      ProfileDir(root_.path() / "profiles", "create-info-json", "profile-01", "vhd");
  EXPECT_EQ(profile, root_.path() / "profiles/create-info-json/profile-01/vhd");
  fs::create_directories(profile);
  CopyRecord(dir_, profile, spec_.name);
  EXPECT_EQ(ReadProfileCases(root_.path() / "profiles", "create-info-json", "profile-01").size(),
            1u);

  WriteText(dir_ / "gone.stdout.txt", "stale");
  const auto files = RecordFiles(dir_, spec_.name);
  EXPECT_EQ(PruneBaselines(root_.path(), {"create-info-json"}, {"7.2.22"},
                           std::set<fs::path>(files.begin(), files.end())),
            1u);
  EXPECT_FALSE(fs::exists(dir_ / "gone.stdout.txt"));
  EXPECT_TRUE(IsRecorded(dir_, spec_.name));
  EXPECT_EQ(PruneBaselines(root_.path(), {"create-info-json"}, {"7.2.22"}, {}), 3u);
  EXPECT_FALSE(fs::exists(root_.path() / "create-info-json/vhd"));
}

// The one reader and the one writer agree on every committed case: reading
// a meta.json and writing it again gives its own bytes.
// A measure cli case: its arguments as typed, an empty one included.
TEST(BaselineStoreTest, CliCaseKeepsEmptyArgumentsAndIsReadStrictly) {
  CaseSpec spec{"measure", "measure-human", "_cli", "qcow2-1G-o-empty", {}, {}, {}};
  const std::vector<std::string> args = {"--size", "1G", "-O", "qcow2", "-o", ""};
  spec.parameters["mode"] = "cli";
  spec.parameters["args"] = boost::json::array(args.begin(), args.end());
  std::vector<std::string> argv = {"qemu-img", "measure"};
  argv.insert(argv.end(), args.begin(), args.end());
  spec.steps.push_back({"measure", argv});
  TempDir root;
  const fs::path dir = BaselineDir(root.path(), spec, "10.0.2");
  fs::create_directories(dir);
  WriteRecord(dir, spec.name,
              BuildRecord(spec, "10.0.2", {{&spec.steps[0], {1, false, "", "error\n"}}}));
  const fs::path stem = dir / spec.name;
  const StoredCase stored = ReadStoredCase(stem, "measure-human", "_cli");
  EXPECT_EQ(stored.spec.steps[0].argv, argv);
  EXPECT_EQ(stored.spec.parameters, spec.parameters);
  EXPECT_EQ(stored.expected_exit(), 1);

  const fs::path meta = stem.string() + ".meta.json";
  boost::json::value changed = boost::json::parse(ReadText(meta));
  changed.as_object()["parameters"].as_object()["size"] = "1G";
  WriteText(meta, boost::json::serialize(changed));
  EXPECT_EQ(ErrorOf([&] { ReadStoredCase(stem, "measure-human", "_cli"); }),
            meta.string() + ": parameters: unknown key \"size\"");
}

TEST(CommittedStoreTest, EveryMetaJsonReadsBackToItsOwnBytes) {
  size_t checked = 0;
  auto check = [&](const StoredCase& stored) {
    EXPECT_EQ(MetaJson(stored.spec, stored.version, stored.outcomes, stored.content_digest),
              ReadText(stored.stem.string() + ".meta.json"))
        << stored.stem;
    ++checked;
  };
  for (const auto& type : fs::directory_iterator(testing::kSourceRoot / "baselines")) {
    const std::string output_type = type.path().filename().string();
    for (const auto& version : BaselineVersions(testing::kSourceRoot / "baselines", output_type)) {
      for (const auto& stored :
           ReadBaselineCases(testing::kSourceRoot / "baselines", output_type, version)) {
        check(stored);
      }
    }
    for (const auto& profile :
         fs::directory_iterator(testing::kSourceRoot / "profiles" / output_type)) {
      if (!profile.is_directory()) continue;
      const std::string name = profile.path().filename().string();
      for (const auto& stored :
           ReadProfileCases(testing::kSourceRoot / "profiles", output_type, name)) {
        check(stored);
      }
    }
  }
  EXPECT_GT(checked, 0u);
}

}  // namespace
}  // namespace instar::harness
