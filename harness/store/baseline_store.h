// The baseline store: the one writer and the one reader of recorded cases.
// Its on-disk format is written down in docs/baselines.md.
//
// A recorded case is three files in one directory:
//   <case>.stdout.txt  what the case printed on stdout (case_runner.h says
//                      which step's), rewritten and filtered
//   <case>.stderr.txt  the same for stderr, a pipeline's steps under markers
//   <case>.meta.json   the case, its parameters and every step that ran
// and two trees hold such directories:
//   baselines/<output-type>/<bucket>/<version>/  generate writes them
//   profiles/<output-type>/<profile>/<bucket>/   profiles copies a version's
//
// Writing: meta.json goes last and marks a complete case (IsRecorded); each
// file is written atomically, and not at all when it already holds the same
// bytes. Reading is strict: an unknown or missing key, a value of the wrong
// type, a meta.json that describes another case or a case without its
// stdout.txt or stderr.txt is one HarnessError line naming the file. The
// reader gives back the CaseSpec the case ran (its recorded steps and
// named filters), so conform runs the very steps that generate ran. Each
// command checks its own "parameters" (CommandSpec::check_parameters).
#ifndef INSTAR_HARNESS_STORE_BASELINE_STORE_H_
#define INSTAR_HARNESS_STORE_BASELINE_STORE_H_

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "harness/cases/case_model.h"
#include "harness/run/case_runner.h"

namespace instar::harness {

inline constexpr std::string_view kStdoutSuffix = ".stdout.txt";
inline constexpr std::string_view kStderrSuffix = ".stderr.txt";
inline constexpr std::string_view kMetaSuffix = ".meta.json";

// <root>/<output-type>/<bucket>/<version>: where generate records a case.
std::filesystem::path BaselineDir(const std::filesystem::path& root, const CaseSpec& spec,
                                  const std::string& version);
// <root>/<output-type>/<profile>/<bucket>: a profile's copy of a case.
std::filesystem::path ProfileDir(const std::filesystem::path& root, const std::string& output_type,
                                 const std::string& profile, const std::string& bucket);

// The three files of case `name` in `dir`.
std::vector<std::filesystem::path> RecordFiles(const std::filesystem::path& dir,
                                               const std::string& name);

// How one step that ran ended, as meta.json records it.
struct StepOutcome {
  int exit_code = 0;  // the exit status, or 128 + signal
  uint64_t stdout_bytes = 0;
  uint64_t stderr_bytes = 0;
  bool timed_out = false;

  bool operator==(const StepOutcome&) const = default;
};

// ---- Writing

struct CaseRecord {
  std::string stdout_text;
  std::string stderr_text;
  std::string meta_json;
};

// The meta.json of `spec` run by `version`, whose first outcomes.size()
// steps ran with these outcomes.
// `content_digest` is the digest of the case's content_file, when it has
// one and every step ran ("" otherwise).
std::string MetaJson(const CaseSpec& spec, const std::string& version,
                     const std::vector<StepOutcome>& outcomes,
                     const std::string& content_digest = "");

CaseRecord BuildRecord(const CaseSpec& spec, const std::string& version,
                       const std::vector<StepRun>& runs);

void WriteRecord(const std::filesystem::path& dir, const std::string& name,
                 const CaseRecord& record);

// All three files are there.
bool IsRecorded(const std::filesystem::path& dir, const std::string& name);

// Copies case `name` from one directory to another; a file that already
// holds the same bytes is left alone.
void CopyRecord(const std::filesystem::path& from_dir, const std::filesystem::path& to_dir,
                const std::string& name);

// Removes the files under <root>/<type>/*/<version>/ of the given types and
// versions that `keep` does not list, and the directories that leaves
// empty. Returns the number of files removed.
size_t PruneBaselines(const std::filesystem::path& root, const std::set<std::string>& types,
                      const std::set<std::string>& versions,
                      const std::set<std::filesystem::path>& keep);

// ---- Reading

struct StoredCase {
  // As it ran: its steps are those meta.json records (a pipeline stopped
  // early has fewer than its command plans), and its filters those it
  // names.
  CaseSpec spec;
  std::string version;                // meta.json's: the version that recorded it
  std::vector<StepOutcome> outcomes;  // one per step of spec
  std::string content_digest;         // "content"'s "digest"; empty when none was recorded
  std::filesystem::path stem;         // <dir>/<case>; add a suffix for a file

  // The exit code of the last step that ran: what the case asserts.
  int expected_exit() const { return outcomes.back().exit_code; }
  std::string ReadStdout() const;
  std::string ReadStderr() const;
};

// Reads <stem>.meta.json and checks that it describes that case of that
// output type and bucket.
StoredCase ReadStoredCase(const std::filesystem::path& stem, const std::string& output_type,
                          const std::string& bucket);

// Every case of <root>/<type>/*/<version>/, sorted by bucket, then name;
// each meta.json must name that version.
std::vector<StoredCase> ReadBaselineCases(const std::filesystem::path& root,
                                          const std::string& output_type,
                                          const std::string& version);
// Every case of <root>/<type>/<profile>/, sorted by bucket, then name.
std::vector<StoredCase> ReadProfileCases(const std::filesystem::path& root,
                                         const std::string& output_type,
                                         const std::string& profile);
// The versions that have a directory in some bucket of <root>/<type>/, in
// version order. A directory there that is not named X.Y.Z is an error.
std::vector<std::string> BaselineVersions(const std::filesystem::path& root,
                                          const std::string& output_type);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_STORE_BASELINE_STORE_H_
