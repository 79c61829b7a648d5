// instar's subcommands, one per command the command table
// (instar/guest/command_table.h) marks IMPLEMENTED, in the table's order,
// which is also the order `instar --help` lists them in.
#include "instar/guest/command_table.h"
#include "vmm/cli/cli.h"

namespace instar::vmm {

// The synopses of the first two commands, from before the command table; a
// command added since defines its own in its builtin_<name>.cc.
const char kInfoSynopsis[] = "info [-f FMT] [--output human|json] [--backing-chain] [-U] FILENAME";
const char kMeasureSynopsis[] =
    "measure [--output human|json] [-O FMT] [-o OPTIONS] (--size SIZE | [-f FMT] FILENAME)";

const std::vector<Command>& Commands() {
#define INSTAR_CLI_COMMAND(name, Name, operation) {#name, Run##Name##Command, k##Name##Synopsis},
  static const std::vector<Command> commands = {
      INSTAR_COMMAND_TABLE(INSTAR_CLI_COMMAND, INSTAR_COMMAND_SKIPPED)};
#undef INSTAR_CLI_COMMAND
  return commands;
}

}  // namespace instar::vmm
