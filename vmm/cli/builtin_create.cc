// instar create: `qemu-img create`, with its options and messages.
//
//   create [-f FMT] [-o OPTIONS] [-b BACKING [-F BACKING_FMT]] [-u] [-q] FILE [SIZE]
//
// The host reads the command line as img_create()'s getopt loop does (the
// -o lists' syntax, the size's), creates the output under a temporary name
// beside FILE (DeviceTable::OpenOutput: `.<name>.instar-XXXXXX`; the other
// files of a format of several files, a vmdk monolithicFlat's extent,
// beside it the same way: OpenSiblingOutputs), and runs
// the create operation, which parses the options, reads a backing file and
// writes the image inside the sandbox (guest/ops/create_operation.cc). The
// host prints the Formatting line the guest reports (unless -q), and
// renames the temporary files over FILE (and its siblings) only when the
// guest reports that the driver succeeded; otherwise, and on any sandbox
// failure, they are removed and FILE is left as it was. Exit status 1 on
// any error, as qemu-img's.
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>

#include <sys/random.h>

#include "instar/engine/measure.h"
#include "vmm/cli/cli.h"
#include "vmm/render/cli_dialect.h"
#include "vmm/result/create_view.h"

namespace instar::vmm {

const char kCreateSynopsis[] =
    "create [-f FMT] [-o OPTIONS] [-b BACKING [-F BACKING_FMT]] [-u] [-q] FILE [SIZE]";

namespace {

const char kCommand[] = "create";

std::vector<OptionSpec> CreateOptions(const CliDialect& cli) {
  if (!cli.long_option_names) {
    return {
        {"help", 'h', false}, {nullptr, 'F', true},  {nullptr, 'b', true},  {nullptr, 'f', true},
        {nullptr, 'o', true}, {nullptr, 'q', false}, {nullptr, 'u', false}, {"object", 0, true},
    };
  }
  std::vector<OptionSpec> specs = {
      {"help", 'h', false},           {"quiet", 'q', false},  {"format", 'f', true},
      {"options", 'o', true},         {"backing", 'b', true}, {"backing-format", 'F', true},
      {"backing-unsafe", 'u', false}, {"object", 0, true},
  };
  if (cli.create_backing_format_b) specs.push_back({nullptr, 'B', true});
  return specs;
}

void PrintHelp(const GlobalOptions& global) {
  std::printf(
      "Usage: %s create [-f FMT] [-o OPTIONS] [-b BACKING [-F BACKING_FMT]] [-u] [-q] FILE "
      "[SIZE]\n"
      "\n"
      "Creates a new image, as qemu-img create does. The options are parsed and the\n"
      "image is written inside the sandbox, to a temporary file beside FILE\n"
      "(.FILE.instar-XXXXXX) that replaces FILE only when the image is complete.\n"
      "\n"
      "  -f, --format FMT            format of the new image (default raw)\n"
      "  -o, --options OPTIONS       the format's creation options (name=value,...)\n"
      "  -b, --backing BACKING       a backing file (its size is the default SIZE)\n"
      "  -F, --backing-format FMT    the backing file's format (probed when not given)\n"
      "  -u, --backing-unsafe        do not open the backing file\n"
      "  -q, --quiet                 do not print the Formatting line\n",
      global.argv0.c_str());
}

// How far the guest may write the output: the image and its metadata. A
// qcow2 of 512-byte clusters fully preallocated needs its size plus
// L2 tables (1/64) and refcount blocks (1/256) of it; a vhdx's log and
// tables are a few MiB. Without a size on the command line (-o size=, a
// backing file's) the host cannot know the size: 64 TiB, vhdx's limit.
uint64_t WriteLimit(std::optional<uint64_t> size) {
  constexpr uint64_t kUnknownSize = uint64_t{64} << 40;
  const uint64_t base = size.value_or(kUnknownSize);
  return WriteLimitOf(base, base / 8);
}

// The view of a run with abi::kCreateSizeOnly: the size, and only it.
bool ReadSizeOnly(const DecodedResult& result, CreateView* view, std::string* why) {
  if (!ReadCreateView(result, view, why)) return false;
  if (!view->size) *why = "the result lacks the size";
  return view->size.has_value();
}

}  // namespace

int RunCreateCommand(const GlobalOptions& global, const std::vector<std::string>& args) {
  const CliDialect cli = CliDialectFor(global.compat);
  std::vector<ParsedOption> parsed;
  if (!ParseCommandOptions(global, kCommand, args, CreateOptions(cli),
                           GetoptWording::kQemuImgBefore10, &parsed)) {
    return kExitError;
  }
  std::vector<std::string> positional;
  std::string format = "raw";
  std::string options;
  std::optional<std::string> backing;
  std::optional<std::string> backing_format;
  bool unsafe = false;
  bool quiet = false;
  for (const ParsedOption& option : parsed) {
    const std::string& name = option.name;
    if (name.empty()) {
      positional.push_back(option.value);
    } else if (name == "help" || name == "h") {
      PrintHelp(global);
      return kExitOk;
    } else if (name == "format" || name == "f") {
      format = option.value;
    } else if (name == "options" || name == "o") {
      MeasureError bad;
      if (!CheckOptionList(option.value.data(), option.value.size(), &bad).ok()) {
        bad.version = global.compat;
        return ReportQemuLines(global, MeasureErrorText(bad));
      }
      // qemu-img joins repeated -o with ','.
      options = options.empty() ? option.value : options + "," + option.value;
    } else if (name == "backing" || name == "b") {
      backing = option.value;
    } else if (name == "backing-format" || name == "F" || name == "B") {
      backing_format = option.value;
    } else if (name == "backing-unsafe" || name == "u") {
      unsafe = true;
    } else if (name == "quiet" || name == "q") {
      quiet = true;
    } else if (name == "object") {
      return ReportError(global, "--object is not supported by instar create");
    }
  }
  if (positional.empty()) return ReportErrorExit(global, kCommand, "Expecting image file name");
  const std::string& filename = positional[0];

  // img_create reads the size before it looks at the options.
  std::optional<uint64_t> size;
  if (positional.size() >= 2) {
    uint64_t value = 0;
    bool hex_suffix = false;
    MeasureError bad;
    const std::string& text = positional[1];
    const Status parsed_size =
        ParseMeasureSize(text.data(), text.size(), global.compat, &value, &hex_suffix, &bad);
    if (hex_suffix) {
      const MeasureText warned{text.data(), text.size()};
      std::string line(FormatHexSuffixWarning(warned, nullptr, 0) + 1, '\0');
      line.resize(FormatHexSuffixWarning(warned, line.data(), line.size()));
      ReportQemuLines(global, line);
    }
    if (!parsed_size.ok()) return ReportQemuLines(global, MeasureErrorText(bad));
    size = value;
  }
  if (positional.size() > 2) {
    return ReportErrorExit(global, kCommand, "Unexpected argument: " + positional[2]);
  }
  if (options == "help" || options == "?" || options.find(",help") != std::string::npos ||
      options.find(",?") != std::string::npos) {
    return ReportError(global, "-o help is not supported by instar create");
  }

  CliError error;
  abi::OperationConfig config;
  if (!MakeConfig(global, abi::Operation::kCreate, filename, &config, &error)) {
    return ReportError(global, error);
  }
  abi::CreateConfig& c = config.create;
  if (size) {
    c.has_size = 1;
    c.size = *size;
  }
  if (!CopyConfigField(c.target_format, sizeof(c.target_format), format)) {
    return ReportError(global, filename + ": Unknown file format '" + format + "'");
  }
  if (!CopyConfigField(c.options, sizeof(c.options), options)) {
    return ReportError(global, "the -o options are longer than instar accepts (" +
                                   std::to_string(sizeof(c.options) - 1) + " bytes)");
  }
  if (backing) {
    if (!CopyConfigField(c.backing_file, sizeof(c.backing_file), *backing)) {
      return ReportError(global, "the backing file name is longer than instar accepts");
    }
    c.flags |= abi::kCreateHasBacking;
  }
  if (backing_format) {
    if (!CopyConfigField(c.backing_format, sizeof(c.backing_format), *backing_format)) {
      return ReportError(global, filename + ": Unknown driver '" + *backing_format + "'");
    }
    c.flags |= abi::kCreateHasBackingFormat;
  }
  if (unsafe) c.flags |= abi::kCreateUnsafe;
  // What qemu takes from the clock and the random generator (a vpc
  // timestamp, vhdx GUIDs, a vmdk CID): the guest has neither.
  c.now_seconds = static_cast<uint64_t>(std::time(nullptr));
  if (::getrandom(c.random, sizeof(c.random), 0) != static_cast<ssize_t>(sizeof(c.random))) {
    return ReportError(global, "cannot read random bytes for the new image");
  }

  // The output, under its temporary name. When it cannot be made, the
  // guest still runs without it, so that qemu-img's order holds: the
  // Formatting line, then "Could not create".
  DeviceTable devices;
  std::string create_error;
  // The other files of an image of several files (a vmdk monolithicFlat's
  // extent, a split vmdk's extents) beside it, each under its own
  // temporary name.
  bool have_output = devices.OpenOutput(filename, WriteLimit(size), &create_error);
  // Named from the size, which without a size argument comes from -o size
  // or the backing file the host does not parse: a first run that stops
  // where the guest knows it gives it, or refuses what the full run would.
  std::optional<uint64_t> sibling_size = size;
  if (have_output && !size && HasSiblingOutputs(global, format, options, filename)) {
    abi::OperationConfig sizing = config;
    sizing.create.flags |= abi::kCreateSizeOnly;
    CreateView view;
    int exit_code = kExitOk;
    if (!RunForView(global, sizing, devices, /*last_run=*/false, ReadSizeOnly, &view, &exit_code)) {
      return exit_code;
    }
    sibling_size = view.size;
  }
  have_output = have_output && OpenSiblingOutputs(global, format, options, filename, sibling_size,
                                                  &devices, &create_error);

  CreateView view;
  int exit_code = kExitOk;
  if (!RunForView(global, config, devices, /*last_run=*/true, ReadCreateView, &view, &exit_code)) {
    return exit_code;
  }
  if (view.detected_backing_format) {
    ReportError(global,
                "warning: Deprecated use of backing file without explicit backing format "
                "(detected format of " +
                    PrintableText(*view.detected_backing_format) + ")");
  }
  if (!quiet) {
    const std::string line = "Formatting '" + filename + "', fmt=" + format + " " +
                             PrintableText(view.formatting) + "\n";
    (void)std::fwrite(line.data(), 1, line.size(), stdout);
    (void)std::fflush(stdout);
  }
  if (!have_output) {
    devices.DiscardOutput();
    return ReportError(global, filename + ": " + create_error);
  }
  if (view.failure) {
    devices.DiscardOutput();
    ReportQemuLines(global, PrintableText(*view.failure));
    return kExitError;
  }
  if (!devices.CommitOutput(&create_error))
    return ReportError(global, filename + ": " + create_error);
  return kExitOk;
}

}  // namespace instar::vmm
