#include "harness/conform/conform_cases.h"

#include <algorithm>
#include <set>

#include "harness/cases/case_model.h"
#include "harness/core/error.h"
#include "harness/core/json_schema.h"
#include "harness/core/words.h"
#include "harness/generate/baseline_store.h"
#include "harness/matrix/matrix.h"

namespace instar::harness {

namespace fs = std::filesystem;

namespace {

bool AnyArgumentContains(const RecordedCase& recorded, std::string_view word) {
  for (const auto& step : recorded.steps) {
    for (const auto& argument : step.argv) {
      if (argument.find(word) != std::string::npos) return true;
    }
  }
  return false;
}

int ExitCode(const Entry& entry, const boost::json::object& step) {
  const auto& value = step.at("exit-code");
  if (!value.is_int64() && !value.is_uint64()) entry.Fail("\"exit-code\" must be an integer");
  auto code = value.to_number<int64_t>();
  if (code < 0 || code > 255) entry.Fail("\"exit-code\" out of range");
  return static_cast<int>(code);
}

// The case stems (<dir>/<name>) of the *.meta.json files in `dir`.
std::vector<fs::path> MetaStems(const fs::path& dir) {
  std::vector<fs::path> stems;
  if (!fs::is_directory(dir)) return stems;
  for (const auto& item : fs::directory_iterator(dir)) {
    const std::string file = item.path().filename().string();
    if (!item.is_regular_file() || !file.ends_with(kMetaSuffix)) continue;
    stems.push_back(dir / file.substr(0, file.size() - kMetaSuffix.size()));
  }
  return stems;
}

void SortCases(std::vector<RecordedCase>& cases) {
  std::sort(cases.begin(), cases.end(), [](const RecordedCase& a, const RecordedCase& b) {
    return a.bucket != b.bucket ? a.bucket < b.bucket : a.name < b.name;
  });
}

std::vector<fs::path> Buckets(const fs::path& dir) {
  std::vector<fs::path> buckets;
  if (!fs::is_directory(dir)) return buckets;
  for (const auto& item : fs::directory_iterator(dir)) {
    if (item.is_directory()) buckets.push_back(item.path());
  }
  std::sort(buckets.begin(), buckets.end());
  return buckets;
}

}  // namespace

bool RecordedCase::UsesCorpus() const { return AnyArgumentContains(*this, kTestdataPlaceholder); }

bool RecordedCase::UsesScratchFile() const {
  return AnyArgumentContains(*this, kFilenamePlaceholder);
}

VersionMap LoadVersionMap(const fs::path& path) {
  if (!fs::exists(path)) {
    throw HarnessError(path.string() + ": no such file (run `instar-harness profiles` first)");
  }
  const boost::json::value document = ParseJsonFile(path);
  Entry top(path.string(), "");
  const auto& root = top.AsObject(document);
  top.CheckKeys(root, {"output-type", "versions", "profiles"});
  VersionMap map;
  map.path = path;
  map.output_type = top.String(root, "output-type");
  const auto& profiles = top.Array(root, "profiles");
  for (size_t i = 0; i < profiles.size(); ++i) {
    Entry entry(path.string(), "profiles[" + std::to_string(i) + "]");
    const auto& object = entry.AsObject(profiles[i]);
    entry.CheckKeys(object, {"name", "versions", "fingerprint", "cases"});
    ProfileEntry profile{entry.String(object, "name"), entry.StringArray(object, "versions")};
    if (profile.versions.empty()) entry.Fail("\"versions\" is empty");
    for (const auto& version : profile.versions) {
      if (!ParseVersionText(version)) entry.Fail("bad version \"" + version + "\"");
    }
    std::vector<std::string> sorted = profile.versions;
    SortVersionTexts(sorted);
    if (sorted != profile.versions) entry.Fail("\"versions\" is not in ascending order");
    map.profiles.push_back(std::move(profile));
  }
  return map;
}

RecordedCase LoadRecordedCase(const fs::path& stem, const std::string& output_type,
                              const std::string& bucket) {
  const fs::path meta_path = stem.string() + std::string(kMetaSuffix);
  const boost::json::value document = ParseJsonFile(meta_path);
  Entry top(meta_path.string(), "");
  const auto& root = top.AsObject(document);
  top.CheckKeys(root, {"case", "output-type", "bucket", "steps"},
                {"command", "version", "parameters"});
  RecordedCase recorded;
  recorded.output_type = top.String(root, "output-type");
  recorded.bucket = top.String(root, "bucket");
  recorded.name = top.String(root, "case");
  recorded.stem = stem;
  if (recorded.output_type != output_type || recorded.bucket != bucket ||
      recorded.name != stem.filename().string()) {
    top.Fail("describes " + recorded.output_type + " " + recorded.Id() + ", not " + output_type +
             " " + bucket + "/" + stem.filename().string());
  }
  const auto& steps = top.Array(root, "steps");
  if (steps.empty()) top.Fail("\"steps\" is empty");
  for (size_t i = 0; i < steps.size(); ++i) {
    Entry entry = top.Nested("steps[" + std::to_string(i) + "]");
    const auto& object = entry.AsObject(steps[i]);
    entry.CheckKeys(object, {"name", "argv", "exit-code"},
                    {"stdout-bytes", "stderr-bytes", "timed-out"});
    RecordedStep step{entry.String(object, "name"), entry.StringArray(object, "argv"),
                      ExitCode(entry, object)};
    if (step.argv.empty() || step.argv.front() != kBinaryWord) {
      entry.Fail("\"argv\" must start with \"" + std::string(kBinaryWord) + "\"");
    }
    recorded.steps.push_back(std::move(step));
  }
  return recorded;
}

std::vector<RecordedCase> ListProfileCases(const fs::path& profiles, const std::string& output_type,
                                           const std::string& profile) {
  std::vector<RecordedCase> cases;
  for (const auto& bucket : Buckets(profiles / output_type / profile)) {
    for (const auto& stem : MetaStems(bucket)) {
      cases.push_back(LoadRecordedCase(stem, output_type, bucket.filename().string()));
    }
  }
  SortCases(cases);
  return cases;
}

std::vector<RecordedCase> ListBaselineCases(const fs::path& baselines,
                                            const std::string& output_type,
                                            const std::string& version) {
  std::vector<RecordedCase> cases;
  for (const auto& bucket : Buckets(baselines / output_type)) {
    for (const auto& stem : MetaStems(bucket / version)) {
      cases.push_back(LoadRecordedCase(stem, output_type, bucket.filename().string()));
    }
  }
  SortCases(cases);
  return cases;
}

std::vector<std::string> ListBaselineVersions(const fs::path& baselines,
                                              const std::string& output_type) {
  std::set<std::string> found;
  for (const auto& bucket : Buckets(baselines / output_type)) {
    for (const auto& item : fs::directory_iterator(bucket)) {
      const std::string name = item.path().filename().string();
      if (item.is_directory() && ParseVersionText(name)) found.insert(name);
    }
  }
  std::vector<std::string> versions(found.begin(), found.end());
  SortVersionTexts(versions);
  return versions;
}

std::vector<ConformTarget> SelectTargets(const std::string& output_type,
                                         const TargetSelection& selection) {
  const bool from_baselines = !selection.baselines.empty();
  const bool need_map = !from_baselines || !selection.profile_names.empty();
  VersionMap map;
  if (need_map) {
    map = LoadVersionMap(selection.profiles / output_type / "version-map.json");
    if (map.output_type != output_type) {
      throw HarnessError(map.path.string() + ": \"output-type\" is \"" + map.output_type +
                         "\", expected \"" + output_type + "\"");
    }
  }
  auto profile_named = [&](const std::string& name) -> const ProfileEntry& {
    for (const auto& profile : map.profiles) {
      if (profile.name == name) return profile;
    }
    std::vector<std::string> names;
    for (const auto& profile : map.profiles) names.push_back(profile.name);
    throw HarnessError(map.path.string() + ": no profile \"" + name + "\" (there are " +
                       JoinWords(names) + ")");
  };

  std::vector<ConformTarget> targets;
  if (!from_baselines) {
    std::vector<std::string> known_versions;
    for (const auto& profile : map.profiles) {
      known_versions.insert(known_versions.end(), profile.versions.begin(), profile.versions.end());
    }
    SortVersionTexts(known_versions);
    for (const auto& name : selection.profile_names) (void)profile_named(name);
    for (const auto& version : selection.versions) {
      if (!Contains(known_versions, version)) {
        throw HarnessError(map.path.string() + ": no version \"" + version + "\" (there are " +
                           JoinWords(known_versions) + ")");
      }
    }
    const bool all = selection.profile_names.empty() && selection.versions.empty();
    for (const auto& profile : map.profiles) {
      bool wanted =
          all || Contains(selection.profile_names, profile.name) ||
          std::any_of(profile.versions.begin(), profile.versions.end(),
                      [&](const std::string& v) { return Contains(selection.versions, v); });
      if (!wanted) continue;
      ConformTarget target{output_type,
                           profile.name,
                           profile.versions,
                           profile.versions.front(),
                           true,
                           ListProfileCases(selection.profiles, output_type, profile.name)};
      if (target.cases.empty()) {
        throw HarnessError((selection.profiles / output_type / profile.name).string() +
                           ": no cases (is the profiles tree complete?)");
      }
      targets.push_back(std::move(target));
    }
    return targets;
  }

  const std::vector<std::string> present = ListBaselineVersions(selection.baselines, output_type);
  if (present.empty()) {
    throw HarnessError((selection.baselines / output_type).string() + ": no baselines");
  }
  std::vector<std::string> wanted = selection.versions;
  for (const auto& name : selection.profile_names) {
    const ProfileEntry& profile = profile_named(name);
    wanted.insert(wanted.end(), profile.versions.begin(), profile.versions.end());
  }
  for (const auto& version : wanted) {
    if (!Contains(present, version)) {
      throw HarnessError((selection.baselines / output_type).string() + ": no baselines of \"" +
                         version + "\" (there are " + JoinWords(present) + ")");
    }
  }
  for (const auto& version : present) {
    if (!wanted.empty() && !Contains(wanted, version)) continue;
    targets.push_back({output_type,
                       version,
                       {version},
                       version,
                       false,
                       ListBaselineCases(selection.baselines, output_type, version)});
  }
  return targets;
}

}  // namespace instar::harness
