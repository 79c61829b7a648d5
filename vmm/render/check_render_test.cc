// RenderCheck against qemu-img's own output: for every case of the
// check-json profiles that printed a result, the counters read back from
// that JSON, rendered as JSON and as human text, must be byte for byte
// what qemu-img printed (profiles/check-json and check-human), and the
// exit code its exit code.
#include "vmm/render/check_render.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

namespace instar::vmm {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool Number(const std::string& json, const std::string& key, uint64_t* value) {
  const std::string needle = "\"" + key + "\": ";
  const size_t at = json.find(needle);
  if (at == std::string::npos) return false;
  *value = std::stoull(json.substr(at + needle.size()));
  return true;
}

std::string Text(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\": \"";
  const size_t at = json.find(needle);
  if (at == std::string::npos) return "";
  const size_t start = at + needle.size();
  return json.substr(start, json.find('"', start) - start);
}

int ExitCode(const fs::path& meta) {
  uint64_t code = 0;
  EXPECT_TRUE(Number(ReadFile(meta), "exit-code", &code)) << meta;
  return static_cast<int>(code);
}

TEST(CheckRenderTest, MatchesEveryProfileBaseline) {
  const fs::path root = fs::path(INSTAR_SOURCE_ROOT) / "profiles";
  size_t compared = 0;
  for (const char* profile : {"profile-01", "profile-02"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / "check-json" / profile)) {
      const std::string name = entry.path().filename().string();
      const std::string suffix = ".stdout.txt";
      if (name.size() <= suffix.size() ||
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
        continue;
      }
      const std::string json = ReadFile(entry.path());
      if (json.empty()) continue;  // no result: an open error or a failed check
      SCOPED_TRACE(entry.path().string());
      const std::string id = name.substr(0, name.size() - suffix.size());
      const fs::path relative = fs::relative(entry.path().parent_path(), root / "check-json");
      CheckView view;
      view.format = Text(json, "format");
      CheckCounters& c = view.counters;
      ASSERT_TRUE(Number(json, "check-errors", &c.check_errors));
      Number(json, "corruptions", &c.corruptions);
      Number(json, "leaks", &c.leaks);
      Number(json, "image-end-offset", &c.image_end_offset);
      Number(json, "total-clusters", &c.total_clusters);
      Number(json, "allocated-clusters", &c.allocated_clusters);
      Number(json, "fragmented-clusters", &c.fragmented_clusters);
      Number(json, "compressed-clusters", &c.compressed_clusters);
      const std::string filename = Text(json, "filename");

      const CheckOutput as_json = RenderCheck(view, filename, OutputFormat::kJson, false);
      EXPECT_EQ(as_json.out, json);
      EXPECT_EQ(as_json.exit_code, ExitCode(entry.path().parent_path() / (id + ".meta.json")));
      const fs::path human = root / "check-human" / relative / (id + ".stdout.txt");
      const CheckOutput as_human = RenderCheck(view, filename, OutputFormat::kHuman, false);
      EXPECT_EQ(as_human.out, ReadFile(human));
      EXPECT_EQ(as_human.exit_code,
                ExitCode(root / "check-human" / relative / (id + ".meta.json")));
      EXPECT_EQ(RenderCheck(view, filename, OutputFormat::kHuman, true).out, "");
      ++compared;
    }
  }
  EXPECT_GT(compared, 200u);
}

TEST(CheckRenderTest, NotSupportedAndFailedChecksPrintNothing) {
  CheckView view;
  view.format = "raw";
  view.outcome = CheckView::Outcome::kNotSupported;
  CheckOutput o = RenderCheck(view, "a.raw", OutputFormat::kJson, false);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, "qemu-img: This image format does not support checks\n");
  EXPECT_EQ(o.exit_code, kCheckExitNotSupported);

  view.format = "vmdk";
  view.outcome = CheckView::Outcome::kFailed;
  view.failure = "Invalid argument";
  view.log = "ERROR: cluster offset for sector 0 points after EOF\n";
  o = RenderCheck(view, "a.vmdk", OutputFormat::kHuman, false);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err,
            "ERROR: cluster offset for sector 0 points after EOF\n"
            "qemu-img: Check failed: Invalid argument\n");
  EXPECT_EQ(o.exit_code, 1);
}

TEST(CheckRenderTest, InternalErrorsPrintTheResultAndFail) {
  CheckView view;
  view.format = "qcow2";
  view.counters.check_errors = 2;
  view.counters.leaks = 1;
  const CheckOutput o = RenderCheck(view, "a.qcow2", OutputFormat::kHuman, false);
  EXPECT_EQ(o.out,
            "\n1 leaked clusters were found on the image.\n"
            "This means waste of disk space, but no harm to data.\n"
            "\n2 internal errors have occurred during the check.\n");
  EXPECT_EQ(o.err, "qemu-img: Check failed\n");
  EXPECT_EQ(o.exit_code, 1);
}

}  // namespace
}  // namespace instar::vmm
