// getopt_long as qemu-img's commands use it, and the words each release
// prints for its errors: ParseOptions(), QemuImgGetoptError() and
// TryHelpLine() of cli.h. Apart from the rest of the CLI (it needs no
// sandbox), so that option_parser_fuzz can drive it alone.
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "vmm/cli/cli.h"
#include "vmm/render/cli_dialect.h"

namespace instar::vmm {

namespace po = boost::program_options;

std::string TryHelpLine(const GlobalOptions& global, const std::string& command) {
  const std::string what = command.empty() ? global.argv0 : global.argv0 + " " + command;
  switch (CliDialectFor(global.compat).try_help) {
    case TryHelpStyle::kProgram:
      break;
    case TryHelpStyle::kCommandMoreInfo:
      return "Try '" + what + " --help' for more info";
    case TryHelpStyle::kCommandMoreInformation:
      return "Try '" + what + " --help' for more information";
  }
  return "Try '" + global.argv0 + " --help' for more information";
}

namespace {

const OptionSpec* FindLong(const std::vector<OptionSpec>& specs, const std::string& name,
                           std::vector<const OptionSpec*>* candidates) {
  for (const OptionSpec& spec : specs) {
    if (spec.long_name != nullptr && name == spec.long_name) return &spec;
  }
  for (const OptionSpec& spec : specs) {
    if (spec.long_name != nullptr && !spec.full_name_only &&
        std::string(spec.long_name).rfind(name, 0) == 0) {
      candidates->push_back(&spec);
    }
  }
  return candidates->size() == 1 ? (*candidates)[0] : nullptr;
}

const OptionSpec* FindShort(const std::vector<OptionSpec>& specs, char c) {
  for (const OptionSpec& spec : specs) {
    if (spec.short_name == c) return &spec;
  }
  return nullptr;
}

std::string KeyOf(const OptionSpec& spec) {
  return spec.long_name != nullptr ? spec.long_name : std::string(1, spec.short_name);
}

// Stands for an empty option argument ("--object ''", "-o ''"), which
// getopt passes on and Boost refuses; ParseOptions() turns it back into "".
const char kEmptyArgument[] = "\x01instar-empty-argument\x01";

std::string ArgumentWord(const std::string& argument) {
  return argument.empty() ? std::string(kEmptyArgument) : argument;
}

// getopt takes the next word as an option's argument even when it starts
// with '-' ("--size -1"); Boost would read it as an option. Join such pairs
// into one word first ("--size=-1", "-O-x"), and report what getopt would
// report for words Boost words differently.
bool Normalise(const std::vector<std::string>& args, const std::vector<OptionSpec>& specs,
               std::vector<std::string>* out, std::string* getopt_error) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out->insert(out->end(), args.begin() + static_cast<long>(i), args.end());
      return true;
    }
    if (arg.rfind("--", 0) == 0) {
      const size_t eq = arg.find('=');
      const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      std::vector<const OptionSpec*> candidates;
      const OptionSpec* spec = FindLong(specs, name, &candidates);
      if (spec == nullptr) {
        if (candidates.size() > 1) {
          *getopt_error = "option '--" + name + "' is ambiguous; possibilities:";
          for (const OptionSpec* c : candidates) *getopt_error += " '--" + KeyOf(*c) + "'";
        } else {
          *getopt_error = "unrecognized option '--" + name + "'";
        }
        return false;
      }
      if (!spec->takes_argument && eq != std::string::npos) {
        *getopt_error = "option '--" + KeyOf(*spec) + "' doesn't allow an argument";
        return false;
      }
      if (spec->takes_argument && eq == std::string::npos) {
        if (i + 1 >= args.size()) {
          *getopt_error = "option '--" + KeyOf(*spec) + "' requires an argument";
          return false;
        }
        out->push_back("--" + KeyOf(*spec) + "=" + ArgumentWord(args[++i]));
        continue;
      }
      if (eq != std::string::npos) {
        out->push_back("--" + KeyOf(*spec) + "=" + ArgumentWord(arg.substr(eq + 1)));
        continue;
      }
      out->push_back("--" + KeyOf(*spec));
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-') {
      std::string word = arg;
      for (size_t j = 1; j < arg.size(); ++j) {
        const OptionSpec* spec = FindShort(specs, arg[j]);
        if (spec == nullptr) {
          *getopt_error = std::string("invalid option -- '") + arg[j] + "'";
          return false;
        }
        if (!spec->takes_argument) continue;
        if (j + 1 == arg.size()) {
          if (i + 1 >= args.size()) {
            *getopt_error = std::string("option requires an argument -- '") + arg[j] + "'";
            return false;
          }
          word += ArgumentWord(args[++i]);
        }
        break;
      }
      out->push_back(word);
      continue;
    }
    out->push_back(arg);
  }
  return true;
}

}  // namespace

bool ParseOptions(const GlobalOptions& global, const std::string& command,
                  const std::vector<std::string>& args, const std::vector<OptionSpec>& specs,
                  std::vector<ParsedOption>* out, CliError* error) {
  auto getopt_failure = [&](const std::string& text) {
    const std::string who =
        CliDialectFor(global.compat).getopt_names_program ? global.argv0 + " " + command : command;
    error->raw = {who + ": " + text, TryHelpLine(global, command)};
    return false;
  };

  std::vector<std::string> words;
  std::string getopt_error;
  if (!Normalise(args, specs, &words, &getopt_error)) return getopt_failure(getopt_error);

  // Boost takes "name,x" for an option with a short letter; a short-only
  // one gets a long name no user can type (Normalise() refused every long
  // name the specs do not have), mapped back to the letter below.
  static const std::string kShortOnly = "instar-short-";
  po::options_description description;
  for (const OptionSpec& spec : specs) {
    std::string name = spec.long_name != nullptr ? spec.long_name : kShortOnly + spec.short_name;
    if (spec.short_name != 0) name += std::string(",") + spec.short_name;
    if (spec.takes_argument) {
      description.add_options()(name.c_str(), po::value<std::string>());
    } else {
      description.add_options()(name.c_str(), "");
    }
  }
  description.add_options()("instar-positional", po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add("instar-positional", -1);

  try {
    const int style = po::command_line_style::unix_style ^ po::command_line_style::allow_guessing;
    const po::parsed_options parsed = po::command_line_parser(words)
                                          .options(description)
                                          .positional(positional)
                                          .style(style)
                                          .run();
    for (const po::option& option : parsed.options) {
      if (option.string_key == "instar-positional") {
        for (const std::string& v : option.value) out->push_back({"", v});
      } else {
        std::string value = option.value.empty() ? "" : option.value.front();
        if (value == kEmptyArgument) value.clear();
        std::string key = option.string_key;
        if (key.rfind(kShortOnly, 0) == 0) key = key.substr(kShortOnly.size());
        out->push_back({key, value});
      }
    }
  } catch (const po::error& e) {
    return getopt_failure(e.what());
  }
  return true;
}

CliError QemuImgGetoptError(const GlobalOptions& global, const std::string& command,
                            const CliError& error) {
  const std::string who = command + ": ";
  if (error.raw.empty() || error.raw[0].rfind(who, 0) != 0) return error;
  const std::string text = error.raw[0].substr(who.size());
  const auto quoted = [&](const std::string& prefix, const std::string& suffix) {
    return text.substr(prefix.size(), text.size() - prefix.size() - suffix.size());
  };
  const auto ends_with = [&](const std::string& suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  std::string message;
  if (text.rfind("invalid option -- '", 0) == 0) {
    message = "unrecognized option '-" + quoted("invalid option -- '", "'") + "'";
  } else if (text.rfind("option requires an argument -- '", 0) == 0) {
    message =
        "missing argument for option '-" + quoted("option requires an argument -- '", "'") + "'";
  } else if (text.rfind("option '", 0) == 0 && ends_with("' requires an argument")) {
    message = "missing argument for option '" + quoted("option '", "' requires an argument") + "'";
  } else if (text.rfind("unrecognized option '", 0) == 0) {
    message = text;
  } else {
    return error;
  }
  return CliError{{message}, {"Try '" + global.program + " --help' for more information"}};
}

}  // namespace instar::vmm
