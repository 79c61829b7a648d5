// Profiles: versions of qemu-img that print the same thing, grouped.
//
// Per output type, each version's fingerprint is XXH3-64 over its cases in
// sorted order, one line per case:
//   "<bucket>/<case>\t<xxh3-64 of stdout.txt, 16 hex digits>\t<exit code>\n"
// where the exit code is that of the last step run (from meta.json).
// Versions with equal fingerprints share a profile. Profiles are numbered
// from profile-01 in ascending order of their lowest version, so adding a
// newer version never renumbers the older ones.
//
// On disk, profiles/<output-type>/:
//   profile-NN/<bucket>/<case>.{stdout.txt,stderr.txt,meta.json}
//       one copy of each case, from the profile's lowest version
//   version-map.json
//       {"output-type", "versions": {version: profile}, "profiles": [{"name",
//        "versions", "fingerprint", "cases"}]}
// Writing is idempotent (same baselines, same bytes) and removes profile
// directories and files that no longer belong.
#ifndef INSTAR_HARNESS_PROFILES_PROFILES_H_
#define INSTAR_HARNESS_PROFILES_PROFILES_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace instar::harness {

struct CaseDigest {
  std::string id;  // bucket/case
  uint64_t stdout_hash = 0;
  int exit_code = 0;
};

struct VersionDigest {
  std::string version;
  std::vector<CaseDigest> cases;  // sorted by id
  uint64_t fingerprint = 0;
};

struct Profile {
  std::string name;                   // profile-01
  std::vector<std::string> versions;  // ascending
  uint64_t fingerprint = 0;
  size_t cases = 0;
};

struct OutputTypeProfiles {
  std::string output_type;
  std::vector<Profile> profiles;
};

// The fingerprint of a sorted list of case digests.
uint64_t Fingerprint(const std::vector<CaseDigest>& cases);
std::string Hex16(uint64_t value);

// Reads baselines/<output_type>/ into one digest per version (ascending).
std::vector<VersionDigest> ReadDigests(const std::filesystem::path& baselines,
                                       const std::string& output_type);

// Groups versions by fingerprint, numbered by lowest version.
std::vector<Profile> GroupProfiles(const std::vector<VersionDigest>& versions);

// Writes profiles/<output_type>/ from baselines/<output_type>/.
OutputTypeProfiles WriteProfiles(const std::filesystem::path& baselines,
                                 const std::filesystem::path& out, const std::string& output_type);

// The output types under `baselines` (its subdirectories), sorted.
std::vector<std::string> ListOutputTypes(const std::filesystem::path& baselines);

std::string FormatProfileTable(const std::vector<OutputTypeProfiles>& all);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_PROFILES_PROFILES_H_
