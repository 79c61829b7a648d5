// check's part of the harness: cases/check.json and the cases it plans.
//
//   {"command": "check", "image-cases": {"tiers": [...]}}
//
// A case is `check [--output=json] $TESTDATA_ROOT/<image>`, named by the
// image's id, in the bucket of the image's format (ImageCommandCases).
// Never -r: repairing writes, and the corpus is read-only. qemu-img's exit
// status is the finding (0 clean, 1 check could not complete, 2
// corruptions, 3 leaks only; 63 for a format that has no check), recorded
// like any other.
#include "harness/cases/case_file.h"

namespace instar::harness {

CommandSpec CheckCases() {
  CommandSpec spec = ImageCommandCases("check");
  spec.output_types = {{"check-human", {}}, {"check-json", {"--output=json"}}};
  return spec;
}

}  // namespace instar::harness
