// measure's part of the harness: cases/measure.json and the cases it plans.
//
//   {"command": "measure",
//    "size-cases": [{"case", "size", "target", "options"}...],
//    "image-cases": {"tiers": [...], "targets": [...]}}
//
// A size case is `measure [--output=json] --size S -O T [-o O]...` in the
// bucket _size; an image case `measure [--output=json] -O T
// $TESTDATA_ROOT/<image>` per image and target, named <image-id>__<target>
// in the bucket of the image's format.
#include "harness/cases/case_file.h"

namespace instar::harness {

namespace {

void ReadMeasureFile(const CaseFileJson& json, CaseFile& file) {
  json.top.CheckKeys(json.root, {"command", "size-cases", "image-cases"}, {"description"});
  file.sized_cases = ReadSizedCases(json, "size-cases", "_size");
  file.images = ReadImageSelection(json, /*with_targets=*/true);
}

void PlanMeasure(const CaseFile& file, const Manifest& manifest, const OutputTypeSpec& type,
                 std::vector<CaseSpec>& out) {
  for (const auto& sized : file.sized_cases) {
    CaseSpec spec{file.command, type.name, "_size", sized.name, {}, {}, type.filters};
    spec.parameters["mode"] = "size";
    spec.parameters["size"] = sized.size;
    spec.parameters["target"] = sized.target;
    spec.parameters["options"] = ToJsonArray(sized.options);
    std::vector<std::string> argv = {std::string(kBinaryWord), "measure"};
    AppendAll(argv, type.flags);
    argv.insert(argv.end(), {"--size", sized.size, "-O", QemuFormatName(sized.target)});
    AppendOptions(argv, sized.options);
    spec.steps.push_back({"measure", std::move(argv)});
    out.push_back(std::move(spec));
  }
  if (!file.images) return;
  for (const ManifestImage* image : SelectImages(manifest, *file.images)) {
    for (const auto& target : file.images->targets) {
      CaseSpec spec{file.command, type.name, image->format, image->id + "__" + target,
                    {},           {},        type.filters};
      spec.parameters["mode"] = "image";
      spec.parameters["image"] = image->id;
      spec.parameters["format"] = image->format;
      spec.parameters["target"] = target;
      std::vector<std::string> argv = {std::string(kBinaryWord), "measure"};
      AppendAll(argv, type.flags);
      argv.insert(argv.end(), {"-O", QemuFormatName(target), ImagePath(*image)});
      spec.steps.push_back({"measure", std::move(argv)});
      out.push_back(std::move(spec));
    }
  }
}

}  // namespace

CommandSpec MeasureCases() {
  CommandSpec spec;
  spec.output_types = {{"measure-human", {}, {}}, {"measure-json", {"--output=json"}, {}}};
  spec.steps = {"measure"};
  spec.read_case_file = ReadMeasureFile;
  spec.plan = PlanMeasure;
  return spec;
}

}  // namespace instar::harness
