#include "harness/cases/dd_cases.h"

#include <set>

#include "harness/cases/case_file.h"
#include "harness/cases/names.h"
#include "harness/run/normalise.h"

namespace instar::harness {

namespace {

// Formats a dd case may read: what `qemu-img create` makes empty.
const std::set<std::string>& KnownInputs() {
  static const std::set<std::string> inputs = {"raw", "qcow2"};
  return inputs;
}

// Formats it may write, as `qemu-img dd -O` names them (vpc, not vhd).
const std::set<std::string>& KnownOutputs() {
  static const std::set<std::string> outputs = {"raw", "qcow2", "vmdk", "vpc", "vhdx"};
  return outputs;
}

bool AllDigits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

struct DdCase {
  std::string name;
  std::string input;
  std::string input_size;
  std::string target;
  std::vector<std::string> operands;
};

DdCase ParseDdCase(const Entry& entry, const boost::json::object& object) {
  entry.CheckKeys(object, {"case", "input", "input-size", "target", "operands"});
  DdCase dd;
  dd.name = entry.String(object, "case");
  CheckCaseName(entry, dd.name);
  dd.input = entry.String(object, "input");
  if (!KnownInputs().contains(dd.input)) {
    entry.Fail("unknown input \"" + dd.input + "\" (known: qcow2, raw)");
  }
  dd.input_size = entry.String(object, "input-size");
  CheckSize(entry, dd.input_size);
  dd.target = entry.String(object, "target");
  if (!KnownOutputs().contains(dd.target)) {
    entry.Fail("unknown target \"" + dd.target + "\" (known: qcow2, raw, vhdx, vmdk, vpc)");
  }
  dd.operands = entry.StringArray(object, "operands");
  if (const std::string error = CheckDdOperands(dd.operands); !error.empty()) entry.Fail(error);
  return dd;
}

void ReadDdFile(const CaseFileJson& json, CaseFile& file) {
  json.top.CheckKeys(json.root, {"command", "cases"}, {"description"});
  file.own = ReadCaseList(json, "cases", ParseDdCase, [](const DdCase& dd) { return dd.target; });
}

void PlanDd(const CaseFile& file, const Manifest& /*manifest*/, const OutputTypeSpec& type,
            std::vector<CaseSpec>& out) {
  for (const auto& dd : std::any_cast<const std::vector<DdCase>&>(file.own)) {
    const std::string& format = dd.target;
    CaseSpec spec{file.command, type.name, dd.target, dd.name, {}, {}, {}};
    if (dd.target == "vmdk") spec.filters = {std::string(kRandomCidFilter)};
    spec.parameters["input_format"] = dd.input;
    spec.parameters["input_size"] = dd.input_size;
    spec.parameters["target"] = dd.target;
    spec.parameters["format"] = format;
    spec.parameters["operands"] = ToJsonArray(dd.operands);
    spec.steps.push_back({"create", CreateArgv(dd.input, {}, DdInputPath(), dd.input_size)});
    spec.steps.push_back({"dd", DdArguments(dd.input, format, dd.operands)});
    spec.steps.push_back({"info", InfoArgv(type, std::string(kFilenamePlaceholder))});
    out.push_back(std::move(spec));
  }
}

void CheckDdParameters(const Entry& entry, const boost::json::object& parameters) {
  CheckParameterFields(entry, parameters,
                       {{"input_format"},
                        {"input_size"},
                        {"target"},
                        {"format"},
                        {"operands", ParameterKind::kStrings}});
}

}  // namespace

std::string DdInputPath() { return std::string(kFilenamePlaceholder) + ".in"; }

std::string CheckDdOperands(const std::vector<std::string>& operands) {
  std::set<std::string> keys;
  for (const auto& operand : operands) {
    const size_t equals = operand.find('=');
    const std::string key = operand.substr(0, equals);
    const std::string value = equals == std::string::npos ? "" : operand.substr(equals + 1);
    if (key != "bs" && key != "count" && key != "skip") {
      return "bad operand \"" + operand + "\" (bs=, count= or skip=; the harness adds if= and of=)";
    }
    const bool good = key == "bs" ? ParseSizeString(value).has_value() : AllDigits(value);
    if (!good) return "bad operand \"" + operand + "\" (" + key + "= takes a number)";
    if (!keys.insert(key).second) return "operand " + key + "= given twice";
  }
  return "";
}

std::vector<std::string> DdArguments(const std::string& input_format,
                                     const std::string& output_format,
                                     const std::vector<std::string>& operands) {
  std::vector<std::string> argv = {
      std::string(kBinaryWord), "dd", "-f", input_format, "-O", output_format};
  AppendAll(argv, operands);
  argv.push_back("if=" + DdInputPath());
  argv.push_back("of=" + std::string(kFilenamePlaceholder));
  return argv;
}

CommandSpec DdCases() {
  CommandSpec spec;
  spec.output_types = {{"dd-info-json", {"--output=json"}}};
  spec.steps = {"create", "dd", "info"};
  spec.read_case_file = ReadDdFile;
  spec.plan = PlanDd;
  spec.check_parameters = CheckDdParameters;
  return spec;
}

}  // namespace instar::harness
