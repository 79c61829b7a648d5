// The table of instar's subcommands, in the order `instar --help` lists
// them. Adding one: write builtin_<name>.cc with Run<Name>Command() and add
// a line here.
#include "vmm/cli/cli.h"

namespace instar::vmm {

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {"info", RunInfoCommand,
       "info [-f FMT] [--output human|json] [--backing-chain] [-U] FILENAME"},
      {"measure", RunMeasureCommand,
       "measure [--output human|json] [-O FMT] [-o OPTIONS] (--size SIZE | [-f FMT] FILENAME)"},
  };
  return commands;
}

}  // namespace instar::vmm
