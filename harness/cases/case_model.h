// The case model: what one baseline is and how it is produced.
//
// A CaseSpec is fully planned before anything runs: its output type, bucket
// and name (which give its place in the baseline tree), the parameters that
// meta.json records, the steps, each an argv template, and the names of the
// output filters its outputs go through. Templates name the binary as
// "qemu-img" and paths only through placeholders:
//   $FILENAME       a scratch file of the case (created by a step)
//   $TESTDATA_ROOT  the materialised corpus directory
// The same words are what the recorded output uses for those paths, so a
// template is also the normalised argv written to meta.json. The case runner
// (run/case_runner.h) substitutes the binary (qemu-img of a version for
// generate, `instar --compat V` for conform) and the real paths, runs the
// steps in order and stops at the first step that fails or times out.
//
// Generate gets its CaseSpecs from the planner (case_file.h), conform from
// the baseline store (store/baseline_store.h); both runs are the same steps.
#ifndef INSTAR_HARNESS_CASES_CASE_MODEL_H_
#define INSTAR_HARNESS_CASES_CASE_MODEL_H_

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

namespace instar::harness {

inline constexpr std::string_view kBinaryWord = "qemu-img";
inline constexpr std::string_view kFilenamePlaceholder = "$FILENAME";
inline constexpr std::string_view kTestdataPlaceholder = "$TESTDATA_ROOT";

struct StepSpec {
  std::string name;               // "measure", "create", "info"
  std::vector<std::string> argv;  // argv[0] is kBinaryWord
};

struct CaseSpec {
  std::string command;      // the case file it came from: "measure"
  std::string output_type;  // "measure-json"
  std::string bucket;       // "_size", "qcow2", ...
  std::string name;         // "1G-qcow2-default", "qcow2-v2__raw"
  boost::json::object parameters;
  std::vector<StepSpec> steps;
  // Output filters (run/normalise.h) every step's stdout and stderr go
  // through, by name: the planner's choice for the case ("random-cid" for
  // a vmdk create case), recorded in meta.json.
  std::vector<std::string> filters;
  // A placeholder path ("$FILENAME.raw") whose content digest
  // (run/content_digest.h) the case records once every step has run; empty
  // for none. convert's cases read their output back as raw into it.
  std::string content_file = {};

  // "bucket/name": unique within an output type, the id profiles hash.
  std::string Id() const { return bucket + "/" + name; }
  bool UsesCorpus() const;
  bool UsesScratchFile() const;
  // Whether the name or the id matches one of `globs` (fnmatch), as
  // --case selects cases; true when there are none.
  bool MatchesAnyGlob(const std::vector<std::string>& globs) const;
};

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CASES_CASE_MODEL_H_
