// info's part of the harness: cases/info.json and the cases it plans.
//
//   {"command": "info", "image-cases": {"tiers": [...]}}
//
// A case is `info [--output=json] $TESTDATA_ROOT/<image>`, named by the
// image's id, in the bucket of the image's format (ImageCommandCases).
#include "harness/cases/case_file.h"

namespace instar::harness {

CommandSpec InfoCases() {
  CommandSpec spec = ImageCommandCases("info");
  spec.output_types = {{"info-human", {}}, {"info-json", {"--output=json"}}};
  return spec;
}

}  // namespace instar::harness
