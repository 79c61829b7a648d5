// map's part of the harness: cases/map.json and the cases it plans.
//
//   {"command": "map", "image-cases": {"tiers": [...]}}
//
// A case is `map [--output=json] $TESTDATA_ROOT/<image>`, named by the
// image's id, in the bucket of the image's format (ImageCommandCases): the
// extents of the whole image with their depth in the backing chain, as each
// version prints them.
#include "harness/cases/case_file.h"

namespace instar::harness {

CommandSpec MapCases() {
  CommandSpec spec = ImageCommandCases("map");
  spec.output_types = {{"map-human", {}}, {"map-json", {"--output=json"}}};
  return spec;
}

}  // namespace instar::harness
