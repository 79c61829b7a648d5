// instar measure: `qemu-img measure`, with its options and messages.
//
//   measure [--output human|json] [-O FMT] [-o OPTIONS]
//           (--size SIZE | [-f FMT] [-U] FILENAME)
//
// -l/--snapshot, --image-opts and --object are refused with a clear line.
// The size math runs in the sandbox, like everything that may touch image
// bytes; the host parses the command line and renders the result.
#include <cstdio>
#include <cstring>

#include "instar/engine/image.h"
#include "instar/engine/measure.h"
#include "instar/engine/measure_dialect.h"
#include "instar/guest/abi.h"
#include "vmm/cli/cli.h"
#include "vmm/render/measure_render.h"
#include "vmm/result/measure_view.h"

namespace instar::vmm {

namespace {

const char kCommand[] = "measure";

const std::vector<OptionSpec>& MeasureOptions() {
  static const std::vector<OptionSpec> specs = {
      {"help", 'h', false},        {"target-format", 'O', true}, {"format", 'f', true},
      {"image-opts", 0, false},    {"options", 'o', true},       {"snapshot", 'l', true},
      {"object", 0, true},         {"output", 0, true},          {"size", 0, true},
      {"force-share", 'U', false},
  };
  return specs;
}

void PrintHelp(const GlobalOptions& global) {
  std::printf(
      "Usage: %s measure [-f FMT] [-O OUTPUT_FMT] [-o OPTIONS] [--output human|json]\n"
      "           (--size SIZE | FILENAME)\n"
      "\n"
      "Prints the size a new image of OUTPUT_FMT needs: for an empty image of\n"
      "SIZE bytes, or to hold a conversion of FILENAME. FILENAME is read only\n"
      "inside the sandbox.\n"
      "\n"
      "  -O, --target-format FMT  format of the new image (default raw)\n"
      "  -o, --options OPTIONS    creation options of that format (name=value,...)\n"
      "  --size SIZE              measure an empty image of SIZE (k, M, G, T, P, E)\n"
      "  -f, --format FMT         format of FILENAME (probed when not given)\n"
      "  --output human|json      output format (default human)\n"
      "  -U, --force-share        accepted for compatibility; instar never locks\n",
      global.argv0.c_str());
}

// What qemu-img prints for `error` (the engine's words).
std::string FormatError(const MeasureError& error) {
  std::string text(FormatMeasureError(error, nullptr, 0) + 1, '\0');
  text.resize(FormatMeasureError(error, text.data(), text.size()));
  return text;
}

// Copies `text` into a fixed, NUL-terminated config field.
bool CopyField(char* field, size_t size, const std::string& text) {
  if (text.size() >= size || text.find('\0') != std::string::npos) return false;
  std::memcpy(field, text.data(), text.size());
  field[text.size()] = '\0';
  return true;
}

}  // namespace

int RunMeasureCommand(const GlobalOptions& global, const std::vector<std::string>& args) {
  std::vector<ParsedOption> parsed;
  CliError error;
  if (!ParseOptions(global, kCommand, args, MeasureOptions(), &parsed, &error)) {
    return ReportError(global, error);
  }

  OutputFormat output = OutputFormat::kHuman;
  std::vector<std::string> filenames;
  std::string format, target_format = "raw", options, snapshot;
  bool image_opts = false;
  std::optional<uint64_t> size;
  // Options take effect in command-line order, as qemu's getopt loop does,
  // so the first bad one is the one reported.
  for (const ParsedOption& option : parsed) {
    if (option.name.empty()) {
      filenames.push_back(option.value);
    } else if (option.name == "help") {
      PrintHelp(global);
      return kExitOk;
    } else if (option.name == "format") {
      format = option.value;
    } else if (option.name == "target-format") {
      target_format = option.value;
    } else if (option.name == "options") {
      MeasureError bad;
      if (!CheckOptionList(option.value.data(), option.value.size(), &bad).ok()) {
        bad.version = global.compat;
        return ReportQemuLines(global, FormatError(bad));
      }
      // qemu joins repeated -o with ','.
      options = options.empty() ? option.value : options + "," + option.value;
    } else if (option.name == "snapshot") {
      snapshot = option.value;
    } else if (option.name == "object") {
      return ReportError(global, "--object is not supported by instar");
    } else if (option.name == "image-opts") {
      image_opts = true;
    } else if (option.name == "output") {
      if (!ParseOutputFormat(global, kCommand, option.value, &output, &error)) {
        return ReportError(global, error);
      }
    } else if (option.name == "size") {
      // The engine's reading of qemu-img's cvtnum("image size"), version by
      // version (MeasureDialect::size_syntax), so the host and the guest
      // agree on every size.
      uint64_t value = 0;
      bool hex_suffix = false;
      MeasureError bad;
      const Status parsed_size = ParseMeasureSize(option.value.data(), option.value.size(),
                                                  global.compat, &value, &hex_suffix, &bad);
      if (hex_suffix) {
        const MeasureText text{option.value.data(), option.value.size()};
        std::string line(FormatHexSuffixWarning(text, nullptr, 0) + 1, '\0');
        line.resize(FormatHexSuffixWarning(text, line.data(), line.size()));
        ReportQemuLines(global, line);
      }
      if (!parsed_size.ok()) return ReportQemuLines(global, FormatError(bad));
      size = value;
    }
    // force-share: instar takes no locks, so there is nothing to share.
  }

  if (filenames.size() > 1) return ReportError(global, "At most one filename argument is allowed.");
  if (filenames.empty() && (image_opts || !format.empty() || !snapshot.empty())) {
    return ReportError(global, "--image-opts, -f, and -l require a filename argument.");
  }
  if (!filenames.empty() && size) {
    return ReportError(global, "--size N cannot be used together with a filename.");
  }
  if (filenames.empty() && !size) {
    return ReportError(global, "Either --size N or one filename must be specified.");
  }
  if (image_opts) return ReportError(global, "--image-opts is not supported by instar");
  if (!snapshot.empty()) return ReportError(global, "-l/--snapshot is not supported by instar");

  abi::OperationConfig config;
  const std::string filename = filenames.empty() ? "" : filenames[0];
  if (!MakeConfig(global, abi::Operation::kMeasure, filename, &config, &error)) {
    return ReportError(global, error);
  }
  DeviceTable devices;
  if (!filename.empty()) {
    if (!format.empty()) {
      const ImageFormat hint = ImageFormatFromName(format.data(), format.size());
      if (hint == ImageFormat::kUnknown) {
        return ReportError(global,
                           "Could not open '" + filename + "': Unknown driver '" + format + "'");
      }
      config.format_hint = static_cast<uint32_t>(hint);
    }
    if (!OpenUserImage(global, filename, &devices, &error)) return ReportError(global, error);
  } else {
    config.measure.has_size = 1;
    config.measure.size = *size;
  }
  if (!CopyField(config.measure.target_format, sizeof(config.measure.target_format),
                 target_format)) {
    return ReportError(global, "Unknown file format '" + target_format + "'");
  }
  if (!CopyField(config.measure.options, sizeof(config.measure.options), options)) {
    return ReportError(global, "the -o options are longer than instar accepts (" +
                                   std::to_string(sizeof(config.measure.options) - 1) + " bytes)");
  }

  DecodedResult result;
  int exit_code = kExitOk;
  if (!RunInSandbox(global, config, devices, &result, &exit_code)) return exit_code;
  MeasureView measure;
  std::string why;
  if (!ReadMeasureView(result, &measure, &why)) {
    ReportError(global, "the sandbox returned a malformed result: " + why);
    return kExitBadResult;
  }
  const std::string text = RenderMeasure(measure, output, MeasureDialectFor(global.compat));
  (void)std::fwrite(text.data(), 1, text.size(), stdout);
  return kExitOk;
}

}  // namespace instar::vmm
