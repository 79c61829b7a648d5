// The case model: what one baseline is and how it is produced.
//
// A CaseSpec is fully planned before anything runs: its output type, bucket
// and name (which give its place in the baseline tree), the parameters that
// meta.json records, and the steps, each an argv template. Templates name the
// binary as "qemu-img" and paths only through placeholders:
//   $FILENAME       a scratch file of the case (created by a step)
//   $TESTDATA_ROOT  the materialised corpus directory
// The same words are what the recorded output uses for those paths, so a
// template is also the normalised argv written to meta.json. A runner
// (generate today, conform later) substitutes the binary and the real paths,
// runs the steps in order and stops at the first step that fails or times
// out.
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
  // Replace the vmdk cid that `qemu-img create` draws at random (see
  // docs/harness.md); set only where the image was created by this case.
  bool filter_random_cid = false;

  // "bucket/name": unique within an output type, the id profiles hash.
  std::string Id() const { return bucket + "/" + name; }
  bool UsesCorpus() const;
  bool UsesScratchFile() const;
};

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CASES_CASE_MODEL_H_
