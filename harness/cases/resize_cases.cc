#include "harness/cases/resize_cases.h"

#include <set>
#include <string>
#include <vector>

#include "harness/cases/case_file.h"
#include "harness/cases/names.h"
#include "harness/run/normalise.h"

namespace instar::harness {

namespace {

// The preallocation modes qemu-img resize takes.
const std::set<std::string>& KnownPreallocations() {
  static const std::set<std::string> modes = {"off", "metadata", "falloc", "full"};
  return modes;
}

struct ResizeCase {
  std::string name;
  std::string target;
  std::string start;
  std::string end;
  std::vector<std::string> options;
  std::optional<std::string> preallocation;  // nullopt: no --preallocation at all
  bool shrink_flag = false;                  // given or inferred
  uint64_t final_size = 0;
};

ResizeCase ParseResizeCase(const Entry& entry, const boost::json::object& object) {
  entry.CheckKeys(object, {"case", "target", "start", "end", "options"},
                  {"preallocation", "shrink-flag"});
  ResizeCase resize;
  resize.name = entry.String(object, "case");
  CheckCaseName(entry, resize.name);
  resize.target = entry.String(object, "target");
  CheckTarget(entry, resize.target);
  resize.start = entry.String(object, "start");
  CheckSize(entry, resize.start);
  resize.end = entry.String(object, "end");
  const std::optional<uint64_t> final_size = ExpectedFinalSize(resize.start, resize.end);
  if (!final_size) {
    entry.Fail("bad end \"" + resize.end + "\" (a size string, +size or -size, within 0..2^63-1)");
  }
  resize.final_size = *final_size;
  resize.options = entry.StringArray(object, "options");
  CheckOptions(entry, resize.options);
  if (object.contains("preallocation")) {
    resize.preallocation = entry.String(object, "preallocation");
    if (!KnownPreallocations().contains(*resize.preallocation)) {
      entry.Fail("unknown preallocation \"" + *resize.preallocation +
                 "\" (known: off, metadata, falloc, full)");
    }
  }
  resize.shrink_flag = object.contains("shrink-flag") ? entry.Bool(object, "shrink-flag")
                                                      : InferShrinkFlag(resize.start, resize.end);
  return resize;
}

void ReadResizeFile(const CaseFileJson& json, CaseFile& file) {
  json.top.CheckKeys(json.root, {"command", "cases"}, {"description"});
  file.own = ReadCaseList(json, "cases", ParseResizeCase,
                          [](const ResizeCase& resize) { return resize.target; });
}

void PlanResize(const CaseFile& file, const Manifest& /*manifest*/, const OutputTypeSpec& type,
                std::vector<CaseSpec>& out) {
  for (const auto& resize : std::any_cast<const std::vector<ResizeCase>&>(file.own)) {
    const std::string format = QemuFormatName(resize.target);
    CaseSpec spec{file.command, type.name, resize.target, resize.name, {}, {}, {}};
    if (resize.target == "vmdk") spec.filters = {std::string(kRandomCidFilter)};
    spec.parameters["target"] = resize.target;
    spec.parameters["format"] = format;
    spec.parameters["start_size_str"] = resize.start;
    spec.parameters["end_spec"] = resize.end;
    spec.parameters["options"] = ToJsonArray(resize.options);
    if (resize.preallocation) spec.parameters["prealloc"] = *resize.preallocation;
    spec.parameters["applied_shrink_flag"] = resize.shrink_flag;
    spec.parameters["expected_final_size"] = resize.final_size;

    std::vector<std::string> create =
        CreateArgv(format, resize.options, std::string(kFilenamePlaceholder), resize.start);
    std::vector<std::string> resize_argv = {std::string(kBinaryWord), "resize", "-f", format};
    if (resize.shrink_flag) resize_argv.push_back("--shrink");
    if (resize.preallocation) resize_argv.push_back("--preallocation=" + *resize.preallocation);
    resize_argv.push_back(std::string(kFilenamePlaceholder));
    resize_argv.push_back(resize.end);
    spec.steps.push_back({"create", std::move(create)});
    spec.steps.push_back({"resize", std::move(resize_argv)});
    spec.steps.push_back({"info", InfoArgv(type, std::string(kFilenamePlaceholder))});
    out.push_back(std::move(spec));
  }
}

void CheckResizeParameters(const Entry& entry, const boost::json::object& parameters) {
  CheckParameterFields(entry, parameters,
                       {{"target"},
                        {"format"},
                        {"start_size_str"},
                        {"end_spec"},
                        {"options", ParameterKind::kStrings},
                        {"prealloc", ParameterKind::kString, /*optional=*/true},
                        {"applied_shrink_flag", ParameterKind::kBool},
                        {"expected_final_size", ParameterKind::kUnsigned}});
}

}  // namespace

std::optional<uint64_t> ExpectedFinalSize(std::string_view start, std::string_view end) {
  const std::optional<uint64_t> start_size = ParseSizeString(start);
  if (!start_size || end.empty()) return std::nullopt;
  const char sign = end.front();
  if (sign != '+' && sign != '-') return ParseSizeString(end);
  const std::optional<uint64_t> delta = ParseSizeString(end.substr(1));
  if (!delta) return std::nullopt;
  if (sign == '-') {
    if (*delta > *start_size) return std::nullopt;
    return *start_size - *delta;
  }
  constexpr uint64_t kLimit = static_cast<uint64_t>(INT64_MAX);
  if (*delta > kLimit - *start_size) return std::nullopt;
  return *start_size + *delta;
}

bool InferShrinkFlag(std::string_view start, std::string_view end) {
  if (!end.empty() && end.front() == '-') return true;
  const std::optional<uint64_t> final_size = ExpectedFinalSize(start, end);
  return final_size && *final_size < *ParseSizeString(start);
}

CommandSpec ResizeCases() {
  CommandSpec spec;
  spec.output_types = {{"resize-info-json", {"--output=json"}}};
  spec.steps = {"create", "resize", "info"};
  spec.read_case_file = ReadResizeFile;
  spec.plan = PlanResize;
  spec.check_parameters = CheckResizeParameters;
  return spec;
}

}  // namespace instar::harness
