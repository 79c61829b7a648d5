// The baseline tree: where a case's files live, what they contain, and when
// a case counts as recorded.
//
//   <out>/<output-type>/<bucket>/<version>/<case>.stdout.txt
//                                          <case>.stderr.txt
//                                          <case>.meta.json
//
// stdout.txt is the recorded step's stdout (the last step of a pipeline) and
// stderr.txt the step's stderr; a pipeline's stderr joins its steps under
// "---CREATE STDERR---"-style markers. Both are normalised (see normalise.h)
// before they are written. meta.json is written last and is the marker of a
// complete case: a case with all three files is recorded, anything less is
// redone by --resume. Its schema is in docs/harness.md.
#ifndef INSTAR_HARNESS_GENERATE_BASELINE_STORE_H_
#define INSTAR_HARNESS_GENERATE_BASELINE_STORE_H_

#include <filesystem>
#include <string>
#include <vector>

#include "harness/cases/case_model.h"
#include "harness/run/child.h"

namespace instar::harness {

inline constexpr std::string_view kStdoutSuffix = ".stdout.txt";
inline constexpr std::string_view kStderrSuffix = ".stderr.txt";
inline constexpr std::string_view kMetaSuffix = ".meta.json";

std::filesystem::path VersionDir(const std::filesystem::path& out, const CaseSpec& spec,
                                 const std::string& version);

// One step that ran, with its output already normalised.
struct StepRun {
  const StepSpec* step;
  ChildResult result;
};

struct CaseRecord {
  std::string stdout_text;
  std::string stderr_text;
  std::string meta_json;
};

// The stderr of a pipeline: each step's stderr under its marker line, a
// newline added where a step's stderr does not end in one. A single step's
// stderr is kept as it is.
std::string JoinStderr(const CaseSpec& spec, const std::vector<StepRun>& runs);

CaseRecord BuildRecord(const CaseSpec& spec, const std::string& version,
                       const std::vector<StepRun>& runs);

void WriteRecord(const std::filesystem::path& version_dir, const std::string& name,
                 const CaseRecord& record);

bool IsRecorded(const std::filesystem::path& version_dir, const std::string& name);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_GENERATE_BASELINE_STORE_H_
