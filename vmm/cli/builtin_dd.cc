// instar dd: `qemu-img dd`, with its operands and messages.
//
//   dd [-f FMT] [-O OUTPUT_FMT] [-U] [bs=BLOCK_SIZE] [count=BLOCKS] [skip=BLOCKS]
//      if=INPUT of=OUTPUT
//
// The host reads the command line as img_dd() does (its getopt loop, then
// each operand in order with cvtnum's words), creates the output under a
// temporary name beside OUTPUT as create does (DeviceTable::OpenOutput),
// opens INPUT, and runs the dd operation, which opens the input, creates
// and opens the output image and copies the blocks inside the sandbox
// (guest/ops/dd_operation.cc). The temporary file is renamed over OUTPUT
// only when the guest reports that every block was written; otherwise,
// and on any sandbox failure, it is removed and OUTPUT is left as it was.
// qemu-img dd prints no Formatting line (it calls bdrv_create(), not
// bdrv_img_create()). Exit status 1 on any error, as qemu-img's.
#include <climits>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>

#include <sys/random.h>

#include "instar/engine/measure.h"
#include "vmm/cli/cli.h"
#include "vmm/render/cli_dialect.h"
#include "vmm/result/dd_view.h"

namespace instar::vmm {

const char kDdSynopsis[] =
    "dd [-f FMT] [-O OUTPUT_FMT] [-U] [bs=BLOCK_SIZE] [count=BLOCKS] [skip=BLOCKS] if=INPUT "
    "of=OUTPUT";

namespace {

const char kCommand[] = "dd";

std::vector<OptionSpec> DdOptions(const CliDialect& cli) {
  if (!cli.long_option_names) {
    return {
        {"help", 'h', false},        {nullptr, 'f', true},     {nullptr, 'O', true},
        {"force-share", 'U', false}, {"image-opts", 0, false}, {"object", 0, true},
    };
  }
  return {
      {"help", 'h', false},        {"format", 'f', true},    {"output-format", 'O', true},
      {"force-share", 'U', false}, {"image-opts", 0, false}, {"object", 0, true},
  };
}

void PrintHelp(const GlobalOptions& global) {
  std::printf(
      "Usage: %s dd [-f FMT] [-O OUTPUT_FMT] [-U] [bs=BLOCK_SIZE] [count=BLOCKS] "
      "[skip=BLOCKS] if=INPUT of=OUTPUT\n"
      "\n"
      "Copies INPUT to a new image OUTPUT block by block, as qemu-img dd does. The\n"
      "input is read and the output written inside the sandbox, to a temporary file\n"
      "beside OUTPUT (.OUTPUT.instar-XXXXXX) that replaces OUTPUT only when every\n"
      "block is written.\n"
      "\n"
      "  -f, --format FMT            format of INPUT (probed when not given)\n"
      "  -O, --output-format FMT     format of OUTPUT (default raw)\n"
      "  -U, --force-share           accepted for compatibility; instar never locks\n"
      "  bs=BLOCK_SIZE               bytes per block, k, M, G ... suffixes (default 512)\n"
      "  count=BLOCKS                copy at most BLOCKS blocks (default: all of INPUT)\n"
      "  skip=BLOCKS                 start BLOCKS blocks into INPUT\n",
      global.argv0.c_str());
}

struct Operands {
  uint64_t block_size = 512;
  std::optional<uint64_t> count;
  std::optional<uint64_t> skip;
  std::optional<std::string> input;
  std::optional<std::string> output;
};

// img_dd()'s operand loop: NAME=VALUE each, in order, the first bad one
// reported.
bool ParseOperands(const GlobalOptions& global, const std::vector<std::string>& args,
                   Operands* out) {
  constexpr uint64_t kInt64Max = static_cast<uint64_t>(INT64_MAX);
  for (const std::string& arg : args) {
    const size_t equals = arg.find('=');
    const std::string name = arg.substr(0, equals);
    if (equals == std::string::npos ||
        (name != "bs" && name != "count" && name != "if" && name != "of" && name != "skip")) {
      ReportError(global, "unrecognized operand " + name);
      return false;
    }
    const std::string value = arg.substr(equals + 1);
    uint64_t number = 0;
    if (name == "bs") {
      if (!ParseCvtnum(global, "bs", value, 1, INT_MAX, &number)) return false;
      out->block_size = number;
    } else if (name == "count") {
      if (!ParseCvtnum(global, "count", value, 0, kInt64Max, &number)) return false;
      out->count = number;
    } else if (name == "skip") {
      if (!ParseCvtnum(global, "skip", value, 0, kInt64Max, &number)) return false;
      out->skip = number;
    } else if (name == "if") {
      out->input = value;
    } else {
      out->output = value;
    }
  }
  return true;
}

}  // namespace

int RunDdCommand(const GlobalOptions& global, const std::vector<std::string>& args) {
  const CliDialect cli = CliDialectFor(global.compat);
  std::vector<ParsedOption> parsed;
  if (!ParseCommandOptions(global, kCommand, args, DdOptions(cli), GetoptWording::kQemuImgBefore10,
                           &parsed)) {
    return kExitError;
  }
  std::vector<std::string> operands;
  std::string format;
  bool has_format = false;
  std::string output_format = "raw";
  for (const ParsedOption& option : parsed) {
    const std::string& name = option.name;
    if (name.empty()) {
      operands.push_back(option.value);
    } else if (name == "help") {
      PrintHelp(global);
      return kExitOk;
    } else if (name == "format" || name == "f") {
      format = option.value;
      has_format = true;
    } else if (name == "output-format" || name == "O") {
      output_format = option.value;
    } else if (name == "image-opts") {
      return ReportError(global, "--image-opts is not supported by instar dd");
    } else if (name == "object") {
      return ReportError(global, "--object is not supported by instar dd");
    }
    // -U: instar takes no locks, so there is nothing to share.
  }
  Operands ops;
  if (!ParseOperands(global, operands, &ops)) return kExitError;
  if (!ops.input || !ops.output) {
    return ReportError(global, "Must specify both input and output files");
  }
  const std::string& input = *ops.input;
  const std::string& output = *ops.output;

  CliError error;
  abi::OperationConfig config;
  if (!MakeConfig(global, abi::Operation::kDd, output, &config, &error)) {
    return ReportError(global, error);
  }
  abi::DdConfig& c = config.dd;
  c.block_size = ops.block_size;
  if (ops.count) {
    c.flags |= abi::kDdHasCount;
    c.count = *ops.count;
  }
  if (ops.skip) {
    c.flags |= abi::kDdHasSkip;
    c.skip = *ops.skip;
  }
  if (!CopyConfigField(c.input_filename, sizeof(c.input_filename), input)) {
    return ReportError(global, "Could not open '" + input + "': File name too long");
  }
  if (has_format && !LookUpFormatHint(global, input, format, &c.input_format)) return kExitError;
  if (!CopyConfigField(c.target_format, sizeof(c.target_format), output_format)) {
    return ReportError(global, "Unknown file format");
  }
  // What a writer takes from the clock and the random generator (vhdx's
  // GUIDs): the guest has neither.
  c.now_seconds = static_cast<uint64_t>(std::time(nullptr));
  if (::getrandom(c.random, sizeof(c.random), 0) != static_cast<ssize_t>(sizeof(c.random))) {
    return ReportError(global, "cannot read random bytes for the new image");
  }

  // The output first (it must be device 0), under its temporary name; the
  // host cannot know its size, so its writes are bounded only by what a
  // file offset allows. When it cannot be made the guest still runs, so
  // that qemu-img's order holds: the input's errors and -O's come first.
  DeviceTable devices;
  std::string create_error;
  const bool have_output = devices.OpenOutput(output, abi::kMaxRangeEnd, &create_error);
  if (!have_output) c.flags |= abi::kDdNoOutput;
  c.input_device = have_output ? 1 : 0;
  if (!OpenUserImage(global, input, &devices, &error)) {
    devices.DiscardOutput();
    return ReportError(global, error);
  }

  DdView view;
  int exit_code = kExitOk;
  if (!RunForView(global, config, devices, /*last_run=*/true, ReadDdView, &view, &exit_code)) {
    return exit_code;
  }
  if (view.no_output || !have_output) {
    devices.DiscardOutput();
    return ReportError(global, output + ": error while creating output image: " + create_error);
  }
  if (view.warning) ReportQemuLines(global, PrintableText(*view.warning));
  if (!devices.CommitOutput(&create_error)) {
    return ReportError(global, output + ": error while creating output image: " + create_error);
  }
  return kExitOk;
}

}  // namespace instar::vmm
