// What conform compares against: the recorded cases of a profile
// (profiles/<type>/profile-NN/<bucket>/<case>.*) or of one version of a
// baseline tree (<baselines>/<type>/<bucket>/<version>/<case>.*), read from
// their meta.json files, and the profiles of an output type from its
// version-map.json.
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

namespace instar::harness {

struct RecordedStep {
  std::string name;               // "measure"
  std::vector<std::string> argv;  // normalised: argv[0] is "qemu-img", paths are placeholders
  int exit_code = 0;
};

struct RecordedCase {
  std::string output_type;
  std::string bucket;
  std::string name;
  std::filesystem::path stem;  // <dir>/<name>; add ".stdout.txt" etc.
  std::vector<RecordedStep> steps;

  std::string Id() const { return bucket + "/" + name; }
  // The exit code of the last step that ran: what the case asserts.
  int expected_exit() const { return steps.back().exit_code; }
  bool UsesCorpus() const;
  bool UsesScratchFile() const;
};

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
  std::vector<RecordedCase> cases;  // sorted by Id()
};

VersionMap LoadVersionMap(const std::filesystem::path& path);

// Reads <stem>.meta.json and checks that it describes that case of that
// output type and bucket.
RecordedCase LoadRecordedCase(const std::filesystem::path& stem, const std::string& output_type,
                              const std::string& bucket);

// Every case (every *.meta.json) of profiles/<type>/<profile>/, sorted.
std::vector<RecordedCase> ListProfileCases(const std::filesystem::path& profiles,
                                           const std::string& output_type,
                                           const std::string& profile);
// Every case of <baselines>/<type>/*/<version>/, sorted.
std::vector<RecordedCase> ListBaselineCases(const std::filesystem::path& baselines,
                                            const std::string& output_type,
                                            const std::string& version);
// The versions that have a directory in some bucket of <baselines>/<type>/,
// in version order.
std::vector<std::string> ListBaselineVersions(const std::filesystem::path& baselines,
                                              const std::string& output_type);

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
