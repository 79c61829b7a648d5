// amend's part of the harness: cases/amend.json and the cases it plans.
//
//   {"command": "amend",
//    "cases": [{"case", "target", "size", "options", "amend", "backing"?}...]}
//
// A case is a pipeline in the bucket of its target:
//
//   qemu-img create -f F $FILENAME.base SIZE                 (with "backing": true)
//   qemu-img create -f F [-o O]... [-b $FILENAME.base -F F] $FILENAME SIZE
//   qemu-img amend -f F -o A... $FILENAME
//   qemu-img info --output=json $FILENAME
//
// "options" are the create step's -o, "amend" the amend step's (each one -o).
// What qemu-img refuses to change (a cluster size, a downgrade it cannot
// make) is recorded like any other outcome.
#include <set>
#include <string>
#include <vector>

#include "harness/cases/case_file.h"
#include "harness/cases/names.h"

namespace instar::harness {

namespace {

struct AmendCase {
  std::string name;
  std::string target;
  std::string size;
  std::vector<std::string> options;
  std::vector<std::string> amend;
  bool backing = false;
};

std::string BackingPath() { return std::string(kFilenamePlaceholder) + ".base"; }

AmendCase ParseAmendCase(const Entry& entry, const boost::json::object& object) {
  entry.CheckKeys(object, {"case", "target", "size", "options", "amend"}, {"backing"});
  AmendCase amend;
  amend.name = entry.String(object, "case");
  CheckCaseName(entry, amend.name);
  amend.target = entry.String(object, "target");
  CheckTarget(entry, amend.target);
  amend.size = entry.String(object, "size");
  CheckSize(entry, amend.size);
  amend.options = entry.StringArray(object, "options");
  CheckOptions(entry, amend.options);
  amend.amend = entry.StringArray(object, "amend");
  if (amend.amend.empty()) entry.Fail("\"amend\" is empty (qemu-img amend needs -o)");
  CheckOptions(entry, amend.amend);
  if (object.contains("backing")) amend.backing = entry.Bool(object, "backing");
  return amend;
}

void ReadAmendFile(const CaseFileJson& json, CaseFile& file) {
  json.top.CheckKeys(json.root, {"command", "cases"}, {"description"});
  file.own = ReadCaseList(json, "cases", ParseAmendCase,
                          [](const AmendCase& amend) { return amend.target; });
}

void PlanAmend(const CaseFile& file, const Manifest& /*manifest*/, const OutputTypeSpec& type,
               std::vector<CaseSpec>& out) {
  for (const auto& amend : std::any_cast<const std::vector<AmendCase>&>(file.own)) {
    const std::string format = QemuFormatName(amend.target);
    CaseSpec spec{file.command, type.name, amend.target, amend.name, {}, {}, {}};
    spec.parameters["target"] = amend.target;
    spec.parameters["format"] = format;
    spec.parameters["size"] = amend.size;
    spec.parameters["options"] = ToJsonArray(amend.options);
    spec.parameters["amend_options"] = ToJsonArray(amend.amend);
    spec.parameters["backing"] = amend.backing;

    if (amend.backing) {
      spec.steps.push_back({"backing", CreateArgv(format, {}, BackingPath(), amend.size)});
    }
    std::vector<std::string> create = {std::string(kBinaryWord), "create", "-f", format};
    AppendOptions(create, amend.options);
    if (amend.backing) create.insert(create.end(), {"-b", BackingPath(), "-F", format});
    create.push_back(std::string(kFilenamePlaceholder));
    create.push_back(amend.size);
    std::vector<std::string> amend_argv = {std::string(kBinaryWord), "amend", "-f", format};
    AppendOptions(amend_argv, amend.amend);
    amend_argv.push_back(std::string(kFilenamePlaceholder));
    spec.steps.push_back({"create", std::move(create)});
    spec.steps.push_back({"amend", std::move(amend_argv)});
    spec.steps.push_back({"info", InfoArgv(type, std::string(kFilenamePlaceholder))});
    out.push_back(std::move(spec));
  }
}

void CheckAmendParameters(const Entry& entry, const boost::json::object& parameters) {
  CheckParameterFields(entry, parameters,
                       {{"target"},
                        {"format"},
                        {"size"},
                        {"options", ParameterKind::kStrings},
                        {"amend_options", ParameterKind::kStrings},
                        {"backing", ParameterKind::kBool}});
}

}  // namespace

CommandSpec AmendCases() {
  CommandSpec spec;
  spec.output_types = {{"amend-info-json", {"--output=json"}}};
  spec.steps = {"backing", "create", "amend", "info"};
  spec.read_case_file = ReadAmendFile;
  spec.plan = PlanAmend;
  spec.check_parameters = CheckAmendParameters;
  return spec;
}

}  // namespace instar::harness
