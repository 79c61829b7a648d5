// instar map: `qemu-img map`, with its options and messages.
//
//   map [-f FMT] [--output human|json] [--start-offset OFFSET]
//       [--max-length LENGTH] [-U] FILENAME
//
// The sandbox walks the image and its backing chain and returns the merged
// extents (map_result.h); the host names each extent's file by the path
// the run opened it under and prints them as the compat version does
// (vmm/render/map_render.h). A walk that fails part way prints what
// qemu-img printed before failing, then its error, and exits 1.
// --image-opts and --object are refused with a clear line, as by info.
#include <cstdio>
#include <string>

#include "instar/engine/image.h"
#include "instar/engine/map_dialect.h"
#include "instar/engine/measure.h"
#include "vmm/cli/cli.h"
#include "vmm/render/cli_dialect.h"
#include "vmm/render/map_render.h"
#include "vmm/result/map_view.h"

namespace instar::vmm {

const char kMapSynopsis[] =
    "map [-f FMT] [--output human|json] [--start-offset OFFSET] [--max-length LENGTH] [-U] "
    "FILENAME";

namespace {

const char kCommand[] = "map";

const std::vector<OptionSpec>& MapOptions() {
  static const std::vector<OptionSpec> specs = {
      {"help", 'h', false},        {"format", 'f', true},     {"output", 0, true},
      {"object", 0, true},         {"image-opts", 0, false},  {"force-share", 'U', false},
      {"start-offset", 's', true}, {"max-length", 'l', true},
  };
  return specs;
}

void PrintHelp(const GlobalOptions& global) {
  std::printf(
      "Usage: %s map [-f FMT] [--output human|json] [--start-offset OFFSET]\n"
      "           [--max-length LENGTH] [-U] FILENAME\n"
      "\n"
      "Prints the allocation map of FILENAME and its backing chain, as qemu-img\n"
      "map does: each extent, whether it reads as data or zeros, which image\n"
      "of the chain holds it and where. The image is read only inside the\n"
      "sandbox.\n"
      "\n"
      "  -f, --format FMT        format of FILENAME (probed when not given)\n"
      "  --output human|json     output format (default human)\n"
      "  -s, --start-offset OFF  start the map at OFF (k, M, G, T, P, E)\n"
      "  -l, --max-length LEN    map at most LEN bytes from there\n"
      "  -U, --force-share       accepted for compatibility; instar never locks\n",
      global.argv0.c_str());
}

// qemu-img's cvtnum(`name`, value): a size as --size reads it, with that
// version's syntax and words (the engine's ParseMeasureSize()), the name
// put where qemu puts it. False, with the lines printed, when it is not one.
bool ParseOffset(const GlobalOptions& global, const std::string& name, const std::string& value,
                 uint64_t* out) {
  bool hex_suffix = false;
  MeasureError bad;
  const Status parsed =
      ParseMeasureSize(value.data(), value.size(), global.compat, out, &hex_suffix, &bad);
  const auto named = [&](std::string text) {
    static const std::string kImageSize = "image size";
    for (size_t at = text.find(kImageSize); at != std::string::npos;
         at = text.find(kImageSize, at + name.size())) {
      text.replace(at, kImageSize.size(), name);
    }
    return text;
  };
  if (hex_suffix) {
    const MeasureText text{value.data(), value.size()};
    std::string line(FormatHexSuffixWarning(text, nullptr, 0) + 1, '\0');
    line.resize(FormatHexSuffixWarning(text, line.data(), line.size()));
    ReportQemuLines(global, line);
  }
  if (parsed.ok()) return true;
  std::string text(FormatMeasureError(bad, nullptr, 0) + 1, '\0');
  text.resize(FormatMeasureError(bad, text.data(), text.size()));
  ReportQemuLines(global, named(text));
  return false;
}

}  // namespace

int RunMapCommand(const GlobalOptions& global, const std::vector<std::string>& args) {
  std::vector<ParsedOption> parsed;
  if (!ParseCommandOptions(global, kCommand, args, MapOptions(), GetoptWording::kQemuImgBefore10,
                           &parsed)) {
    return kExitError;
  }
  CliError error;
  std::vector<std::string> filenames;
  std::string format;
  std::string output_text;
  bool has_output = false;
  bool image_opts = false;
  abi::MapConfig range{};
  for (const ParsedOption& option : parsed) {
    if (option.name.empty()) {
      filenames.push_back(option.value);
    } else if (option.name == "help") {
      PrintHelp(global);
      return kExitOk;
    } else if (option.name == "format") {
      format = option.value;
    } else if (option.name == "output") {
      output_text = option.value;
      has_output = true;
    } else if (option.name == "start-offset") {
      if (!ParseOffset(global, "start offset", option.value, &range.start_offset)) {
        return kExitError;
      }
    } else if (option.name == "max-length") {
      if (!ParseOffset(global, "max length", option.value, &range.max_length)) return kExitError;
      range.has_max_length = 1;
    } else if (option.name == "object") {
      return ReportError(global, "--object is not supported by instar");
    } else if (option.name == "image-opts") {
      image_opts = true;
    }
    // -U: instar takes no locks, so there is nothing to share.
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
  if (!MakeConfig(global, abi::Operation::kMap, filename, &config, &error)) {
    return ReportError(global, error);
  }
  if (!format.empty() && !LookUpFormatHint(global, filename, format, &config.format_hint)) {
    return kExitError;
  }
  config.map = range;
  DeviceTable devices;
  if (!OpenUserImage(global, filename, &devices, &error)) return ReportError(global, error);

  auto read = [&devices](const DecodedResult& result, MapView* view, std::string* why) {
    if (!ReadMapView(result, view, why)) return false;
    if (DevicesWithin(*view, devices.count())) return true;
    *why = "it names a device the run did not open";
    return false;
  };
  MapView view;
  int exit_code = kExitOk;
  if (!RunForView(global, config, devices, /*last_run=*/true, read, &view, &exit_code)) {
    return exit_code;
  }
  std::vector<std::string> files;
  for (uint32_t device = 0; device < devices.count(); ++device) {
    files.push_back(devices.path(device));
  }
  const MapOutput rendered = RenderMap(view, files, output, MapDialectFor(global.compat));
  (void)std::fwrite(rendered.out.data(), 1, rendered.out.size(), stdout);
  if (!rendered.failed) return kExitOk;
  std::string err = rendered.err;
  if (!err.empty() && err.back() == '\n') err.pop_back();
  ReportQemuLines(global, PrintableText(err));
  return kExitError;
}

}  // namespace instar::vmm
