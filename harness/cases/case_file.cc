#include "harness/cases/case_file.h"

#include <algorithm>
#include <set>

#include "harness/cases/names.h"
#include "harness/core/error.h"
#include "harness/core/json_schema.h"
#include "harness/core/words.h"
#include "harness/run/normalise.h"

namespace instar::harness {

namespace {

// Formats a case may target; "vhd" is spelt as instar spells it and
// translated for qemu-img by QemuFormatName.
const std::vector<std::string>& KnownTargets() {
  static const std::vector<std::string> targets = {"raw", "qcow2", "vmdk", "vhd", "vhdx"};
  return targets;
}

// "size-cases[3]", or "size-cases[3] \"1M-raw\"" once the name is readable.
Entry ListEntry(const std::string& file, const std::string& list, size_t index,
                const boost::json::value& value) {
  std::string where = list + "[" + std::to_string(index) + "]";
  if (value.is_object()) {
    auto it = value.get_object().find("case");
    if (it != value.get_object().end() && it->value().is_string()) {
      where += " \"" + std::string(it->value().get_string()) + "\"";
    }
  }
  return Entry(file, where);
}

SizedCase ParseSizedCase(const Entry& entry, const boost::json::value& value) {
  const auto& object = entry.AsObject(value);
  entry.CheckKeys(object, {"case", "size", "target", "options"});
  SizedCase sized;
  sized.name = entry.String(object, "case");
  if (!IsSafeName(sized.name)) {
    entry.Fail("bad case name (it must match [A-Za-z0-9_][A-Za-z0-9._-]*)");
  }
  sized.size = entry.String(object, "size");
  if (!ParseSizeString(sized.size)) {
    entry.Fail("bad size string \"" + sized.size + "\" (digits and an optional k/M/G/T/P/E)");
  }
  sized.target = entry.String(object, "target");
  if (!Contains(KnownTargets(), sized.target)) {
    entry.Fail("unknown target \"" + sized.target + "\" (known: " + JoinWords(KnownTargets()) +
               ")");
  }
  sized.options = entry.StringArray(object, "options");
  for (const auto& option : sized.options) {
    if (!IsOptionString(option)) {
      entry.Fail("bad option string \"" + option + "\" (it must be key=value[,key=value...])");
    }
  }
  return sized;
}

std::vector<SizedCase> ParseSizedCases(const std::string& file, const Entry& top,
                                       const boost::json::object& root, const char* key,
                                       const std::string& fixed_bucket) {
  const auto& array = top.Array(root, key);
  std::vector<SizedCase> cases;
  std::set<std::string> seen;  // bucket/name
  for (size_t i = 0; i < array.size(); ++i) {
    Entry entry = ListEntry(file, key, i, array[i]);
    SizedCase sized = ParseSizedCase(entry, array[i]);
    std::string bucket = fixed_bucket.empty() ? sized.target : fixed_bucket;
    if (!seen.insert(bucket + "/" + sized.name).second) {
      entry.Fail("duplicate case \"" + sized.name + "\" in bucket \"" + bucket + "\"");
    }
    cases.push_back(std::move(sized));
  }
  return cases;
}

ImageSelection ParseImageSelection(const std::string& file, const Entry& top,
                                   const boost::json::object& root, bool with_targets,
                                   const Manifest& manifest) {
  Entry entry(file, "image-cases");
  const auto& object = top.Object(root, "image-cases");
  if (with_targets) {
    entry.CheckKeys(object, {"targets"}, {"tiers"});
  } else {
    entry.CheckKeys(object, {}, {"tiers"});
  }
  ImageSelection selection;
  if (object.contains("tiers")) {
    selection.tiers = entry.StringArray(object, "tiers");
    if (selection.tiers->empty()) entry.Fail("\"tiers\" is empty (leave it out for every image)");
    for (const auto& tier : *selection.tiers) {
      bool present = std::any_of(manifest.images.begin(), manifest.images.end(),
                                 [&](const ManifestImage& image) { return image.tier == tier; });
      if (!present) entry.Fail("tier \"" + tier + "\" matches no image of the manifest");
    }
  }
  if (with_targets) {
    selection.targets = entry.StringArray(object, "targets");
    if (selection.targets.empty()) entry.Fail("\"targets\" is empty");
    std::set<std::string> seen;
    for (const auto& target : selection.targets) {
      if (!Contains(KnownTargets(), target)) {
        entry.Fail("unknown target \"" + target + "\" (known: " + JoinWords(KnownTargets()) + ")");
      }
      if (!seen.insert(target).second) entry.Fail("target \"" + target + "\" listed twice");
    }
  }
  return selection;
}

std::vector<const ManifestImage*> SelectImages(const Manifest& manifest,
                                               const ImageSelection& selection) {
  std::vector<const ManifestImage*> images;
  for (const auto& image : manifest.images) {
    if (!selection.tiers || Contains(*selection.tiers, image.tier)) images.push_back(&image);
  }
  return images;
}

boost::json::array ToJsonArray(const std::vector<std::string>& strings) {
  boost::json::array array;
  for (const auto& s : strings) array.emplace_back(s);
  return array;
}

std::string ImagePath(const ManifestImage& image) {
  return std::string(kTestdataPlaceholder) + "/" + image.files.front().name;
}

void AppendAll(std::vector<std::string>& to, const std::vector<std::string>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

void AppendOptions(std::vector<std::string>& argv, const std::vector<std::string>& options) {
  for (const auto& option : options) {
    argv.push_back("-o");
    argv.push_back(option);
  }
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

void PlanCreate(const CaseFile& file, const OutputTypeSpec& type, std::vector<CaseSpec>& out) {
  for (const auto& sized : file.sized_cases) {
    CaseSpec spec{file.command, type.name, sized.target, sized.name, {}, {}, type.filters};
    spec.parameters["target"] = sized.target;
    spec.parameters["format"] = QemuFormatName(sized.target);
    spec.parameters["size"] = sized.size;
    spec.parameters["options"] = ToJsonArray(sized.options);
    std::vector<std::string> create = {std::string(kBinaryWord), "create", "-f",
                                       QemuFormatName(sized.target)};
    AppendOptions(create, sized.options);
    create.push_back(std::string(kFilenamePlaceholder));
    create.push_back(sized.size);
    std::vector<std::string> info = {std::string(kBinaryWord), "info"};
    AppendAll(info, type.flags);
    info.push_back(std::string(kFilenamePlaceholder));
    spec.steps.push_back({"create", std::move(create)});
    spec.steps.push_back({"info", std::move(info)});
    out.push_back(std::move(spec));
  }
}

void PlanInfo(const CaseFile& file, const Manifest& manifest, const OutputTypeSpec& type,
              std::vector<CaseSpec>& out) {
  for (const ManifestImage* image : SelectImages(manifest, *file.images)) {
    CaseSpec spec{file.command, type.name, image->format, image->id, {}, {}, type.filters};
    spec.parameters["image"] = image->id;
    spec.parameters["format"] = image->format;
    std::vector<std::string> argv = {std::string(kBinaryWord), "info"};
    AppendAll(argv, type.flags);
    argv.push_back(ImagePath(*image));
    spec.steps.push_back({"info", std::move(argv)});
    out.push_back(std::move(spec));
  }
}

}  // namespace

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> commands = {
      {"measure", {{"measure-human", {}, {}}, {"measure-json", {"--output=json"}, {}}}},
      // qemu-img create draws the vmdk cid at random: without the filter no
      // two runs of a vmdk case would print the same.
      {"create", {{"create-info-json", {"--output=json"}, {std::string(kRandomCidFilter)}}}},
      {"info", {{"info-human", {}, {}}, {"info-json", {"--output=json"}, {}}}},
  };
  return commands;
}

const CommandSpec* FindCommand(std::string_view name) {
  for (const auto& command : Commands()) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

const OutputTypeSpec* FindOutputType(std::string_view name) {
  for (const auto& command : Commands()) {
    for (const auto& type : command.output_types) {
      if (type.name == name) return &type;
    }
  }
  return nullptr;
}

std::vector<std::string> SelectOutputTypes(const CommandSpec& command,
                                           const std::vector<std::string>& requested) {
  std::vector<std::string> known;
  for (const auto& type : command.output_types) known.push_back(type.name);
  for (const auto& type : requested) {
    if (!Contains(known, type)) {
      throw HarnessError("command " + command.name + " has no output type \"" + type +
                         "\" (it has " + JoinWords(known) + ")");
    }
  }
  return requested.empty() ? known : requested;
}

std::string QemuFormatName(std::string_view target) {
  if (target == "vhd") return "vpc";
  return std::string(target);
}

CaseFile ParseCaseFile(const std::filesystem::path& path, const Manifest& manifest) {
  const std::string file = path.string();
  Entry top(file, "");
  const boost::json::value document = ParseJsonFile(path);
  const auto& root = top.AsObject(document);
  if (!root.contains("command")) top.Fail("missing field \"command\"");
  CaseFile parsed;
  parsed.command = top.String(root, "command");
  if (parsed.command == "measure") {
    top.CheckKeys(root, {"command", "size-cases", "image-cases"}, {"description"});
    parsed.sized_cases = ParseSizedCases(file, top, root, "size-cases", "_size");
    parsed.images = ParseImageSelection(file, top, root, true, manifest);
  } else if (parsed.command == "create") {
    top.CheckKeys(root, {"command", "cases"}, {"description"});
    parsed.sized_cases = ParseSizedCases(file, top, root, "cases", "");
  } else if (parsed.command == "info") {
    top.CheckKeys(root, {"command", "image-cases"}, {"description"});
    parsed.images = ParseImageSelection(file, top, root, false, manifest);
  } else {
    top.Fail("unknown command \"" + parsed.command + "\" (known: measure, create, info)");
  }
  if (root.contains("description") && !root.at("description").is_string()) {
    top.Fail("\"description\" must be a string");
  }
  return parsed;
}

std::vector<CaseSpec> PlanCases(const CaseFile& file, const Manifest& manifest,
                                const std::vector<std::string>& output_types) {
  const CommandSpec* command = FindCommand(file.command);
  if (command == nullptr) throw HarnessError("unknown command \"" + file.command + "\"");
  std::vector<CaseSpec> cases;
  for (const auto& wanted : SelectOutputTypes(*command, output_types)) {
    auto type = std::find_if(command->output_types.begin(), command->output_types.end(),
                             [&](const OutputTypeSpec& t) { return t.name == wanted; });
    if (file.command == "measure") {
      PlanMeasure(file, manifest, *type, cases);
    } else if (file.command == "create") {
      PlanCreate(file, *type, cases);
    } else {
      PlanInfo(file, manifest, *type, cases);
    }
  }
  return cases;
}

}  // namespace instar::harness
