// instar-harness merge: joins what the shards of a sharded run wrote into
// what the unsharded run writes, byte for byte:
//   merge --out DIR SHARD_DIR...         generate --shard K/N --out SHARD_DIR
//                                        trees (shard/merge_trees.h)
//   merge [--json F] [--junit F] [--html F] SHARD.json...
//                                        conform --shard K/N --json reports
//                                        (shard/merge_reports.h)
// See docs/harness.md, "Shards".

#include <cstdio>
#include <iostream>

#include "harness/builtins.h"
#include "harness/core/error.h"
#include "harness/core/files.h"
#include "harness/report/run_page.h"
#include "harness/shard/merge_reports.h"
#include "harness/shard/merge_trees.h"

namespace instar::harness {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxDiffLinesShown = 40;

int MergeReports(const po::variables_map& values, const std::vector<fs::path>& inputs) {
  const ConformReport report = MergeConformReports(inputs);
  std::cout << FormatFailures(report, kMaxDiffLinesShown) << FormatSummary(report) << std::flush;
  auto write_report = [&](const char* option, std::string (*render)(const ConformReport&)) {
    if (values.count(option) == 0) return;
    const fs::path path = values[option].as<std::string>();
    if (path.has_parent_path()) fs::create_directories(path.parent_path());
    WriteFileAtomic(path, render(report));
  };
  write_report("junit", JunitXml);
  write_report("json", JsonReport);
  write_report("html", CommandHtml);
  return report.Count(Outcome::kFail) == 0 ? 0 : 1;
}

}  // namespace

int RunMerge(int argc, char** argv) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "out", po::value<std::string>(), "baseline trees: the tree to write (like generate's --out)")(
      "cases", po::value<std::string>()->default_value("cases"),
      "baseline trees: directory of the case files (the shards' plan is made again from them)")(
      "case", po::value<std::vector<std::string>>(),
      "baseline trees: as the shards' generate --case (repeatable; then nothing is removed)")(
      "json", po::value<std::string>(), "conform reports: write the joined JSON report here")(
      "junit", po::value<std::string>(), "conform reports: write the JUnit XML report here")(
      "html", po::value<std::string>(), "conform reports: write the HTML grid here");
  po::options_description hidden;
  hidden.add_options()("input", po::value<std::vector<std::string>>(), "");
  po::positional_options_description positional;
  positional.add("input", -1);
  po::variables_map values;
  const char* usage =
      "instar-harness merge --out DIR [--cases DIR] [--case GLOB]... SHARD_DIR...\n"
      "       instar-harness merge [--json FILE] [--junit FILE] [--html FILE] SHARD_REPORT.json...";
  if (!ParseOptions("merge", usage, argc, argv, options, hidden, positional, values)) return 0;

  std::vector<fs::path> inputs;
  if (values.count("input") > 0) {
    for (const auto& input : values["input"].as<std::vector<std::string>>()) {
      inputs.emplace_back(input);
    }
  }
  if (inputs.empty()) {
    throw HarnessError(
        "merge: name the shards' outputs: generate --out directories or conform "
        "--json reports");
  }
  const bool trees = fs::is_directory(inputs.front());
  for (const auto& input : inputs) {
    if (!fs::exists(input)) throw HarnessError("merge: " + input.string() + ": no such file");
    if (fs::is_directory(input) != trees) {
      const fs::path& directory = trees ? inputs.front() : input;
      const fs::path& file = trees ? input : inputs.front();
      throw HarnessError(
          "merge: give generate --out directories or conform --json reports, not "
          "both (" +
          directory.string() + " is a directory, " + file.string() + " is not)");
    }
  }
  const bool report_options =
      values.count("json") > 0 || values.count("junit") > 0 || values.count("html") > 0;
  if (!trees) {
    if (values.count("out") > 0 || values.count("case") > 0 || !values["cases"].defaulted()) {
      throw HarnessError("merge: --out, --cases and --case are for generate's trees, not reports");
    }
    return MergeReports(values, inputs);
  }
  if (report_options) {
    throw HarnessError("merge: --json, --junit and --html are for conform's reports, not trees");
  }
  if (values.count("out") == 0) throw HarnessError("merge: --out DIR is required for trees");

  MergeTreesRequest request;
  request.shards = std::move(inputs);
  request.out = values["out"].as<std::string>();
  request.cases_dir = values["cases"].as<std::string>();
  if (values.count("case") > 0) request.case_globs = values["case"].as<std::vector<std::string>>();
  const MergeTreesReport report = MergeBaselineTrees(request);
  (void)std::fputs(FormatMergeSummary(request, report).c_str(), stdout);
  return 0;
}

}  // namespace instar::harness
