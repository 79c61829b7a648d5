#include "harness/cases/commands.h"

#include "harness/core/error.h"
#include "harness/core/words.h"

namespace instar::harness {

namespace {

CommandSpec FromTable(const char* name, uint32_t operation, CommandSpec spec) {
  spec.name = name;
  spec.operation = operation;
  return spec;
}

}  // namespace

const std::vector<CommandSpec>& Commands() {
#define INSTAR_IMPLEMENTED_COMMAND(name, Name, operation) \
  FromTable(#name, operation, Name##Cases()),
#define INSTAR_BASELINES_ONLY_COMMAND(name, Name) FromTable(#name, kNoOperation, Name##Cases()),
  static const std::vector<CommandSpec> commands = {
      INSTAR_COMMAND_TABLE(INSTAR_IMPLEMENTED_COMMAND, INSTAR_BASELINES_ONLY_COMMAND)};
#undef INSTAR_IMPLEMENTED_COMMAND
#undef INSTAR_BASELINES_ONLY_COMMAND
  return commands;
}

const CommandSpec* FindCommand(std::string_view name) {
  for (const auto& command : Commands()) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

const OutputTypeSpec* FindOutputType(std::string_view name) {
  for (const auto& command : Commands()) {
    for (const auto& type : command.output_types) {
      if (type.name == name) return &type;
    }
  }
  return nullptr;
}

std::vector<std::string> CommandNames() {
  std::vector<std::string> names;
  for (const auto& command : Commands()) names.push_back(command.name);
  return names;
}

std::vector<std::string> ImplementedCommandNames() {
  std::vector<std::string> names;
  for (const auto& command : Commands()) {
    if (command.implemented()) names.push_back(command.name);
  }
  return names;
}

std::vector<std::string> SelectOutputTypes(const CommandSpec& command,
                                           const std::vector<std::string>& requested) {
  std::vector<std::string> known;
  for (const auto& type : command.output_types) known.push_back(type.name);
  for (const auto& type : requested) {
    if (!Contains(known, type)) {
      throw HarnessError("command " + command.name + " has no output type \"" + type +
                         "\" (it has " + JoinWords(known) + ")");
    }
  }
  return requested.empty() ? known : requested;
}

}  // namespace instar::harness
