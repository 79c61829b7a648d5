// instar info: `qemu-img info`, with its options and messages.
//
//   info [-f FMT] [--output human|json] [--backing-chain] [-U] FILENAME
//
// --image-opts and --object are refused with a clear line. For now the
// result holds the format and the virtual size; the disk size is host
// metadata (fstat).
#include <sys/stat.h>

#include <cstdio>

#include "instar/engine/image.h"
#include "vmm/cli/cli.h"
#include "vmm/render/info_render.h"
#include "vmm/result/info_view.h"

namespace instar::vmm {

namespace {

const char kCommand[] = "info";

const std::vector<OptionSpec>& InfoOptions() {
  static const std::vector<OptionSpec> specs = {
      {"help", 'h', false},        {"format", 'f', true},    {"output", 0, true},
      {"backing-chain", 0, false}, {"image-opts", 0, false}, {"object", 0, true},
      {"force-share", 'U', false},
  };
  return specs;
}

void PrintHelp(const GlobalOptions& global) {
  std::printf(
      "Usage: %s info [-f FMT] [--output human|json] [--backing-chain] [-U] FILENAME\n"
      "\n"
      "Prints what FILENAME is: its format, virtual size and disk size. The\n"
      "image is read only inside the sandbox.\n"
      "\n"
      "  -f, --format FMT     format of FILENAME (probed when not given)\n"
      "  --output human|json  output format (default human)\n"
      "  --backing-chain      also describe every image of the backing chain\n"
      "  -U, --force-share    accepted for compatibility; instar never locks\n",
      global.argv0.c_str());
}

}  // namespace

int RunInfoCommand(const GlobalOptions& global, const std::vector<std::string>& args) {
  std::vector<ParsedOption> parsed;
  CliError error;
  if (!ParseOptions(global, kCommand, args, InfoOptions(), &parsed, &error)) {
    return ReportError(global, error);
  }
  OutputFormat output = OutputFormat::kHuman;
  std::vector<std::string> filenames;
  std::string format;
  bool image_opts = false;
  for (const ParsedOption& option : parsed) {
    if (option.name.empty()) {
      filenames.push_back(option.value);
    } else if (option.name == "help") {
      PrintHelp(global);
      return kExitOk;
    } else if (option.name == "format") {
      format = option.value;
    } else if (option.name == "output") {
      if (!ParseOutputFormat(global, kCommand, option.value, &output, &error)) {
        return ReportError(global, error);
      }
    } else if (option.name == "object") {
      return ReportError(global, "--object is not supported by instar");
    } else if (option.name == "image-opts") {
      image_opts = true;
    }
    // --backing-chain: an image without a backing file is its own chain;
    // walking longer chains comes with backing support. -U: no locks.
  }
  if (filenames.size() != 1) {
    CliError e{{"Expecting one image file name"}, {}};
    if (global.compat.AtLeast(10, 0)) {
      e.raw = {TryHelpLine(global, kCommand)};
    } else {
      e.raw = {"Try '" + global.program + " --help' for more information"};
    }
    return ReportError(global, e);
  }
  if (image_opts) return ReportError(global, "--image-opts is not supported by instar");

  const std::string& filename = filenames[0];
  abi::OperationConfig config;
  if (!MakeConfig(global, abi::Operation::kInfo, filename, &config, &error)) {
    return ReportError(global, error);
  }
  if (!format.empty()) {
    const ImageFormat hint = ImageFormatFromName(format.data(), format.size());
    if (hint == ImageFormat::kUnknown) {
      return ReportError(global,
                         "Could not open '" + filename + "': Unknown driver '" + format + "'");
    }
    config.format_hint = static_cast<uint32_t>(hint);
  }
  DeviceTable devices;
  if (!OpenUserImage(global, filename, &devices, &error)) return ReportError(global, error);

  DecodedResult result;
  int exit_code = kExitOk;
  if (!RunInSandbox(global, config, devices, &result, &exit_code)) return exit_code;
  InfoView info;
  std::string why;
  if (!ReadInfoView(result, &info, &why)) {
    ReportError(global, "the sandbox returned a malformed result: " + why);
    return kExitBadResult;
  }
  InfoHostFacts host;
  host.filename = filename;
  struct stat st;
  if (::fstat(devices.fd(0), &st) == 0) host.disk_size = static_cast<uint64_t>(st.st_blocks) * 512;
  const std::string text = RenderInfo(info, host, output, global.compat);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return kExitOk;
}

}  // namespace instar::vmm
