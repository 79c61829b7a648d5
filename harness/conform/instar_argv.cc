#include "harness/conform/instar_argv.h"

#include "harness/cases/case_model.h"
#include "harness/cases/commands.h"

namespace instar::harness {

namespace {

bool IsShellSafe(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == '/' || c == '=' || c == ',' || c == ':' || c == '+' ||
         c == '@' || c == '%';
}

bool IsPlaceholderPath(std::string_view word) {
  for (std::string_view placeholder : {kFilenamePlaceholder, kTestdataPlaceholder}) {
    if (!word.starts_with(placeholder)) continue;
    std::string_view rest = word.substr(placeholder.size());
    bool safe = true;
    for (char c : rest) safe = safe && IsShellSafe(c);
    if (safe) return true;
  }
  return false;
}

}  // namespace

bool IsFixtureStep(const StepSpec& step) {
  if (step.argv.size() < 2) return false;
  const CommandSpec* command = FindCommand(step.argv[1]);
  return command == nullptr || !command->implemented();
}

Program InstarProgram(const std::filesystem::path& instar, const std::string& compat,
                      const std::string& sandbox) {
  Program program{instar, {}};
  if (!sandbox.empty()) program.options.push_back("--sandbox=" + sandbox);
  program.options.push_back("--compat");
  program.options.push_back(compat);
  return program;
}

std::string ShownCommand(const CaseSpec& spec, const Program& program) {
  const PlaceholderValues placeholders{std::string(kFilenamePlaceholder),
                                       std::string(kTestdataPlaceholder)};
  std::string shown;
  for (const auto& step : spec.steps) {
    const bool fixture = IsFixtureStep(step);
    std::vector<std::string> words = {fixture ? "qemu-img" : "instar"};
    for (auto& word : StepArguments(fixture ? Program{} : program, step, placeholders)) {
      words.push_back(std::move(word));
    }
    if (!shown.empty()) shown += " && ";
    shown += ShellCommand(words);
  }
  return shown;
}

std::string ShellQuote(std::string_view word) {
  if (word.empty()) return "''";
  bool safe = true;
  for (char c : word) safe = safe && IsShellSafe(c);
  if (safe || IsPlaceholderPath(word)) return std::string(word);
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  quoted += '\'';
  return quoted;
}

std::string ShellCommand(const std::vector<std::string>& words) {
  std::string command;
  for (const auto& word : words) {
    if (!command.empty()) command += ' ';
    command += ShellQuote(word);
  }
  return command;
}

}  // namespace instar::harness
