// info's part of the harness: cases/info.json and the cases it plans.
//
//   {"command": "info", "image-cases": {"tiers": [...]}}
//
// A case is `info [--output=json] $TESTDATA_ROOT/<image>`, named by the
// image's id, in the bucket of the image's format.
#include "harness/cases/case_file.h"

namespace instar::harness {

namespace {

void ReadInfoFile(const CaseFileJson& json, CaseFile& file) {
  json.top.CheckKeys(json.root, {"command", "image-cases"}, {"description"});
  file.images = ReadImageSelection(json, /*with_targets=*/false);
}

void PlanInfo(const CaseFile& file, const Manifest& manifest, const OutputTypeSpec& type,
              std::vector<CaseSpec>& out) {
  for (const ManifestImage* image : SelectImages(manifest, *file.images)) {
    CaseSpec spec{file.command, type.name, image->format, image->id, {}, {}, {}};
    spec.parameters["image"] = image->id;
    spec.parameters["format"] = image->format;
    std::vector<std::string> argv = {std::string(kBinaryWord), "info"};
    AppendAll(argv, type.flags);
    argv.push_back(ImagePath(*image));
    spec.steps.push_back({"info", std::move(argv)});
    out.push_back(std::move(spec));
  }
}

void CheckInfoParameters(const Entry& entry, const boost::json::object& parameters) {
  CheckParameterFields(entry, parameters, {{"image"}, {"format"}});
}

}  // namespace

CommandSpec InfoCases() {
  CommandSpec spec;
  spec.output_types = {{"info-human", {}}, {"info-json", {"--output=json"}}};
  spec.steps = {"info"};
  spec.read_case_file = ReadInfoFile;
  spec.plan = PlanInfo;
  spec.check_parameters = CheckInfoParameters;
  return spec;
}

}  // namespace instar::harness
