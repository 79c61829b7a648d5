// The harness's command table: the project's command table
// (instar/guest/command_table.h), each entry joined with the command's own
// part of the harness, <Name>Cases() in cases/<name>_cases.cc: its output
// types, the steps of its cases, how its case file reads and how its cases
// are planned (case_file.h has the helpers those use).
//
// generate takes any command of it, conform those instar implements, and
// `instar-harness commands` prints it for the Makefile and ci/nightly.
#ifndef INSTAR_HARNESS_CASES_COMMANDS_H_
#define INSTAR_HARNESS_CASES_COMMANDS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "instar/guest/command_table.h"

namespace instar::harness {

class Entry;
struct CaseFile;
struct CaseFileJson;
struct CaseSpec;
struct Manifest;

struct OutputTypeSpec {
  std::string name;                // "measure-json"
  std::vector<std::string> flags;  // added to the step that prints: {"--output=json"}
};

struct CommandSpec {
  // From the command table.
  std::string name;                   // "create"; its case file is cases/<name>.json
  uint32_t operation = kNoOperation;  // instar's abi::Operation for it

  // From <Name>Cases().
  std::vector<OutputTypeSpec> output_types;
  // The steps of its cases, in order: {"create", "info"}. Every case has
  // the last one; a case may leave out others (amend's "backing").
  std::vector<std::string> steps;
  // Checks the top-level keys of the command's case file and reads its
  // cases into `file` (ParseCaseFile has read "command").
  void (*read_case_file)(const CaseFileJson& json, CaseFile& file) = nullptr;
  // Appends the cases of `file` of one output type, in file order.
  // Each case names its own output filters (run/normalise.h), which
  // meta.json records.
  void (*plan)(const CaseFile& file, const Manifest& manifest, const OutputTypeSpec& type,
               std::vector<CaseSpec>& out) = nullptr;
  // Checks the "parameters" of one of the command's meta.json, as the
  // store's reader finds them: the keys its planner records, each of its
  // type (CheckParameterFields in case_file.h does the work).
  void (*check_parameters)(const Entry& entry, const boost::json::object& parameters) = nullptr;

  // Whether instar runs the command, so that conform can.
  bool implemented() const { return operation != kNoOperation; }
};

// Each command's own part, in its own file: CommandSpec <Name>Cases(), with
// the command-table fields left for Commands() to fill in.
#define INSTAR_DECLARE_COMMAND_CASES(name, Name, ...) CommandSpec Name##Cases();
INSTAR_COMMAND_TABLE(INSTAR_DECLARE_COMMAND_CASES, INSTAR_DECLARE_COMMAND_CASES)
#undef INSTAR_DECLARE_COMMAND_CASES

// Every command, in the command table's order.
const std::vector<CommandSpec>& Commands();
const CommandSpec* FindCommand(std::string_view name);
// The output type of that name of any command; null when there is none.
const OutputTypeSpec* FindOutputType(std::string_view name);

// The names of every command (what generate takes), and of those instar
// implements (what conform takes), in table order.
std::vector<std::string> CommandNames();
std::vector<std::string> ImplementedCommandNames();

// `requested` checked against the command's output types, or all of them
// when it is empty. Throws HarnessError naming those the command has.
std::vector<std::string> SelectOutputTypes(const CommandSpec& command,
                                           const std::vector<std::string>& requested);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CASES_COMMANDS_H_
