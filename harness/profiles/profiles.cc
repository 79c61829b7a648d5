#include "harness/profiles/profiles.h"

#include <xxhash.h>

#include <algorithm>
#include <map>
#include <set>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "harness/core/error.h"
#include "harness/core/files.h"
#include "harness/core/json_writer.h"
#include "harness/store/baseline_store.h"

namespace instar::harness {

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> SortedChildren(const fs::path& dir, bool directories) {
  std::vector<fs::path> children;
  for (const auto& item : fs::directory_iterator(dir)) {
    if (item.is_directory() == directories) children.push_back(item.path());
  }
  std::sort(children.begin(), children.end());
  return children;
}

void RemoveUnexpected(const fs::path& dir, const std::set<fs::path>& expected) {
  for (const auto& item : fs::directory_iterator(dir)) {
    if (item.is_directory()) {
      RemoveUnexpected(item.path(), expected);
      if (fs::is_empty(item.path()) && !expected.contains(item.path())) fs::remove(item.path());
    } else if (!expected.contains(item.path())) {
      fs::remove(item.path());
    }
  }
}

}  // namespace

std::string Hex16(uint64_t value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text(16, '0');
  for (int i = 15; i >= 0; --i, value >>= 4) text[static_cast<size_t>(i)] = kHex[value & 0xf];
  return text;
}

uint64_t Fingerprint(const std::vector<CaseDigest>& cases) {
  std::string lines;
  for (const auto& digest : cases) {
    lines += digest.id;
    lines += '\t';
    lines += Hex16(digest.stdout_hash);
    lines += '\t';
    lines += std::to_string(digest.exit_code);
    lines += '\n';
  }
  return XXH3_64bits(lines.data(), lines.size());
}

std::vector<VersionDigest> ReadDigests(const fs::path& baselines, const std::string& output_type) {
  const fs::path type_dir = baselines / output_type;
  if (!fs::is_directory(type_dir)) {
    throw HarnessError(type_dir.string() + ": no baselines of this output type");
  }
  std::vector<VersionDigest> versions;
  for (const auto& version : BaselineVersions(baselines, output_type)) {
    VersionDigest digest;
    digest.version = version;
    for (const auto& stored : ReadBaselineCases(baselines, output_type, version)) {
      const std::string out = stored.ReadStdout();
      digest.cases.push_back(
          {stored.spec.Id(), XXH3_64bits(out.data(), out.size()), stored.expected_exit()});
    }
    std::sort(digest.cases.begin(), digest.cases.end(),
              [](const CaseDigest& a, const CaseDigest& b) { return a.id < b.id; });
    digest.fingerprint = Fingerprint(digest.cases);
    versions.push_back(std::move(digest));
  }
  return versions;
}

std::vector<Profile> GroupProfiles(const std::vector<VersionDigest>& versions) {
  // `versions` is ascending, so the order in which a fingerprint is first
  // seen is the order of the profiles' lowest versions.
  std::vector<Profile> profiles;
  std::map<uint64_t, size_t> index_of;
  for (const auto& version : versions) {
    auto [it, inserted] = index_of.emplace(version.fingerprint, profiles.size());
    if (inserted) {
      Profile profile;
      profile.fingerprint = version.fingerprint;
      profile.cases = version.cases.size();
      profiles.push_back(std::move(profile));
    }
    profiles[it->second].versions.push_back(version.version);
  }
  for (size_t i = 0; i < profiles.size(); ++i) {
    char name[32];
    (void)std::snprintf(name, sizeof(name), "profile-%02zu", i + 1);
    profiles[i].name = name;
  }
  return profiles;
}

OutputTypeProfiles WriteProfiles(const fs::path& baselines, const fs::path& out,
                                 const std::string& output_type) {
  std::vector<VersionDigest> versions = ReadDigests(baselines, output_type);
  OutputTypeProfiles result{output_type, GroupProfiles(versions)};
  const fs::path type_out = out / output_type;
  fs::create_directories(type_out);

  std::set<fs::path> expected;
  for (const auto& profile : result.profiles) {
    const std::string& lowest = profile.versions.front();
    const auto& digest = *std::find_if(versions.begin(), versions.end(),
                                       [&](const VersionDigest& v) { return v.version == lowest; });
    const fs::path profile_dir = type_out / profile.name;
    expected.insert(profile_dir);
    for (const auto& c : digest.cases) {
      const std::string bucket = c.id.substr(0, c.id.find('/'));
      const std::string name = c.id.substr(c.id.find('/') + 1);
      const fs::path src_dir = baselines / output_type / bucket / lowest;
      const fs::path dst_dir = ProfileDir(out, output_type, profile.name, bucket);
      fs::create_directories(dst_dir);
      expected.insert(dst_dir);
      CopyRecord(src_dir, dst_dir, name);
      for (auto& file : RecordFiles(dst_dir, name)) expected.insert(std::move(file));
    }
  }

  boost::json::object map;
  map["output-type"] = output_type;
  boost::json::object by_version;
  for (const auto& version : versions) {
    for (const auto& profile : result.profiles) {
      if (std::find(profile.versions.begin(), profile.versions.end(), version.version) !=
          profile.versions.end()) {
        by_version[version.version] = profile.name;
      }
    }
  }
  map["versions"] = std::move(by_version);
  boost::json::array profiles;
  for (const auto& profile : result.profiles) {
    boost::json::object entry;
    entry["name"] = profile.name;
    boost::json::array list;
    for (const auto& v : profile.versions) list.emplace_back(v);
    entry["versions"] = std::move(list);
    entry["fingerprint"] = Hex16(profile.fingerprint);
    entry["cases"] = profile.cases;
    profiles.emplace_back(std::move(entry));
  }
  map["profiles"] = std::move(profiles);
  const fs::path map_path = type_out / "version-map.json";
  WriteFileAtomic(map_path, WriteJson(map));
  expected.insert(map_path);

  // Stale profiles and files: everything under profiles/<type>/ is ours.
  RemoveUnexpected(type_out, expected);
  return result;
}

std::vector<std::string> ListOutputTypes(const fs::path& baselines) {
  if (!fs::is_directory(baselines)) throw HarnessError(baselines.string() + ": no such directory");
  std::vector<std::string> types;
  for (const auto& dir : SortedChildren(baselines, true)) types.push_back(dir.filename().string());
  return types;
}

std::string FormatProfileTable(const std::vector<OutputTypeProfiles>& all) {
  std::string text;
  for (const auto& type : all) {
    size_t versions = 0;
    for (const auto& p : type.profiles) versions += p.versions.size();
    text += type.output_type + ": " + std::to_string(type.profiles.size()) + " profile" +
            (type.profiles.size() == 1 ? "" : "s") + " over " + std::to_string(versions) +
            " version" + (versions == 1 ? "" : "s") + "\n";
    for (const auto& p : type.profiles) {
      std::string list;
      for (const auto& v : p.versions) list += (list.empty() ? "" : " ") + v;
      char line[64];
      (void)std::snprintf(line, sizeof(line), "  %-11s ", p.name.c_str());
      text +=
          line + list + "  (" + std::to_string(p.cases) + " cases, " + Hex16(p.fingerprint) + ")\n";
    }
  }
  return text;
}

}  // namespace instar::harness
