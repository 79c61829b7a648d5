#include "harness/shard/merge_trees.h"

#include <algorithm>
#include <map>
#include <set>

#include "harness/cases/commands.h"
#include "harness/core/error.h"
#include "harness/core/files.h"
#include "harness/core/words.h"
#include "harness/generate/generator.h"
#include "harness/matrix/matrix.h"
#include "harness/store/baseline_store.h"

namespace instar::harness {

namespace fs = std::filesystem;

namespace {

// At most this many names in an error or a summary line.
constexpr size_t kNamesShown = 3;

const CommandSpec* CommandOfOutputType(const std::string& type) {
  for (const auto& command : Commands()) {
    for (const auto& spec : command.output_types) {
      if (spec.name == type) return &command;
    }
  }
  return nullptr;
}

bool SameRecord(const fs::path& a, const fs::path& b, const std::string& name) {
  const auto a_files = RecordFiles(a, name);
  const auto b_files = RecordFiles(b, name);
  for (size_t i = 0; i < a_files.size(); ++i) {
    if (ReadFile(a_files[i]) != ReadFile(b_files[i])) return false;
  }
  return true;
}

std::string FirstNames(const std::vector<std::string>& names) {
  std::vector<std::string> shown;
  for (size_t i = 0; i < names.size() && i < kNamesShown; ++i) shown.push_back(names[i]);
  std::string text = JoinWords(shown);
  if (names.size() > kNamesShown) text += ", ...";
  return text;
}

struct Source {
  const CaseSpec* spec;
  std::string version;
  fs::path from;  // the shard's directory of the case
};

}  // namespace

MergeTreesReport MergeBaselineTrees(const MergeTreesRequest& request) {
  if (request.shards.empty()) throw HarnessError("merge: no shard directory to merge");
  MergeTreesReport report;
  report.shards = request.shards.size();

  // What the shards hold: output types, versions, and every file.
  std::map<std::string, std::set<std::string>> versions_of;  // output type -> versions
  std::vector<std::string> shard_files;                      // every file under an output type
  for (size_t s = 0; s < request.shards.size(); ++s) {
    const fs::path& shard = request.shards[s];
    if (!fs::is_directory(shard)) {
      throw HarnessError("merge: " + shard.string() + ": not a directory");
    }
    for (const auto& item : fs::directory_iterator(shard)) {
      const std::string type = item.path().filename().string();
      if (!item.is_directory()) {
        report.ignored.push_back((shard / type).string());
        continue;
      }
      if (CommandOfOutputType(type) == nullptr) {
        throw HarnessError("merge: " + item.path().string() +
                           ": not an output type (is this a generate --out directory?)");
      }
      for (const auto& version : BaselineVersions(shard, type)) versions_of[type].insert(version);
      for (const auto& file : fs::recursive_directory_iterator(item.path())) {
        if (!file.is_directory()) shard_files.push_back(file.path().string());
      }
    }
  }
  if (versions_of.empty()) {
    std::vector<std::string> names;
    for (const auto& shard : request.shards) names.push_back(shard.string());
    throw HarnessError("merge: no baselines in " + JoinWords(names));
  }

  // The plan of those output types, command by command.
  std::map<const CommandSpec*, std::vector<std::string>> types_of;
  for (const auto& [type, versions] : versions_of) {
    types_of[CommandOfOutputType(type)].push_back(type);
    report.output_types.push_back(type);
  }
  std::set<std::string> all_versions;
  for (const auto& [type, versions] : versions_of)
    all_versions.insert(versions.begin(), versions.end());
  report.versions.assign(all_versions.begin(), all_versions.end());
  SortVersionTexts(report.versions);

  std::vector<CaseSpec> cases;
  for (const auto& [command, types] : types_of) {
    GenerateRequest plan;
    plan.command = command->name;
    plan.cases_dir = request.cases_dir;
    plan.output_types = types;
    plan.case_globs = request.case_globs;
    for (auto& spec : PlanRequest(plan)) cases.push_back(std::move(spec));
  }
  if (!request.case_globs.empty() && cases.empty()) {
    throw HarnessError("merge: no case of " + JoinWords(report.output_types) +
                       " matches the --case patterns");
  }

  // Where each planned case of each version is; nothing is written before
  // all are found.
  std::vector<Source> sources;
  std::vector<std::string> missing;
  std::set<std::string> used;  // absolute paths of the shard files taken
  for (const auto& spec : cases) {
    for (const auto& version : versions_of.at(spec.output_type)) {
      const fs::path relative = BaselineDir(fs::path(), spec, version);
      const fs::path* found = nullptr;
      for (const auto& shard : request.shards) {
        const fs::path dir = shard / relative;
        if (!IsRecorded(dir, spec.name)) continue;
        for (const auto& file : RecordFiles(dir, spec.name)) used.insert(file.string());
        if (found == nullptr) {
          found = &shard;
        } else if (!SameRecord(*found / relative, dir, spec.name)) {
          throw HarnessError("merge: " + (relative / spec.name).string() + " differs between " +
                             found->string() + " and " + shard.string());
        }
      }
      if (found == nullptr) {
        missing.push_back((relative / spec.name).string());
        continue;
      }
      sources.push_back({&spec, version, *found / relative});
    }
  }
  if (!missing.empty()) {
    throw HarnessError("merge: " + std::to_string(missing.size()) + " planned case" +
                       (missing.size() == 1 ? " is" : "s are") +
                       " in no shard directory (is a shard missing, or was it cut short?): " +
                       FirstNames(missing));
  }
  for (const auto& file : shard_files) {
    if (!used.contains(file)) report.ignored.push_back(file);
  }
  std::sort(report.ignored.begin(), report.ignored.end());

  std::set<fs::path> written;
  for (const auto& source : sources) {
    const fs::path to = BaselineDir(request.out, *source.spec, source.version);
    fs::create_directories(to);
    CopyRecord(source.from, to, source.spec->name);
    for (auto& file : RecordFiles(to, source.spec->name)) written.insert(std::move(file));
  }
  report.cases = sources.size();
  if (request.case_globs.empty()) {
    for (const auto& [type, versions] : versions_of) {
      report.pruned_files += PruneBaselines(request.out, {type}, versions, written);
    }
  }
  return report;
}

std::string FormatMergeSummary(const MergeTreesRequest& request, const MergeTreesReport& report) {
  std::string text =
      "merge: " + std::to_string(report.shards) + " shard director" +
      (report.shards == 1 ? "y" : "ies") + " into " + request.out.string() + ": " +
      std::to_string(report.cases) + " cases (" + std::to_string(report.output_types.size()) +
      " output type" + (report.output_types.size() == 1 ? "" : "s") + ", " +
      std::to_string(report.versions.size()) + " version" +
      (report.versions.size() == 1 ? "" : "s") + ": " + JoinWords(report.versions, " ") + ")\n";
  if (report.pruned_files > 0) {
    text += "  removed " + std::to_string(report.pruned_files) + " stale file" +
            (report.pruned_files == 1 ? "" : "s") + " from " + request.out.string() + "\n";
  }
  if (!report.ignored.empty()) {
    text += "  left behind " + std::to_string(report.ignored.size()) + " file" +
            (report.ignored.size() == 1 ? "" : "s") +
            " of no planned case: " + FirstNames(report.ignored) + "\n";
  }
  return text;
}

}  // namespace instar::harness
