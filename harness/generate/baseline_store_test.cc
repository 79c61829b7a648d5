#include "harness/generate/baseline_store.h"

#include <gtest/gtest.h>

#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

namespace fs = std::filesystem;

CaseSpec CreateSpec() {
  CaseSpec spec{"create", "create-info-json", "vhd", "1M-fixed", {}, {}, true};
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

TEST(BaselineStoreTest, FailedFirstStepStopsThePipeline) {
  CaseSpec spec = CreateSpec();
  std::vector<StepRun> runs = {{&spec.steps[0], {1, false, "", "create failed\n"}}};
  CaseRecord record = BuildRecord(spec, "5.2.0", runs);
  EXPECT_EQ(record.stdout_text, "");
  EXPECT_EQ(record.stderr_text, "---CREATE STDERR---\ncreate failed\n");
  EXPECT_NE(record.meta_json.find("\"exit-code\": 1"), std::string::npos);
  EXPECT_EQ(record.meta_json.find("\"info\""), std::string::npos);
}

TEST(BaselineStoreTest, SingleStepKeepsStderrAsItIs) {
  CaseSpec spec{"measure", "measure-human", "_size", "1M-raw", {}, {}, false};
  spec.steps.push_back({"measure", {"qemu-img", "measure", "--size", "1M", "-O", "raw"}});
  std::vector<StepRun> runs = {{&spec.steps[0], {0, false, "out", "no newline"}}};
  EXPECT_EQ(BuildRecord(spec, "7.2.22", runs).stderr_text, "no newline");
}

TEST(BaselineStoreTest, WriteAndCompleteness) {
  testing::TempDir dir;
  CaseSpec spec = CreateSpec();
  const fs::path version_dir = VersionDir(dir.path(), spec, "7.2.22");
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

}  // namespace
}  // namespace instar::harness
