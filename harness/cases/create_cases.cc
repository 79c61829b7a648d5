// create's part of the harness: cases/create.json and the cases it plans.
//
//   {"command": "create", "cases": [{"case", "size", "target", "options"}...]}
//
// A case is `create -f F [-o O]... $FILENAME S`, then `info --output=json
// $FILENAME`, in the bucket of its target.
#include "harness/cases/case_file.h"
#include "harness/run/normalise.h"

namespace instar::harness {

namespace {

void ReadCreateFile(const CaseFileJson& json, CaseFile& file) {
  json.top.CheckKeys(json.root, {"command", "cases"}, {"description"});
  file.sized_cases = ReadSizedCases(json, "cases", "");
}

void PlanCreate(const CaseFile& file, const Manifest& /*manifest*/, const OutputTypeSpec& type,
                std::vector<CaseSpec>& out) {
  for (const auto& sized : file.sized_cases) {
    CaseSpec spec{file.command, type.name, sized.target, sized.name, {}, {}, {}};
    // qemu-img create draws the vmdk cid at random: without the filter no
    // two runs of a vmdk case would print the same.
    if (sized.target == "vmdk") spec.filters = {std::string(kRandomCidFilter)};
    spec.parameters["target"] = sized.target;
    spec.parameters["format"] = QemuFormatName(sized.target);
    spec.parameters["size"] = sized.size;
    spec.parameters["options"] = ToJsonArray(sized.options);
    std::vector<std::string> create = CreateArgv(QemuFormatName(sized.target), sized.options,
                                                 std::string(kFilenamePlaceholder), sized.size);
    spec.steps.push_back({"create", std::move(create)});
    spec.steps.push_back({"info", InfoArgv(type, std::string(kFilenamePlaceholder))});
    out.push_back(std::move(spec));
  }
}

void CheckCreateParameters(const Entry& entry, const boost::json::object& parameters) {
  CheckParameterFields(entry, parameters,
                       {{"target"}, {"format"}, {"size"}, {"options", ParameterKind::kStrings}});
}

}  // namespace

CommandSpec CreateCases() {
  CommandSpec spec;
  spec.output_types = {{"create-info-json", {"--output=json"}}};
  spec.steps = {"create", "info"};
  spec.read_case_file = ReadCreateFile;
  spec.plan = PlanCreate;
  spec.check_parameters = CheckCreateParameters;
  return spec;
}

}  // namespace instar::harness
