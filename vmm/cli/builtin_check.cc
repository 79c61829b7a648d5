// instar check: `qemu-img check`, with its options and messages.
//
//   check [-f FMT] [--output human|json] [-q] [-T SRC_CACHE] [-U] FILENAME
//
// The sandbox opens the image as qemu-img check does and runs its format's
// check (check_result.h): for qcow2 the refcounts rebuilt in memory and
// compared with the image's, for vmdk and vhdx their drivers' checks;
// raw and vpc have none ("This image format does not support checks",
// exit 63). The host prints the result as qemu-img does and exits 0, 2
// (corruptions), 3 (leaks only) or 1 (the check failed), the lines the
// check printed going to stderr first (vmm/render/check_render.h).
// -r (repair) is refused with one line: it writes to the image. --image-opts
// and --object are refused as by info.
#include <cstdio>
#include <string>

#include "instar/engine/image.h"
#include "instar/engine/version.h"
#include "vmm/cli/cli.h"
#include "vmm/render/check_render.h"
#include "vmm/render/cli_dialect.h"
#include "vmm/result/check_view.h"

namespace instar::vmm {

const char kCheckSynopsis[] =
    "check [-f FMT] [--output human|json] [-q] [-T SRC_CACHE] [-U] FILENAME";

namespace {

const char kCommand[] = "check";

// -T and -q have long names, --cache and --quiet, from 10.0.
std::vector<OptionSpec> CheckOptions(const QemuVersion& compat) {
  const bool long_names = compat.AtLeast(10, 0);
  return {
      {"help", 'h', false},
      {"format", 'f', true},
      {"repair", 'r', true},
      {"output", 0, true},
      {"object", 0, true},
      {"image-opts", 0, false},
      {"force-share", 'U', false},
      {long_names ? "cache" : nullptr, 'T', true},
      {long_names ? "quiet" : nullptr, 'q', false},
  };
}

void PrintHelp(const GlobalOptions& global) {
  std::printf(
      "Usage: %s check [-f FMT] [--output human|json] [-q] [-U] FILENAME\n"
      "\n"
      "Checks FILENAME for consistency, as qemu-img check does: for qcow2 the\n"
      "reference counts are rebuilt from the image's tables and compared with\n"
      "its own, leaks and corruptions reported. The image is read only inside\n"
      "the sandbox and never repaired (-r is refused: it writes).\n"
      "\n"
      "  -f, --format FMT      format of FILENAME (probed when not given)\n"
      "  --output human|json   output format (default human)\n"
      "  -q                    print nothing on stdout\n"
      "  -T SRC_CACHE          accepted for compatibility; instar has no cache\n"
      "  -U, --force-share     accepted for compatibility; instar never locks\n"
      "\n"
      "Exit status: 0 no errors, 1 the check failed, 2 corruptions, 3 leaked\n"
      "clusters only, 63 the format has no check.\n",
      global.argv0.c_str());
}

}  // namespace

int RunCheckCommand(const GlobalOptions& global, const std::vector<std::string>& args) {
  std::vector<ParsedOption> parsed;
  if (!ParseCommandOptions(global, kCommand, args, CheckOptions(global.compat),
                           GetoptWording::kQemuImgBefore10, &parsed)) {
    return kExitError;
  }
  CliError error;
  std::vector<std::string> filenames;
  std::string format;
  std::string output_text;
  bool has_output = false;
  bool image_opts = false;
  bool quiet = false;
  for (const ParsedOption& option : parsed) {
    if (option.name.empty()) {
      filenames.push_back(option.value);
    } else if (option.name == "help") {
      PrintHelp(global);
      return kExitOk;
    } else if (option.name == "format") {
      format = option.value;
    } else if (option.name == "repair") {
      return ReportError(global, "-r is not supported by instar: a repair writes to the image");
    } else if (option.name == "output") {
      output_text = option.value;
      has_output = true;
    } else if (option.name == "q" || option.name == "quiet") {
      quiet = true;
    } else if (option.name == "object") {
      return ReportError(global, "--object is not supported by instar");
    } else if (option.name == "image-opts") {
      image_opts = true;
    }
    // -T/--cache: instar has no cache to set; -U: it takes no locks.
  }
  if (filenames.size() != 1) {
    return ReportErrorExit(global, kCommand, "Expecting one image file name");
  }
  // qemu-img reads --output after the file name is known.
  OutputFormat output = OutputFormat::kHuman;
  if (has_output && !ParseOutputFormat(global, kCommand, output_text, &output, &error)) {
    return ReportError(global, error);
  }
  if (image_opts) return ReportError(global, "--image-opts is not supported by instar");

  const std::string& filename = filenames[0];
  abi::OperationConfig config;
  if (!MakeConfig(global, abi::Operation::kCheck, filename, &config, &error)) {
    return ReportError(global, error);
  }
  if (!format.empty() && !LookUpFormatHint(global, filename, format, &config.format_hint)) {
    return kExitError;
  }
  DeviceTable devices;
  if (!OpenUserImage(global, filename, &devices, &error)) return ReportError(global, error);

  CheckView view;
  int exit_code = kExitOk;
  if (!RunForView(global, config, devices, /*last_run=*/true, ReadCheckView, &view, &exit_code)) {
    return exit_code;
  }
  const CheckOutput rendered = RenderCheck(view, filename, output, quiet);
  if (!rendered.err.empty()) {
    std::string err = rendered.err;
    err.pop_back();
    ReportQemuLines(global, PrintableText(err));
  }
  (void)std::fwrite(rendered.out.data(), 1, rendered.out.size(), stdout);
  return rendered.exit_code;
}

}  // namespace instar::vmm
