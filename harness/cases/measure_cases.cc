// measure's part of the harness: cases/measure.json and the cases it plans.
//
//   {"command": "measure",
//    "size-cases": [{"case", "size", "target", "options"}...],
//    "image-cases": {"tiers": [...], "targets": [...]},
//    "image-variants": [{"case", "target", "options"}...],
//    "cli-cases": [{"case", "args"}...]}
//
// A size case is `measure [--output=json] --size S -O T [-o O]...` in the
// bucket _size; an image case `measure [--output=json] -O T
// $TESTDATA_ROOT/<image>` per image and target, named <image-id>__<target>
// in the bucket of the image's format; an image variant the same with
// creation options, `-O T -o O... $TESTDATA_ROOT/<image>` per image, named
// <image-id>__<case>, for measure-json only (the numbers; their human
// rendering the plain image cases record); a cli case `measure ARGS` as
// written, in the bucket _cli, for measure-human only.
//
// The cli cases are measure's command line itself: -o lists as qemu's
// option parser splits them (",,", a trailing comma, "help", "nocow"),
// every target name qemu-img knows or refuses, --size spellings each version
// parses differently. Most of them fail: the baseline is then the exit code
// (conform requires instar to fail too) and qemu-img's error line on stderr
// (recorded for readers; conform does not compare stderr). Their own bucket
// keeps `_size` the sized cases a size string and a target describe, and
// lets `--case '_cli/*'` run the front end alone. They are recorded in
// measure-human only: --output=json changes what a successful measure
// prints, not how ARGS are parsed, and every rendering a cli case could
// reach in JSON the size cases already record.
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "harness/cases/case_file.h"

namespace instar::harness {

namespace {

// The output type the cli cases are recorded for (see above).
constexpr std::string_view kCliOutputType = "measure-human";
// The output type the image variants are recorded for (see above).
constexpr std::string_view kVariantOutputType = "measure-json";

// An image case with creation options: every selected image measured as
// `-O target -o options...`, named <image-id>__<case>.
struct ImageVariant {
  std::string name;
  std::string target;
  std::vector<std::string> options;
};

std::vector<ImageVariant> ReadImageVariants(const CaseFileJson& json,
                                            const std::vector<std::string>& targets) {
  std::vector<ImageVariant> variants;
  std::set<std::string> names(targets.begin(), targets.end());
  ForEachListEntry(json, "image-variants", [&](const Entry& entry, const boost::json::object& o) {
    entry.CheckKeys(o, {"case", "target", "options"});
    ImageVariant variant{entry.String(o, "case"), entry.String(o, "target"),
                         entry.StringArray(o, "options")};
    CheckCaseName(entry, variant.name);
    CheckTarget(entry, variant.target);
    CheckOptions(entry, variant.options);
    if (variant.options.empty()) {
      entry.Fail("\"options\" is empty (a plain target belongs in \"targets\")");
    }
    if (!names.insert(variant.name).second) {
      entry.Fail("duplicate case \"" + variant.name + "\" (the targets' names are taken too)");
    }
    variants.push_back(std::move(variant));
  });
  return variants;
}

void ReadMeasureFile(const CaseFileJson& json, CaseFile& file) {
  json.top.CheckKeys(json.root, {"command", "size-cases", "image-cases"},
                     {"description", "cli-cases", "image-variants"});
  file.sized_cases = ReadSizedCases(json, "size-cases", "_size");
  file.images = ReadImageSelection(json, /*with_targets=*/true);
  if (json.root.contains("cli-cases")) file.cli_cases = ReadCliCases(json, "cli-cases");
  std::vector<ImageVariant> variants;
  if (json.root.contains("image-variants")) {
    variants = ReadImageVariants(json, file.images->targets);
  }
  file.own = std::move(variants);
}

CaseSpec ImageCase(const CaseFile& file, const OutputTypeSpec& type, const ManifestImage& image,
                   const std::string& name, const std::string& target,
                   const std::vector<std::string>& options) {
  CaseSpec spec{file.command, type.name, image.format, image.id + "__" + name, {}, {}, {}};
  spec.parameters["mode"] = "image";
  spec.parameters["image"] = image.id;
  spec.parameters["format"] = image.format;
  spec.parameters["target"] = target;
  if (!options.empty()) spec.parameters["options"] = ToJsonArray(options);
  std::vector<std::string> argv = {std::string(kBinaryWord), "measure"};
  AppendAll(argv, type.flags);
  argv.insert(argv.end(), {"-O", QemuFormatName(target)});
  AppendOptions(argv, options);
  argv.push_back(ImagePath(image));
  spec.steps.push_back({"measure", std::move(argv)});
  return spec;
}

void PlanMeasure(const CaseFile& file, const Manifest& manifest, const OutputTypeSpec& type,
                 std::vector<CaseSpec>& out) {
  for (const auto& sized : file.sized_cases) {
    CaseSpec spec{file.command, type.name, "_size", sized.name, {}, {}, {}};
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
  if (type.name == kCliOutputType) {
    for (const auto& cli : file.cli_cases) {
      CaseSpec spec{file.command, type.name, "_cli", cli.name, {}, {}, {}};
      spec.parameters["mode"] = "cli";
      spec.parameters["args"] = ToJsonArray(cli.args);
      std::vector<std::string> argv = {std::string(kBinaryWord), "measure"};
      AppendAll(argv, cli.args);
      spec.steps.push_back({"measure", std::move(argv)});
      out.push_back(std::move(spec));
    }
  }
  if (!file.images) return;
  for (const ManifestImage* image : SelectImages(manifest, *file.images)) {
    for (const auto& target : file.images->targets) {
      out.push_back(ImageCase(file, type, *image, target, target, {}));
    }
    if (type.name != kVariantOutputType) continue;
    for (const auto& variant : std::any_cast<const std::vector<ImageVariant>&>(file.own)) {
      out.push_back(ImageCase(file, type, *image, variant.name, variant.target, variant.options));
    }
  }
}

// The parameters of each mode, as PlanMeasure records them.
void CheckMeasureParameters(const Entry& entry, const boost::json::object& parameters) {
  if (!parameters.contains("mode")) entry.Fail("missing field \"mode\"");
  const std::string mode = entry.String(parameters, "mode");
  if (mode == "size") {
    CheckParameterFields(entry, parameters,
                         {{"mode"}, {"size"}, {"target"}, {"options", ParameterKind::kStrings}});
  } else if (mode == "image") {
    CheckParameterFields(
        entry, parameters,
        {{"mode"}, {"image"}, {"format"}, {"target"}, {"options", ParameterKind::kStrings, true}});
  } else if (mode == "cli") {
    // A cli case's arguments after `measure`, exactly as typed: `-o ""`
    // and `--size ""` are cases of their own.
    CheckParameterFields(entry, parameters, {{"mode"}, {"args", ParameterKind::kArguments}});
  } else {
    entry.Fail("unknown \"mode\" \"" + mode + "\" (known: size, image, cli)");
  }
}

}  // namespace

CommandSpec MeasureCases() {
  CommandSpec spec;
  spec.output_types = {{"measure-human", {}}, {"measure-json", {"--output=json"}}};
  spec.steps = {"measure"};
  spec.read_case_file = ReadMeasureFile;
  spec.plan = PlanMeasure;
  spec.check_parameters = CheckMeasureParameters;
  return spec;
}

}  // namespace instar::harness
