#include "harness/cases/case_file.h"

#include <algorithm>
#include <set>

#include "harness/cases/names.h"
#include "harness/core/error.h"
#include "harness/core/json_schema.h"
#include "harness/core/words.h"

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

SizedCase ParseSizedCase(const Entry& entry, const boost::json::object& object) {
  entry.CheckKeys(object, {"case", "size", "target", "options"});
  SizedCase sized;
  sized.name = entry.String(object, "case");
  CheckCaseName(entry, sized.name);
  sized.size = entry.String(object, "size");
  CheckSize(entry, sized.size);
  sized.target = entry.String(object, "target");
  CheckTarget(entry, sized.target);
  sized.options = entry.StringArray(object, "options");
  CheckOptions(entry, sized.options);
  return sized;
}

}  // namespace

void CheckCaseName(const Entry& entry, const std::string& name) {
  if (!IsSafeName(name)) entry.Fail("bad case name (it must match [A-Za-z0-9_][A-Za-z0-9._-]*)");
}

void CheckSize(const Entry& entry, const std::string& size) {
  if (!ParseSizeString(size)) {
    entry.Fail("bad size string \"" + size + "\" (digits and an optional b/k/M/G/T/P/E)");
  }
}

std::string DuplicateCase(const std::string& name, const std::string& bucket) {
  std::string message = "duplicate case \"" + name + "\"";
  if (!bucket.empty()) message += " in bucket \"" + bucket + "\"";
  return message;
}

std::vector<std::string> CreateArgv(const std::string& format,
                                    const std::vector<std::string>& options,
                                    const std::string& path, const std::string& size) {
  std::vector<std::string> argv = {std::string(kBinaryWord), "create", "-f", format};
  AppendOptions(argv, options);
  argv.push_back(path);
  argv.push_back(size);
  return argv;
}

std::vector<std::string> InfoArgv(const OutputTypeSpec& type, const std::string& path) {
  std::vector<std::string> argv = {std::string(kBinaryWord), "info"};
  AppendAll(argv, type.flags);
  argv.push_back(path);
  return argv;
}

void CheckTarget(const Entry& entry, const std::string& target) {
  if (!Contains(KnownTargets(), target)) {
    entry.Fail("unknown target \"" + target + "\" (known: " + JoinWords(KnownTargets()) + ")");
  }
}

void CheckOptions(const Entry& entry, const std::vector<std::string>& options) {
  for (const auto& option : options) {
    if (!IsOptionString(option)) {
      entry.Fail("bad option string \"" + option + "\" (it must be key=value[,key=value...])");
    }
  }
}

void ForEachListEntry(const CaseFileJson& json, const char* key,
                      const std::function<void(const Entry&, const boost::json::object&)>& read) {
  const auto& array = json.top.Array(json.root, key);
  for (size_t i = 0; i < array.size(); ++i) {
    const Entry entry = ListEntry(json.file, key, i, array[i]);
    read(entry, entry.AsObject(array[i]));
  }
}

void CheckParameterFields(const Entry& entry, const boost::json::object& parameters,
                          std::initializer_list<ParameterField> fields) {
  for (const auto& member : parameters) {
    const std::string_view key(member.key().data(), member.key().size());
    if (std::none_of(fields.begin(), fields.end(),
                     [&](const ParameterField& field) { return field.key == key; })) {
      entry.Fail("unknown key \"" + std::string(key) + "\"");
    }
  }
  for (const auto& field : fields) {
    if (!parameters.contains(field.key)) {
      if (field.optional) continue;
      entry.Fail("missing field \"" + std::string(field.key) + "\"");
    }
    switch (field.kind) {
      case ParameterKind::kString:
        (void)entry.String(parameters, field.key);
        break;
      case ParameterKind::kStrings:
        (void)entry.StringArray(parameters, field.key);
        break;
      case ParameterKind::kArguments:
        if (entry.ArgumentArray(parameters, field.key).empty()) {
          entry.Fail("\"" + std::string(field.key) + "\" is empty");
        }
        break;
      case ParameterKind::kBool:
        (void)entry.Bool(parameters, field.key);
        break;
      case ParameterKind::kUnsigned:
        (void)entry.Unsigned(parameters, field.key);
        break;
    }
  }
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
  const CommandSpec* command = FindCommand(parsed.command);
  if (command == nullptr) {
    top.Fail("unknown command \"" + parsed.command + "\" (known: " + JoinWords(CommandNames()) +
             ")");
  }
  command->read_case_file(CaseFileJson{file, top, root, manifest}, parsed);
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
    command->plan(file, manifest, *type, cases);
  }
  return cases;
}

std::vector<SizedCase> ReadSizedCases(const CaseFileJson& json, const char* key,
                                      const std::string& fixed_bucket) {
  return ReadCaseList(
      json, key,
      [](const Entry& entry, const boost::json::object& object) {
        return ParseSizedCase(entry, object);
      },
      [&](const SizedCase& sized) { return fixed_bucket.empty() ? sized.target : fixed_bucket; });
}

std::vector<CliCase> ReadCliCases(const CaseFileJson& json, const char* key) {
  const auto& array = json.top.Array(json.root, key);
  std::vector<CliCase> cases;
  std::set<std::string> names;
  std::set<std::vector<std::string>> arg_lists;
  for (size_t i = 0; i < array.size(); ++i) {
    Entry entry = ListEntry(json.file, key, i, array[i]);
    const auto& object = entry.AsObject(array[i]);
    entry.CheckKeys(object, {"case", "args"});
    CliCase cli;
    cli.name = entry.String(object, "case");
    CheckCaseName(entry, cli.name);
    cli.args = entry.ArgumentArray(object, "args");
    if (cli.args.empty()) entry.Fail("\"args\" is empty");
    for (const auto& arg : cli.args) {
      if (arg.starts_with("--output")) {
        entry.Fail("\"args\" has \"" + arg + "\" (the output type chooses the output format)");
      }
    }
    if (!names.insert(cli.name).second) entry.Fail("duplicate case \"" + cli.name + "\"");
    if (!arg_lists.insert(cli.args).second) entry.Fail("the same \"args\" as an earlier case");
    cases.push_back(std::move(cli));
  }
  return cases;
}

ImageSelection ReadImageSelection(const CaseFileJson& json, bool with_targets) {
  Entry entry(json.file, "image-cases");
  const auto& object = json.top.Object(json.root, "image-cases");
  if (with_targets) {
    entry.CheckKeys(object, {"targets"}, {"tiers", "exclude"});
  } else {
    entry.CheckKeys(object, {}, {"tiers", "exclude"});
  }
  ImageSelection selection;
  if (object.contains("tiers")) {
    selection.tiers = entry.StringArray(object, "tiers");
    if (selection.tiers->empty()) entry.Fail("\"tiers\" is empty (leave it out for every image)");
    for (const auto& tier : *selection.tiers) {
      bool present = std::any_of(json.manifest.images.begin(), json.manifest.images.end(),
                                 [&](const ManifestImage& image) { return image.tier == tier; });
      if (!present) entry.Fail("tier \"" + tier + "\" matches no image of the manifest");
    }
  }
  if (object.contains("exclude")) {
    const auto& array = entry.Array(object, "exclude");
    std::set<std::string> seen;
    for (size_t i = 0; i < array.size(); ++i) {
      const Entry excluded = entry.Nested("exclude[" + std::to_string(i) + "]");
      const auto& item = excluded.AsObject(array[i]);
      excluded.CheckKeys(item, {"image", "reason"});
      ExcludedImage image{excluded.String(item, "image"), excluded.String(item, "reason")};
      auto found = std::find_if(json.manifest.images.begin(), json.manifest.images.end(),
                                [&](const ManifestImage& m) { return m.id == image.image; });
      if (found == json.manifest.images.end()) {
        excluded.Fail("image \"" + image.image + "\" is not in the manifest");
      }
      if (selection.tiers && !Contains(*selection.tiers, found->tier)) {
        excluded.Fail("image \"" + image.image + "\" is of the tier \"" + found->tier +
                      "\", which \"tiers\" does not select");
      }
      if (!seen.insert(image.image).second) {
        excluded.Fail("image \"" + image.image + "\" excluded twice");
      }
      selection.excluded.push_back(std::move(image));
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
    if (selection.tiers && !Contains(*selection.tiers, image.tier)) continue;
    const bool excluded = std::any_of(selection.excluded.begin(), selection.excluded.end(),
                                      [&](const ExcludedImage& e) { return e.image == image.id; });
    if (!excluded) images.push_back(&image);
  }
  return images;
}

namespace {

void ReadImageCommandFile(const CaseFileJson& json, CaseFile& file) {
  json.top.CheckKeys(json.root, {"command", "image-cases"}, {"description"});
  file.images = ReadImageSelection(json, /*with_targets=*/false);
}

void PlanImageCommand(const CaseFile& file, const Manifest& manifest, const OutputTypeSpec& type,
                      std::vector<CaseSpec>& out) {
  for (const ManifestImage* image : SelectImages(manifest, *file.images)) {
    CaseSpec spec{file.command, type.name, image->format, image->id, {}, {}, {}};
    spec.parameters["image"] = image->id;
    spec.parameters["format"] = image->format;
    std::vector<std::string> argv = {std::string(kBinaryWord), file.command};
    AppendAll(argv, type.flags);
    argv.push_back(ImagePath(*image));
    spec.steps.push_back({file.command, std::move(argv)});
    out.push_back(std::move(spec));
  }
}

void CheckImageCommandParameters(const Entry& entry, const boost::json::object& parameters) {
  CheckParameterFields(entry, parameters, {{"image"}, {"format"}});
}

}  // namespace

CommandSpec ImageCommandCases(const std::string& step) {
  CommandSpec spec;
  spec.steps = {step};
  spec.read_case_file = ReadImageCommandFile;
  spec.plan = PlanImageCommand;
  spec.check_parameters = CheckImageCommandParameters;
  return spec;
}

std::string ImagePath(const ManifestImage& image) {
  return std::string(kTestdataPlaceholder) + "/" + image.files.front().name;
}

boost::json::array ToJsonArray(const std::vector<std::string>& strings) {
  boost::json::array array;
  for (const auto& s : strings) array.emplace_back(s);
  return array;
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

}  // namespace instar::harness
