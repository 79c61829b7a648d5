// instar resize: `qemu-img resize`, with its options and messages.
//
//   resize [-f FMT] [--shrink] [--preallocation MODE] [-q] FILE [+-]SIZE
//
// The host reads the command line as img_resize() does: before 10.0 the
// size is the last argument, taken off before getopt (so a negative size
// is no option) and everything else must leave one file name; from 10.0
// getopt keeps the arguments in order and a "-<digit>..." right after the
// file name is the size. The size's sign comes off, the rest is read as
// qemu's size option ("Parameter 'size' expects ..."), --preallocation
// as a PreallocMode name. Then the image is opened read-write in place
// (DeviceTable::OpenInPlace: no temporary copy, as qemu-img modifies the
// file itself) and the resize operation opens it with its driver, resolves
// the size against its virtual size and calls the driver's resize hook
// (guest/ops/resize_operation.cc). "Image resized." on stdout unless -q;
// exit status 1 on any error, as qemu-img's.

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "instar/engine/measure.h"
#include "vmm/cli/cli.h"
#include "vmm/render/cli_dialect.h"

namespace instar::vmm {

const char kResizeSynopsis[] =
    "resize [-f FMT] [--shrink] [--preallocation MODE] [-q] FILE [+-]SIZE";

namespace {

const char kCommand[] = "resize";

std::vector<OptionSpec> ResizeOptions(const CliDialect& cli) {
  std::vector<OptionSpec> specs = {
      {"help", 'h', false},
      {cli.long_option_names ? "format" : nullptr, 'f', true},
      {"object", 0, true},
      {"image-opts", 0, false},
      {"preallocation", 0, true},
      {"shrink", 0, false},
      {cli.long_option_names ? "quiet" : nullptr, 'q', false},
  };
  return specs;
}

void PrintHelp(const GlobalOptions& global) {
  std::printf(
      "Usage: %s resize [-f FMT] [--shrink] [--preallocation MODE] [-q] FILE [+-]SIZE\n"
      "\n"
      "Resizes FILE in place, as qemu-img resize does: the image is opened\n"
      "read-write and changed by its format's driver inside the sandbox.\n"
      "\n"
      "  -f, --format FMT          format of FILE (probed when not given)\n"
      "  --shrink                  allow a size smaller than the current one\n"
      "  --preallocation MODE      off, metadata, falloc or full, for the new bytes\n"
      "  -q, --quiet               do not print \"Image resized.\"\n"
      "  SIZE                      the new size, or with + or - the change\n",
      global.argv0.c_str());
}

// 10.0's in-order getopt: the argument right after the file name is the
// size when it looks like a negative number ("-5M"), or getopt would take
// it for options. Returns its index in `args`, or npos. `specs` say which
// options take an argument, so that an option's argument is not taken for
// the file name.
size_t NegativeSizeAfterFilename(const std::vector<std::string>& args,
                                 const std::vector<OptionSpec>& specs) {
  auto takes_argument_long = [&](const std::string& name) {
    const OptionSpec* found = nullptr;
    for (const OptionSpec& spec : specs) {
      if (spec.long_name == nullptr || std::string(spec.long_name).rfind(name, 0) != 0) continue;
      if (name == spec.long_name) return spec.takes_argument;
      found = found == nullptr ? &spec : found;
    }
    return found != nullptr && found->takes_argument;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") return std::string::npos;
    if (arg.rfind("--", 0) == 0) {
      if (arg.find('=') == std::string::npos && takes_argument_long(arg.substr(2))) ++i;
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-') {
      for (size_t j = 1; j < arg.size(); ++j) {
        const auto spec = std::find_if(specs.begin(), specs.end(),
                                       [&](const OptionSpec& s) { return s.short_name == arg[j]; });
        if (spec != specs.end() && spec->takes_argument) {
          if (j + 1 == arg.size()) ++i;
          break;
        }
      }
      continue;
    }
    // The first positional argument: the file name.
    if (i + 1 < args.size() && args[i + 1].size() >= 2 && args[i + 1][0] == '-' &&
        args[i + 1][1] >= '0' && args[i + 1][1] <= '9') {
      return i + 1;
    }
    return std::string::npos;
  }
  return std::string::npos;
}

// The size after its sign, as qemu_opt_set() reads a size option: the
// engine's option parser over "size=<text>" (commas doubled, as a value).
bool ParseSize(const GlobalOptions& global, const std::string& text, uint64_t* size) {
  std::string option = "size=";
  for (char c : text) {
    option += c;
    if (c == ',') option += ',';
  }
  auto arena_bytes = std::make_unique<uint8_t[]>(64 * 1024);
  Arena arena(arena_bytes.get(), 64 * 1024);
  ParsedMeasureOptions parsed;
  MeasureError error;
  const Status s = ParseMeasureOptions(ImageFormat::kRaw, option.data(), option.size(),
                                       global.compat, arena, &parsed, &error);
  for (uint8_t i = 0; i < parsed.hex_suffix_warning_count; ++i) {
    const MeasureText warned = parsed.hex_suffix_warnings[i];
    std::string line(FormatHexSuffixWarning(warned, nullptr, 0) + 1, '\0');
    line.resize(FormatHexSuffixWarning(warned, line.data(), line.size()));
    ReportQemuLines(global, line);
  }
  if (!s.ok()) {
    error.version = global.compat;
    std::string words = MeasureErrorText(error);
    // img_resize reports qemu_opt_set()'s error alone, without measure's
    // "Invalid options for file format" line.
    const size_t cut = words.find("\nqemu-img: Invalid options for file format");
    if (cut != std::string::npos) words.resize(cut + 1);
    ReportQemuLines(global, words);
    return false;
  }
  *size = parsed.Get(MeasureOptionKey::kSize).number;
  return true;
}

// How far the guest may write the image: its current length or the new
// size, whichever is larger, plus an eighth for metadata (a fully
// preallocated qcow2's tables) and 1 GiB.
uint64_t WriteLimit(const std::string& filename, int relative, uint64_t size) {
  const uint64_t current = FileLength(filename);
  uint64_t base = current;
  if (relative == 0) {
    base = std::max(current, size);
  } else if (relative > 0 && __builtin_add_overflow(current, size, &base)) {
    return abi::kMaxRangeEnd;
  }
  return WriteLimitOf(base, base / 8);
}

}  // namespace

int RunResizeCommand(const GlobalOptions& global, const std::vector<std::string>& args) {
  const CliDialect cli = CliDialectFor(global.compat);
  const std::vector<OptionSpec> specs = ResizeOptions(cli);
  std::vector<std::string> rest = args;
  std::optional<std::string> size_text;
  if (!cli.long_option_names) {
    // Before 10.0: the size is the last argument, whatever it looks like.
    if (rest.size() < 2) return ReportErrorExit(global, kCommand, "Not enough arguments");
    size_text = rest.back();
    rest.pop_back();
  } else if (const size_t at = NegativeSizeAfterFilename(rest, specs); at != std::string::npos) {
    size_text = rest[at];
    rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(at));
  }
  std::vector<ParsedOption> parsed;
  if (!ParseCommandOptions(global, kCommand, rest, specs, GetoptWording::kQemuImgBefore10,
                           &parsed)) {
    return kExitError;
  }
  std::vector<std::string> positional;
  std::optional<std::string> format;
  std::optional<Preallocation> preallocation;
  bool shrink = false;
  bool quiet = false;
  for (const ParsedOption& option : parsed) {
    const std::string& name = option.name;
    if (name.empty()) {
      positional.push_back(option.value);
      // 10.0: a third argument is refused as getopt meets it.
      if (cli.long_option_names && positional.size() + (size_text ? 1 : 0) > 2) {
        return ReportErrorExit(global, kCommand, "Extra argument(s) in command line");
      }
    } else if (name == "help" || name == "h") {
      PrintHelp(global);
      return kExitOk;
    } else if (name == "format" || name == "f") {
      format = option.value;
    } else if (name == "quiet" || name == "q") {
      quiet = true;
    } else if (name == "shrink") {
      shrink = true;
    } else if (name == "preallocation") {
      static constexpr const char* kModes[] = {"off", "metadata", "falloc", "full"};
      const auto* mode = std::find(std::begin(kModes), std::end(kModes), option.value);
      if (mode == std::end(kModes)) {
        return ReportError(global, "Invalid preallocation mode '" + option.value + "'");
      }
      preallocation = static_cast<Preallocation>(mode - std::begin(kModes));
    } else if (name == "object") {
      return ReportError(global, "--object is not supported by instar resize");
    } else if (name == "image-opts") {
      return ReportError(global, "--image-opts is not supported by instar resize");
    }
  }
  if (!cli.long_option_names) {
    if (positional.size() != 1) {
      return ReportErrorExit(global, kCommand, "Expecting image file name and size");
    }
  } else {
    if (!size_text && positional.size() == 2) {
      size_text = positional[1];
      positional.pop_back();
    }
    if (positional.size() != 1 || !size_text) {
      return ReportErrorExit(global, kCommand, "Expecting image file name and size");
    }
  }
  const std::string& filename = positional[0];

  // The sign, then the size as qemu's size option.
  std::string text = *size_text;
  int relative = 0;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    relative = text[0] == '+' ? 1 : -1;
    text.erase(0, 1);
  }
  uint64_t size = 0;
  if (!ParseSize(global, text, &size)) return kExitError;

  CliError error;
  abi::OperationConfig config;
  if (!MakeConfig(global, abi::Operation::kResize, filename, &config, &error)) {
    return ReportError(global, error);
  }
  if (format && !LookUpFormatHint(global, filename, *format, &config.format_hint)) {
    return kExitError;
  }
  abi::ResizeConfig& r = config.resize;
  r.size = size;
  r.relative = relative;
  if (shrink) r.flags |= abi::kResizeShrink;
  if (preallocation) {
    r.flags |= abi::kResizeHasPreallocation;
    r.preallocation = static_cast<uint32_t>(*preallocation);
  }

  if (const int exit_code =
          RunInPlace(global, config, filename, WriteLimit(filename, relative, size));
      exit_code != kExitOk) {
    return exit_code;
  }
  if (!quiet) {
    (void)std::fputs("Image resized.\n", stdout);
    (void)std::fflush(stdout);
  }
  return kExitOk;
}

}  // namespace instar::vmm
