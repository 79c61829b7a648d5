// libFuzzer target: the subcommands' getopt (ParseOptions(),
// QemuImgGetoptError(), TryHelpLine() of vmm/cli/cli.h). The arguments are
// whatever a user or a script typed, so every word list must end in parsed
// options or one getopt error in the release's words, never a crash or an
// escaped exception.
//
// Input: byte 0 picks the qemu-img version; the rest are the arguments
// after the subcommand, separated by NUL bytes. The option table has the
// shapes qemu-img's commands have: long names with and without an argument,
// long-only and short-only options, and names one is a prefix of another
// ("s" abbreviates both --size and --start-offset).
//
// Checked on every input: a success gives only names of the table (or ""
// for a positional argument) and no value for an option that takes none; a
// failure is getopt's line and the "Try ... --help" line, and qemu-img's
// rewording of it (info, map) is one message or the same two lines.
//
// Build with clang and -DINSTAR_FUZZ=ON; run as option_parser_fuzz [corpus
// dir] (ci/fuzz).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "vmm/cli/cli.h"

namespace {

using instar::QemuVersion;
using instar::vmm::CliError;
using instar::vmm::GlobalOptions;
using instar::vmm::OptionSpec;
using instar::vmm::ParsedOption;

// One version of each CLI dialect the matrix has.
constexpr QemuVersion kVersions[] = {{5, 2, 0}, {7, 2, 22}, {10, 0, 13}, {11, 1, 3}};

const std::vector<OptionSpec>& Specs() {
  static const std::vector<OptionSpec> specs = {
      {"help", 'h', false},        {"format", 'f', true}, {"target-format", 'O', true},
      {"output", 0, true},         {"size", 0, true},     {"start-offset", 0, true},
      {"max-length", 0, true},     {"object", 0, true},   {"image-opts", 0, false},
      {"force-share", 'U', false}, {"quiet", 'q', false}, {"snapshot", 'l', true},
      {nullptr, 's', false},       {nullptr, 'o', true},
  };
  return specs;
}

bool Known(const std::string& name, bool* takes_argument) {
  for (const OptionSpec& spec : Specs()) {
    const std::string key =
        spec.long_name != nullptr ? spec.long_name : std::string(1, spec.short_name);
    if (key == name) {
      *takes_argument = spec.takes_argument;
      return true;
    }
  }
  return false;
}

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  GlobalOptions global;
  global.argv0 = "qemu-img";
  global.program = "qemu-img";
  global.compat = kVersions[data[0] % (sizeof(kVersions) / sizeof(kVersions[0]))];

  std::vector<std::string> args;
  std::string word;
  for (size_t i = 1; i < size; ++i) {
    if (data[i] == 0) {
      args.push_back(word);
      word.clear();
    } else {
      word += static_cast<char>(data[i]);
    }
  }
  if (size > 1) args.push_back(word);
  if (args.size() > 64) return 0;

  std::vector<ParsedOption> parsed;
  CliError error;
  if (instar::vmm::ParseOptions(global, "map", args, Specs(), &parsed, &error)) {
    for (const ParsedOption& option : parsed) {
      if (option.name.empty()) continue;
      bool takes_argument = false;
      Check(Known(option.name, &takes_argument));
      if (!takes_argument) Check(option.value.empty());
    }
    return 0;
  }
  Check(error.raw.size() == 2);
  Check(error.raw[1].rfind("Try '", 0) == 0);
  const CliError worded = instar::vmm::QemuImgGetoptError(global, "map", error);
  Check(worded.messages.size() + worded.raw.size() >= 1);
  Check(!instar::vmm::TryHelpLine(global, "map").empty());
  return 0;
}
