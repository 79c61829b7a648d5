#include "harness/conform/conform_cases.h"

#include <algorithm>

#include "harness/core/error.h"
#include "harness/core/json_schema.h"
#include "harness/core/words.h"
#include "harness/matrix/matrix.h"

namespace instar::harness {

namespace fs = std::filesystem;

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
                           ReadProfileCases(selection.profiles, output_type, profile.name)};
      if (target.cases.empty()) {
        throw HarnessError((selection.profiles / output_type / profile.name).string() +
                           ": no cases (is the profiles tree complete?)");
      }
      targets.push_back(std::move(target));
    }
    return targets;
  }

  const std::vector<std::string> present = BaselineVersions(selection.baselines, output_type);
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
                       ReadBaselineCases(selection.baselines, output_type, version)});
  }
  return targets;
}

}  // namespace instar::harness
