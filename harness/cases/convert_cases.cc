// convert's part of the harness: cases/convert.json and the cases it plans.
//
//   {"command": "convert",
//    "image-cases": {"tiers": [...]},
//    "conversions": [{"case", "target", "args", "options", "images"?}...]}
//
// Each conversion of each selected image (or only of the images it lists
// by id) is a case named <image-id>__<conversion>, in the bucket of its
// target (the -O word: vpc for a vhd), a pipeline of three steps:
//
//   qemu-img convert ARGS -O T [-o O]... $TESTDATA_ROOT/<image> $FILENAME
//   qemu-img convert -f T -O raw $FILENAME $FILENAME.raw        ("read-back")
//   qemu-img info --output=json $FILENAME
//
// The case records info's JSON of the output and, in meta.json, the content
// digest of $FILENAME.raw: the output's guest-visible content read back
// through the same qemu-img (run/content_digest.h). ARGS are convert's
// options as typed (-c).
#include <set>
#include <string>
#include <vector>

#include "harness/cases/case_file.h"
#include "harness/core/words.h"
#include "harness/run/normalise.h"

namespace instar::harness {

namespace {

// The -O words a conversion may name.
const std::set<std::string>& KnownOutputs() {
  static const std::set<std::string> outputs = {"raw", "qcow2", "vmdk", "vpc", "vhdx"};
  return outputs;
}

struct Conversion {
  std::string name;
  std::string target;
  std::vector<std::string> args;
  std::vector<std::string> options;
  std::vector<std::string> images;  // ids; empty: every selected image
};

std::string ReadBackPath() { return std::string(kFilenamePlaceholder) + ".raw"; }

Conversion ParseConversion(const Entry& entry, const boost::json::object& object,
                           const Manifest& manifest) {
  entry.CheckKeys(object, {"case", "target", "args", "options"}, {"images"});
  Conversion conversion;
  conversion.name = entry.String(object, "case");
  CheckCaseName(entry, conversion.name);
  conversion.target = entry.String(object, "target");
  if (!KnownOutputs().contains(conversion.target)) {
    entry.Fail("unknown target \"" + conversion.target + "\" (known: qcow2, raw, vhdx, vmdk, vpc)");
  }
  conversion.args = entry.StringArray(object, "args");
  conversion.options = entry.StringArray(object, "options");
  CheckOptions(entry, conversion.options);
  if (object.contains("images")) {
    conversion.images = entry.StringArray(object, "images");
    if (conversion.images.empty()) entry.Fail("\"images\" is empty (leave it out for every image)");
    for (const auto& id : conversion.images) {
      if (manifest.Find(id) == nullptr)
        entry.Fail("\"" + id + "\" is not an image of the manifest");
    }
  }
  return conversion;
}

void ReadConvertFile(const CaseFileJson& json, CaseFile& file) {
  json.top.CheckKeys(json.root, {"command", "image-cases", "conversions"}, {"description"});
  file.images = ReadImageSelection(json, /*with_targets=*/false);
  file.own = ReadCaseList(
      json, "conversions",
      [&](const Entry& entry, const boost::json::object& object) {
        return ParseConversion(entry, object, json.manifest);
      },
      [](const Conversion&) { return std::string(); });
}

void PlanConvert(const CaseFile& file, const Manifest& manifest, const OutputTypeSpec& type,
                 std::vector<CaseSpec>& out) {
  const auto& conversions = std::any_cast<const std::vector<Conversion>&>(file.own);
  for (const ManifestImage* image : SelectImages(manifest, *file.images)) {
    for (const auto& conversion : conversions) {
      if (!conversion.images.empty() && !Contains(conversion.images, image->id)) continue;
      CaseSpec spec{
          file.command, type.name, conversion.target, image->id + "__" + conversion.name, {},
          {},           {}};
      if (conversion.target == "vmdk") spec.filters = {std::string(kRandomCidFilter)};
      spec.content_file = ReadBackPath();
      spec.parameters["image"] = image->id;
      spec.parameters["format"] = image->format;
      spec.parameters["target"] = conversion.target;
      spec.parameters["args"] = ToJsonArray(conversion.args);
      spec.parameters["options"] = ToJsonArray(conversion.options);
      std::vector<std::string> convert = {std::string(kBinaryWord), "convert"};
      AppendAll(convert, conversion.args);
      convert.insert(convert.end(), {"-O", conversion.target});
      AppendOptions(convert, conversion.options);
      convert.push_back(ImagePath(*image));
      convert.push_back(std::string(kFilenamePlaceholder));
      spec.steps.push_back({"convert", std::move(convert)});
      spec.steps.push_back({"read-back",
                            {std::string(kBinaryWord), "convert", "-f", conversion.target, "-O",
                             "raw", std::string(kFilenamePlaceholder), ReadBackPath()}});
      spec.steps.push_back({"info", InfoArgv(type, std::string(kFilenamePlaceholder))});
      out.push_back(std::move(spec));
    }
  }
}

void CheckConvertParameters(const Entry& entry, const boost::json::object& parameters) {
  CheckParameterFields(entry, parameters,
                       {{"image"},
                        {"format"},
                        {"target"},
                        {"args", ParameterKind::kStrings},
                        {"options", ParameterKind::kStrings}});
}

}  // namespace

CommandSpec ConvertCases() {
  CommandSpec spec;
  spec.output_types = {{"convert-info-json", {"--output=json"}}};
  spec.steps = {"convert", "read-back", "info"};
  spec.read_case_file = ReadConvertFile;
  spec.plan = PlanConvert;
  spec.check_parameters = CheckConvertParameters;
  return spec;
}

}  // namespace instar::harness
