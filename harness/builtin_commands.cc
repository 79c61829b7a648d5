// instar-harness commands: prints the command table (cases/commands.h), for
// people and, with --names or --conform, for scripts: the Makefile's
// baselines and conform targets and ci/nightly take their lists from it.
//
//   command  operation  instar  steps         output types
//   create   -          no      create, info  create-info-json
//   info     1          yes     info          info-human, info-json

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "harness/builtins.h"
#include "harness/cases/commands.h"
#include "harness/core/error.h"
#include "harness/core/words.h"

namespace instar::harness {

namespace po = boost::program_options;

namespace {

void PrintNames(const std::vector<std::string>& names) {
  for (const auto& name : names) std::printf("%s\n", name.c_str());
}

void PrintTable() {
  const std::vector<std::string> header = {"command", "operation", "instar", "steps",
                                           "output types"};
  std::vector<std::vector<std::string>> rows = {header};
  for (const auto& command : Commands()) {
    std::vector<std::string> types;
    for (const auto& type : command.output_types) types.push_back(type.name);
    rows.push_back({command.name, command.implemented() ? std::to_string(command.operation) : "-",
                    command.implemented() ? "yes" : "no", JoinWords(command.steps),
                    JoinWords(types)});
  }
  std::vector<size_t> widths(header.size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace

int RunCommands(int argc, char** argv) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "names", "only the names of every command, one a line (what generate takes)")(
      "conform", "only the names of the commands instar implements (what conform takes)");
  po::variables_map values;
  if (!ParseOptions("commands", "instar-harness commands [--names | --conform]", argc, argv,
                    options, values)) {
    return 0;
  }
  const bool names = values.count("names") > 0;
  const bool conform = values.count("conform") > 0;
  if (names && conform) throw HarnessError("commands: --names and --conform exclude each other");
  if (names) {
    PrintNames(CommandNames());
  } else if (conform) {
    PrintNames(ImplementedCommandNames());
  } else {
    PrintTable();
  }
  return 0;
}

}  // namespace instar::harness
