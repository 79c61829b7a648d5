// instar compare: `qemu-img compare`, with its options and messages.
//
//   compare [-f FMT] [-F FMT] [-s] [-T CACHE] [-q] [-U] FILENAME1 FILENAME2
//
// The host opens both files as the first two devices and the sandbox opens
// each image with its backing chain and walks them against each other
// (instar/engine/compare.h); only the verdict comes back
// (compare_result.h). Exit statuses are qemu-img's: 0 identical, 1
// different, 2 an image that cannot be opened, 3 a block status that
// failed, 4 a read that failed; argument errors exit 1 as qemu-img's
// error_exit() does. --image-opts, --object and -p (progress) are refused
// with a clear line.
#include <cstdio>
#include <string>

#include "instar/engine/image.h"
#include "vmm/cli/cli.h"
#include "vmm/render/cli_dialect.h"
#include "vmm/render/compare_render.h"
#include "vmm/result/compare_view.h"

namespace instar::vmm {

const char kCompareSynopsis[] =
    "compare [-f FMT] [-F FMT] [-s] [-T CACHE] [-q] [-U] FILENAME1 FILENAME2";

namespace {

const char kCommand[] = "compare";

// qemu-img compare's exit status for an image that cannot be opened.
constexpr int kExitCannotOpen = 2;

// 10.0 named every option; before, only the short letters and three long
// options existed.
std::vector<OptionSpec> CompareOptions(const CliDialect& cli) {
  if (!cli.long_option_names) {
    return {
        {"help", 'h', false},        {nullptr, 'f', true},  {nullptr, 'F', true},
        {nullptr, 'T', true},        {nullptr, 'p', false}, {nullptr, 'q', false},
        {nullptr, 's', false},       {"object", 0, true},   {"image-opts", 0, false},
        {"force-share", 'U', false},
    };
  }
  return {
      {"help", 'h', false},     {"a-format", 'f', true},     {"b-format", 'F', true},
      {"cache", 'T', true},     {"progress", 'p', false},    {"quiet", 'q', false},
      {"strict", 's', false},   {"force-share", 'U', false}, {"object", 0, true},
      {"image-opts", 0, false},
  };
}

void PrintHelp(const GlobalOptions& global) {
  std::printf(
      "Usage: %s compare [-f FMT] [-F FMT] [-s] [-T CACHE] [-q] [-U] FILENAME1 FILENAME2\n"
      "\n"
      "Checks whether two images have the same contents, as qemu-img compare\n"
      "does: each image is read with its backing chain, and the first offset\n"
      "where they differ is printed. Both images are read only inside the\n"
      "sandbox. Exit status: 0 identical, 1 different, 2 an image cannot be\n"
      "opened, 3 or 4 an image cannot be read.\n"
      "\n"
      "  -f, --a-format FMT      format of FILENAME1 (probed when not given)\n"
      "  -F, --b-format FMT      format of FILENAME2 (probed when not given)\n"
      "  -s, --strict            also fail on a size or allocation difference\n"
      "  -T, --cache CACHE       accepted for compatibility; instar reads directly\n"
      "  -q, --quiet             print nothing on stdout, only the exit status\n"
      "  -U, --force-share       accepted for compatibility; instar never locks\n",
      global.argv0.c_str());
}

// bdrv_parse_cache_mode()'s names.
bool IsCacheMode(const std::string& mode) {
  return mode == "none" || mode == "off" || mode == "writeback" || mode == "writethrough" ||
         mode == "directsync" || mode == "unsafe";
}

bool SetFormat(const GlobalOptions& global, const std::string& filename, const std::string& format,
               uint32_t* hint, int* exit_code) {
  if (format.empty() || LookUpFormatHint(global, filename, format, hint)) return true;
  *exit_code = kExitCannotOpen;
  return false;
}

}  // namespace

int RunCompareCommand(const GlobalOptions& global, const std::vector<std::string>& args) {
  const CliDialect cli = CliDialectFor(global.compat);
  std::vector<ParsedOption> parsed;
  if (!ParseCommandOptions(global, kCommand, args, CompareOptions(cli),
                           GetoptWording::kQemuImgBefore10, &parsed)) {
    return kExitError;
  }
  CliError error;
  std::vector<std::string> filenames;
  std::string format1;
  std::string format2;
  std::string cache = "writeback";
  bool strict = false;
  bool quiet = false;
  bool image_opts = false;
  for (const ParsedOption& option : parsed) {
    const std::string& name = option.name;
    if (name.empty()) {
      filenames.push_back(option.value);
    } else if (name == "help" || name == "h") {
      PrintHelp(global);
      return kExitOk;
    } else if (name == "a-format" || name == "f") {
      format1 = option.value;
    } else if (name == "b-format" || name == "F") {
      format2 = option.value;
    } else if (name == "cache" || name == "T") {
      cache = option.value;
    } else if (name == "progress" || name == "p") {
      return ReportError(global, "-p (progress) is not supported by instar compare");
    } else if (name == "quiet" || name == "q") {
      quiet = true;
    } else if (name == "strict" || name == "s") {
      strict = true;
    } else if (name == "object") {
      return ReportError(global, "--object is not supported by instar");
    } else if (name == "image-opts") {
      image_opts = true;
    }
    // -U: instar takes no locks, so there is nothing to share.
  }
  if (filenames.size() != 2) {
    return ReportErrorExit(global, kCommand, "Expecting two image file names");
  }
  if (image_opts) return ReportError(global, "--image-opts is not supported by instar");
  if (!IsCacheMode(cache)) {
    ReportError(global, "Invalid source cache option: " + cache);
    return kExitCannotOpen;
  }

  const std::string& filename1 = filenames[0];
  const std::string& filename2 = filenames[1];
  abi::OperationConfig config;
  if (!MakeConfig(global, abi::Operation::kCompare, filename1, &config, &error)) {
    ReportError(global, error);
    return kExitCannotOpen;
  }
  abi::CompareConfig& c = config.compare;
  if (filename2.size() >= sizeof(c.filename2) || filename2.find('\0') != std::string::npos) {
    ReportError(global, "Could not open '" + filename2 + "': File name too long");
    return kExitCannotOpen;
  }
  filename2.copy(c.filename2, filename2.size());
  if (strict) c.flags |= abi::kCompareStrict;
  int exit_code = kExitOk;
  if (!SetFormat(global, filename1, format1, &config.format_hint, &exit_code) ||
      !SetFormat(global, filename2, format2, &c.format_hint2, &exit_code)) {
    return exit_code;
  }

  // Device 0 is A and device 1 is B: the roots their backing files are
  // found from (device_table.h).
  DeviceTable devices;
  if (!OpenUserImage(global, filename1, &devices, &error) ||
      !OpenUserImage(global, filename2, &devices, &error)) {
    ReportError(global, error);
    return kExitCannotOpen;
  }

  CompareView view;
  if (!RunForView(global, config, devices, /*last_run=*/true, ReadCompareView, &view, &exit_code)) {
    // An image the guest could not open: qemu-img's img_open() failure.
    return exit_code == kExitError ? kExitCannotOpen : exit_code;
  }
  const CompareOutput rendered = RenderCompare(view, quiet);
  (void)std::fwrite(rendered.out.data(), 1, rendered.out.size(), stdout);
  if (!rendered.err.empty()) ReportQemuLines(global, PrintableText(rendered.err));
  return rendered.exit_code;
}

}  // namespace instar::vmm
