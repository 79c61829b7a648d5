// instar amend: `qemu-img amend`, with its options and messages.
//
//   amend [-f FMT] [-t CACHE] [--force] [-q] -o OPTIONS FILE
//
// The host reads the command line as img_amend() does (the -o lists'
// syntax, "Must specify options (-o)", "Expecting one image file name",
// the cache mode), opens the image read-write in place
// (DeviceTable::OpenInPlace: no temporary copy, as qemu-img modifies the
// file itself) and runs the amend operation, which opens the image with
// its driver, parses the options against the format's and calls the
// driver's amend hook (guest/ops/amend_operation.cc). A driver without
// one is qemu's "Format driver '<fmt>' does not support option
// amendment". Nothing on stdout; exit status 1 on any error, as
// qemu-img's. -p (qemu's progress line), -o help, --object and
// --image-opts are refused by name.

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "instar/engine/measure.h"
#include "vmm/cli/cli.h"
#include "vmm/render/cli_dialect.h"

namespace instar::vmm {

const char kAmendSynopsis[] = "amend [-f FMT] [-t CACHE] [--force] [-q] -o OPTIONS FILE";

namespace {

const char kCommand[] = "amend";

// 10.0 gives -o, -f, -t, -p and -q long names.
std::vector<OptionSpec> AmendOptions(const CliDialect& cli) {
  const bool long_names = cli.long_option_names;
  return {
      {"help", 'h', false},
      {long_names ? "options" : nullptr, 'o', true},
      {long_names ? "format" : nullptr, 'f', true},
      {long_names ? "cache" : nullptr, 't', true},
      {long_names ? "progress" : nullptr, 'p', false},
      {long_names ? "quiet" : nullptr, 'q', false},
      {"object", 0, true},
      {"image-opts", 0, false},
      {"force", 0, false},
  };
}

void PrintHelp(const GlobalOptions& global) {
  std::printf(
      "Usage: %s amend [-f FMT] [-t CACHE] [--force] [-q] -o OPTIONS FILE\n"
      "\n"
      "Changes the format-specific options of FILE in place, as qemu-img amend\n"
      "does: the image is opened read-write and changed by its format's driver\n"
      "inside the sandbox.\n"
      "\n"
      "  -o, --options OPTIONS   the options to change (name=value,...)\n"
      "  -f, --format FMT        format of FILE (probed when not given)\n"
      "  -t, --cache CACHE       checked, as qemu-img does; instar has no cache\n"
      "  --force                 allow what the format refuses without it\n"
      "  -q, --quiet             accepted; amend prints nothing on success\n",
      global.argv0.c_str());
}

// qemu's has_help_option(): "help" or "?" as a key of the list.
bool HasHelpOption(const std::string& options) {
  size_t start = 0;
  while (start <= options.size()) {
    size_t end = start;
    // A value's ",," is a comma, not a separator.
    while (end < options.size() &&
           !(options[end] == ',' && (end + 1 >= options.size() || options[end + 1] != ','))) {
      end += options[end] == ',' ? 2 : 1;
    }
    const std::string item = options.substr(start, end - start);
    const std::string key = item.substr(0, item.find('='));
    if (key == "help" || key == "?") return true;
    start = end + 1;
  }
  return false;
}

// How far the guest may write: twice the image (a refcount table
// rewritten at another width beside the old one) and 1 GiB.
uint64_t WriteLimit(const std::string& filename) {
  const uint64_t current = FileLength(filename);
  return WriteLimitOf(current, current);
}

}  // namespace

int RunAmendCommand(const GlobalOptions& global, const std::vector<std::string>& args) {
  const CliDialect cli = CliDialectFor(global.compat);
  std::vector<ParsedOption> parsed;
  if (!ParseCommandOptions(global, kCommand, args, AmendOptions(cli),
                           GetoptWording::kQemuImgBefore10, &parsed)) {
    return kExitError;
  }
  std::vector<std::string> positional;
  std::optional<std::string> options;
  std::optional<std::string> format;
  std::string cache = "writeback";
  bool force = false;
  for (const ParsedOption& option : parsed) {
    const std::string& name = option.name;
    if (name.empty()) {
      positional.push_back(option.value);
    } else if (name == "help" || name == "h") {
      PrintHelp(global);
      return kExitOk;
    } else if (name == "options" || name == "o") {
      MeasureError bad;
      if (!CheckOptionList(option.value.data(), option.value.size(), &bad).ok()) {
        bad.version = global.compat;
        return ReportQemuLines(global, MeasureErrorText(bad));
      }
      // accumulate_options(): repeated -o joined with ','.
      options = options ? *options + "," + option.value : option.value;
    } else if (name == "format" || name == "f") {
      format = option.value;
    } else if (name == "cache" || name == "t") {
      cache = option.value;
    } else if (name == "force") {
      force = true;
    } else if (name == "progress" || name == "p") {
      return ReportError(global, "-p is not supported by instar amend");
    } else if (name == "object") {
      return ReportError(global, "--object is not supported by instar amend");
    } else if (name == "image-opts") {
      return ReportError(global, "--image-opts is not supported by instar amend");
    }
    // -q: amend prints nothing on success but -p's progress.
  }
  if (!options) return ReportErrorExit(global, kCommand, "Must specify options (-o)");
  if (HasHelpOption(*options)) {
    return ReportError(global, "-o help is not supported by instar amend");
  }
  if (positional.size() != 1) return ReportError(global, "Expecting one image file name");
  const std::string& filename = positional[0];
  static constexpr const char* kCacheModes[] = {"off",       "none",   "directsync",
                                                "writeback", "unsafe", "writethrough"};
  if (std::find(std::begin(kCacheModes), std::end(kCacheModes), cache) == std::end(kCacheModes)) {
    return ReportError(global, "Invalid cache option: " + cache);
  }

  CliError error;
  abi::OperationConfig config;
  if (!MakeConfig(global, abi::Operation::kAmend, filename, &config, &error)) {
    return ReportError(global, error);
  }
  if (format && !LookUpFormatHint(global, filename, *format, &config.format_hint)) {
    return kExitError;
  }
  abi::AmendConfig& a = config.amend;
  if (!CopyConfigField(a.options, sizeof(a.options), *options)) {
    return ReportError(global, "the -o options are longer than instar accepts (" +
                                   std::to_string(sizeof(a.options) - 1) + " bytes)");
  }
  if (force) a.flags |= abi::kAmendForce;

  return RunInPlace(global, config, filename, WriteLimit(filename));
}

}  // namespace instar::vmm
