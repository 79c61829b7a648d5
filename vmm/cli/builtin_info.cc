// instar info: `qemu-img info`, with its options and messages.
//
//   info [-f FMT] [--output human|json] [--backing-chain] [-U] FILENAME
//
// The sandbox describes one image per run; everything about the files
// themselves (their allocated size, their length, the names they were opened
// under) is host metadata, read here with fstat(2). --backing-chain walks the
// chain on the host as qemu-img's collect_image_info_list() does: each
// backing file is opened by its full name (resolved against the image that
// names it) with the format that image records, and nothing is printed
// unless every image could be described. --image-opts and --object are
// refused with a clear line.
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cstdio>
#include <set>

#include "instar/engine/image.h"
#include "vmm/cli/cli.h"
#include "vmm/render/cli_dialect.h"
#include "vmm/render/info_dialect.h"
#include "vmm/render/info_render.h"
#include "vmm/result/info_view.h"

namespace instar::vmm {

namespace {

const char kCommand[] = "info";

std::vector<OptionSpec> InfoOptions(const InfoDialect& dialect) {
  std::vector<OptionSpec> specs = {
      {"help", 'h', false},        {"format", 'f', true},    {"output", 0, true},
      {"backing-chain", 0, false}, {"image-opts", 0, false}, {"object", 0, true},
      {"force-share", 'U', false},
  };
  if (dialect.short_b_backing_chain) specs[3].short_name = 'b';
  return specs;
}

void PrintHelp(const GlobalOptions& global) {
  std::printf(
      "Usage: %s info [-f FMT] [--output human|json] [--backing-chain] [-U] FILENAME\n"
      "\n"
      "Prints what FILENAME is, as qemu-img info does: its format, sizes and\n"
      "format-specific details. The image is read only inside the sandbox.\n"
      "\n"
      "  -f, --format FMT     format of FILENAME (probed when not given)\n"
      "  --output human|json  output format (default human)\n"
      "  --backing-chain      also describe every image of the backing chain\n"
      "  -U, --force-share    accepted for compatibility; instar never locks\n",
      global.argv0.c_str());
}

// What the host knows of each file the run had open, by device number.
std::vector<InfoHostFile> HostFiles(DeviceTable& devices) {
  std::vector<InfoHostFile> files;
  for (uint32_t device = 0; device < devices.count(); ++device) {
    InfoHostFile file;
    file.path = devices.path(device);
    uint64_t size = 0;
    if (devices.Size(device, &size) == abi::CallError::kOk) {
      // bdrv_getlength() counts whole sectors.
      file.length = (size + 511) / 512 * 512;
    }
    struct stat st;
    if (::fstat(devices.fd(device), &st) == 0) {
      file.allocated = static_cast<uint64_t>(st.st_blocks) * 512;
    }
    struct fsxattr attr;
    if (::ioctl(devices.fd(device), FS_IOC_FSGETXATTR, &attr) == 0 && attr.fsx_extsize != 0) {
      file.extent_size_hint = attr.fsx_extsize;
    }
    files.push_back(std::move(file));
  }
  return files;
}

// One sandbox run: `filename` (with -f `format` when not empty) described.
// On failure the error is printed and *exit_code set. `last_run`: no run
// follows (no --backing-chain), so the host may be confined.
bool DescribeImage(const GlobalOptions& global, const std::string& filename,
                   const std::string& format, bool last_run, InfoImage* image, int* exit_code) {
  *exit_code = kExitError;
  CliError error;
  abi::OperationConfig config;
  if (!MakeConfig(global, abi::Operation::kInfo, filename, &config, &error)) {
    ReportError(global, error);
    return false;
  }
  if (!format.empty() && !LookUpFormatHint(global, filename, format, &config.format_hint)) {
    return false;
  }
  DeviceTable devices;
  if (!OpenUserImage(global, filename, &devices, &error)) {
    ReportError(global, error);
    return false;
  }
  auto read = [&devices](const DecodedResult& result, InfoView* view, std::string* why) {
    if (!ReadInfoView(result, view, why)) return false;
    if (DevicesWithin(*view, devices.count())) return true;
    *why = "it names a device the run did not open";
    return false;
  };
  if (!RunForView(global, config, devices, last_run, read, &image->view, exit_code)) return false;
  image->files = HostFiles(devices);
  return true;
}

}  // namespace

int RunInfoCommand(const GlobalOptions& global, const std::vector<std::string>& args) {
  const InfoDialect dialect = InfoDialectFor(global.compat);
  std::vector<ParsedOption> parsed;
  if (!ParseCommandOptions(global, kCommand, args, InfoOptions(dialect),
                           GetoptWording::kQemuImgBefore10, &parsed)) {
    return kExitError;
  }
  CliError error;
  OutputFormat output = OutputFormat::kHuman;
  std::vector<std::string> filenames;
  std::string format;
  bool image_opts = false;
  bool chain = false;
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
    } else if (option.name == "backing-chain") {
      chain = true;
    }
    // -U: instar takes no locks, so there is nothing to share.
  }
  if (filenames.size() != 1) {
    return ReportErrorExit(global, kCommand, "Expecting one image file name");
  }
  if (image_opts) return ReportError(global, "--image-opts is not supported by instar");

  std::vector<InfoImage> images;
  std::set<std::string> seen;
  std::string filename = filenames[0];
  for (;;) {
    if (!seen.insert(filename).second) {
      return ReportError(global, "Backing file '" + filename + "' creates an infinite loop.");
    }
    InfoImage image;
    int exit_code = kExitOk;
    // With --backing-chain each image of the chain is one more sandbox run,
    // and which one is last is known only from its result: such a chain
    // runs unconfined (docs/sandbox.md).
    if (!DescribeImage(global, filename, format, !chain, &image, &exit_code)) return exit_code;
    images.push_back(std::move(image));
    const InfoView& view = images.back().view;
    if (!chain || !view.backing_filename) break;
    filename = FullBackingFilename(filename, *view.backing_filename);
    format = view.backing_format.value_or("");
  }
  const std::string text = RenderInfo(images, chain, output, dialect);
  (void)std::fwrite(text.data(), 1, text.size(), stdout);
  return kExitOk;
}

}  // namespace instar::vmm
