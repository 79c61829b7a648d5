// Case files: cases/<command>.json, one per command the harness generates.
//
// They are data with a strict schema (docs/harness.md, "Case files"): an
// unknown key, a missing field, a value of the wrong type, a bad case name,
// size or option string, a duplicate case or an unknown target or tier is
// one HarnessError line naming the file and the entry. ParseCaseFile checks;
// PlanCases turns a checked file into CaseSpecs, one per case and output type.
//
//   measure.json  {"command": "measure",
//                  "size-cases": [{"case", "size", "target", "options"}...],
//                  "image-cases": {"tiers": [...], "targets": [...]}}
//   create.json   {"command": "create",
//                  "cases": [{"case", "size", "target", "options"}...]}
//   info.json     {"command": "info", "image-cases": {"tiers": [...]}}
//
// "tiers" may be left out of image-cases to select every corpus image.
#ifndef INSTAR_HARNESS_CASES_CASE_FILE_H_
#define INSTAR_HARNESS_CASES_CASE_FILE_H_

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/cases/case_model.h"
#include "harness/cases/manifest.h"

namespace instar::harness {

struct OutputTypeSpec {
  std::string name;                // "measure-json"
  std::vector<std::string> flags;  // added to the step that prints: {"--output=json"}
  // The output filters (run/normalise.h) of every case of this type, by
  // name, on both sides: what generate records and what conform compares.
  std::vector<std::string> filters;
};

struct CommandSpec {
  std::string name;
  std::vector<OutputTypeSpec> output_types;
};

// measure, create, info.
const std::vector<CommandSpec>& Commands();
const CommandSpec* FindCommand(std::string_view name);
// The output type of that name of any command; null when there is none.
const OutputTypeSpec* FindOutputType(std::string_view name);

// `requested` checked against the command's output types, or all of them
// when it is empty. Throws HarnessError naming those the command has.
std::vector<std::string> SelectOutputTypes(const CommandSpec& command,
                                           const std::vector<std::string>& requested);

// The -f word qemu-img wants for a target: the bucket "vhd" is qemu's "vpc".
std::string QemuFormatName(std::string_view target);

struct SizedCase {
  std::string name;
  std::string size;
  std::string target;
  std::vector<std::string> options;  // each passed as one -o
};

struct ImageSelection {
  std::optional<std::vector<std::string>> tiers;  // nullopt: every image
  std::vector<std::string> targets;               // measure only
};

struct CaseFile {
  std::string command;
  std::vector<SizedCase> sized_cases;  // measure "size-cases", create "cases"
  std::optional<ImageSelection> images;
};

CaseFile ParseCaseFile(const std::filesystem::path& path, const Manifest& manifest);

// Plans every case of `file` for each of `output_types` (names from the
// command's CommandSpec; all of them when empty), output type by output
// type, in file order.
std::vector<CaseSpec> PlanCases(const CaseFile& file, const Manifest& manifest,
                                const std::vector<std::string>& output_types);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CASES_CASE_FILE_H_
