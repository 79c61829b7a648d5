// What conform compares against: the recorded cases of a profile
// (profiles/<type>/profile-NN/<bucket>/<case>.*) or of one version of a
// baseline tree (<baselines>/<type>/<bucket>/<version>/<case>.*), read by
// the baseline store (store/baseline_store.h), and the profiles of an
// output type from its version-map.json.
//
// A target is one column of the conformance grid: a profile (instar runs
// with --compat set to the profile's lowest version) or, when conform reads
// a baseline tree, one version. Bad or inconsistent files are one
// HarnessError line naming the file.
#ifndef INSTAR_HARNESS_CONFORM_CONFORM_CASES_H_
#define INSTAR_HARNESS_CONFORM_CONFORM_CASES_H_

#include <filesystem>
#include <string>
#include <vector>

#include "harness/store/baseline_store.h"

namespace instar::harness {

struct ProfileEntry {
  std::string name;                   // "profile-02"
  std::vector<std::string> versions;  // ascending
};

struct VersionMap {
  std::filesystem::path path;
  std::string output_type;
  std::vector<ProfileEntry> profiles;  // in file order (profile-01 first)
};

struct ConformTarget {
  std::string output_type;
  std::string name;                   // "profile-02", or "7.2.22" for a baseline tree
  std::vector<std::string> versions;  // the versions its baselines stand for
  std::string compat;                 // what instar gets as --compat: the lowest version
  bool is_profile = true;
  std::vector<StoredCase> cases;  // sorted by bucket, then name
};

VersionMap LoadVersionMap(const std::filesystem::path& path);

struct TargetSelection {
  std::filesystem::path profiles = "profiles";
  std::filesystem::path baselines;         // empty: use the profiles tree
  std::vector<std::string> profile_names;  // --profile
  std::vector<std::string> versions;       // --version
};

// The targets of one output type, in order, with their cases (not yet
// narrowed by --case). With a profiles tree: every profile, or those named
// and those holding a named version. With a baseline tree: every version in
// it, or those named and the versions of the named profiles.
std::vector<ConformTarget> SelectTargets(const std::string& output_type,
                                         const TargetSelection& selection);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CONFORM_CONFORM_CASES_H_
