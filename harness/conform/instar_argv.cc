#include "harness/conform/instar_argv.h"

#include "harness/cases/case_model.h"
#include "harness/core/error.h"

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

std::string ResolvePlaceholders(std::string_view word, const PlaceholderValues& values) {
  std::string out;
  out.reserve(word.size());
  size_t pos = 0;
  while (pos < word.size()) {
    if (word.substr(pos).starts_with(kTestdataPlaceholder)) {
      out += values.testdata_root;
      pos += kTestdataPlaceholder.size();
    } else if (word.substr(pos).starts_with(kFilenamePlaceholder)) {
      out += values.filename;
      pos += kFilenamePlaceholder.size();
    } else {
      out += word[pos++];
    }
  }
  return out;
}

std::vector<std::string> InstarArguments(const std::vector<std::string>& recorded_argv,
                                         const std::string& compat, const std::string& sandbox,
                                         const PlaceholderValues& values) {
  if (recorded_argv.empty() || recorded_argv.front() != kBinaryWord) {
    throw HarnessError("a recorded argv must start with \"" + std::string(kBinaryWord) + "\"");
  }
  std::vector<std::string> arguments;
  if (!sandbox.empty()) arguments.push_back("--sandbox=" + sandbox);
  arguments.push_back("--compat");
  arguments.push_back(compat);
  for (size_t i = 1; i < recorded_argv.size(); ++i) {
    arguments.push_back(ResolvePlaceholders(recorded_argv[i], values));
  }
  return arguments;
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
