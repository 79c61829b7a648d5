// instar convert: `qemu-img convert`, with its options and messages.
//
//   convert [-f FMT] [-O OUTPUT_FMT] [-o OPTIONS] [-B BACKING [-F BACKING_FMT]]
//           [-c] [-S SPARSE_SIZE] [-n] [-p] [-q] SRC [SRC2 ...] OUTPUT
//
// The host reads the command line as img_convert()'s getopt loop does (the
// options each version has, -S's words, the checks between options), creates
// the output under a temporary name beside OUTPUT as create and dd do
// (DeviceTable::OpenOutput) or, with -n, opens the existing OUTPUT read-write
// in place, opens each source, and runs the convert operation, which opens
// the sources, creates and opens the target and copies the data inside the
// sandbox (guest/ops/convert_operation.cc). The temporary file is renamed
// over OUTPUT only when the guest reports that every byte was written;
// otherwise, and on any sandbox failure, it is removed and OUTPUT is left
// as it was. Exit status 1 on any error, as qemu-img's.
//
// -B (10.1 names it -b; both are taken there, the last one wins) and -F go
// to the guest apart from the -o text, which sets them into the parsed
// options after it as qemu-img's add_old_style_options() does.
//
// Not done (each refused in instar's words, docs/instar.md): --bitmaps,
// --salvage, --image-opts, --target-image-opts, --object, -o help.
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <optional>
#include <string>

#include <sys/random.h>

#include "vmm/cli/cli.h"
#include "vmm/render/cli_dialect.h"
#include "vmm/result/convert_view.h"

namespace instar::vmm {

const char kConvertSynopsis[] =
    "convert [-f FMT] [-O OUTPUT_FMT] [-o OPTIONS] [-B BACKING [-F BACKING_FMT]] [-c] "
    "[-S SPARSE_SIZE] [-n] [-p] [-q] SRC [SRC2 ...] OUTPUT";

namespace {

const char kCommand[] = "convert";
// qemu-img.c's MAX_BUF_SECTORS, the largest -S in sectors.
constexpr uint64_t kMaxBufSectors = 32768;
constexpr uint64_t kSector = 512;

std::vector<OptionSpec> ConvertOptions(const GlobalOptions& global, const CliDialect& cli) {
  // Each letter once: with its long name since 10.0, bare before.
  const bool named = cli.long_option_names;
  const bool b_is_backing = global.compat.AtLeast(10, 1);
  std::vector<OptionSpec> specs = {
      {named ? "source-format" : nullptr, 'f', true},
      {named ? "target-format" : nullptr, 'O', true},
      {named && !b_is_backing ? "backing" : nullptr, 'B', true},
      {named ? "copy-range-offloading" : nullptr, 'C', false},
      {named ? "compress" : nullptr, 'c', false},
      {named ? "target-format-options" : nullptr, 'o', true},
      {named ? "snapshot" : nullptr, 'l', true},
      {named ? "sparse-size" : nullptr, 'S', true},
      {named ? "progress" : nullptr, 'p', false},
      {named ? "target-cache" : nullptr, 't', true},
      {named ? "source-cache" : nullptr, 'T', true},
      {named ? "quiet" : nullptr, 'q', false},
      {named ? "no-create" : nullptr, 'n', false},
      {named ? "parallel" : nullptr, 'm', true},
      {named ? "oob-writes" : nullptr, 'W', false},
      {"force-share", 'U', false},
      {named ? "rate-limit" : nullptr, 'r', true},
      {"help", 'h', false},
      {"object", 0, true},
      {"image-opts", 0, false},
      {"target-image-opts", 0, false},
      {"salvage", 0, false},
      {"target-is-zero", 0, false},
      {"bitmaps", 0, false},
  };
  // -F came with 6.2 (qemu commit 1899bf47, "qemu-img: Add -F shorthand to convert").
  if (global.compat.AtLeast(6, 2)) specs.push_back({named ? "backing-format" : nullptr, 'F', true});
  if (b_is_backing) specs.push_back({"backing", 'b', true});
  if (global.compat.AtLeast(7, 0)) specs.push_back({"skip-broken-bitmaps", 0, false});
  return specs;
}

void PrintHelp(const GlobalOptions& global) {
  std::printf(
      "Usage: %s convert [-f FMT] [-O OUTPUT_FMT] [-o OPTIONS] [-B BACKING [-F BACKING_FMT]]\n"
      "               [-c] [-S SPARSE_SIZE] [-n] [-p] [-q] SRC [SRC2 ...] OUTPUT\n"
      "\n"
      "Copies the guest-visible content of SRC (of every SRC, one after the other) into\n"
      "a new image OUTPUT, as qemu-img convert does. The sources are read and the\n"
      "output written inside the sandbox, to a temporary file beside OUTPUT\n"
      "(.OUTPUT.instar-XXXXXX) that replaces OUTPUT only when every byte is written.\n"
      "\n"
      "  -f FMT           format of every SRC (probed when not given)\n"
      "  -O OUTPUT_FMT    format of OUTPUT (default raw)\n"
      "  -o OPTIONS       OUTPUT_FMT's creation options, as for create\n"
      "  -B BACKING       make OUTPUT an overlay of BACKING: what SRC's top image\n"
      "                   leaves unallocated is left to it (-b since 10.1)\n"
      "  -F BACKING_FMT   BACKING's format (-F since 6.2; a format, -F or -o\n"
      "                   backing_fmt, is required since 6.1, probed before)\n"
      "  -c               compress the output's clusters (qcow2, vmdk)\n"
      "  -l SNAPSHOT      copy SRC's internal snapshot (its id or name, or\n"
      "                   snapshot.id=ID,snapshot.name=NAME) instead of its current state\n"
      "  -S SPARSE_SIZE   runs of zeros at least this long are not written (default\n"
      "                   4k; 0 writes everything)\n"
      "  -n               write into the existing OUTPUT instead of creating it\n"
      "  -p               show progress (on a terminal)\n"
      "  -q               quiet\n"
      "  -t, -T, -m, -W, -C, -r, -U\n"
      "                   accepted for compatibility: checked as qemu-img checks them;\n"
      "                   instar writes in order through one writer\n",
      global.argv0.c_str());
}

// qemu_strtoi(): a decimal number, nothing after it (before 10.0, -m).
bool ParseDecimal(const std::string& text, uint64_t* out) {
  if (text.empty() || text.size() > 18) return false;
  uint64_t value = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return false;
    value = value * 10 + static_cast<uint64_t>(ch - '0');
  }
  *out = value;
  return true;
}

// bdrv_parse_cache_mode()'s names.
bool IsCacheMode(const std::string& mode) {
  return mode == "none" || mode == "off" || mode == "writeback" || mode == "unsafe" ||
         mode == "directsync" || mode == "writethrough";
}

// -S: cvtnum("buffer size for sparse output"), then the range every
// version checks.
bool ParseSparseSize(const GlobalOptions& global, const std::string& value, uint64_t* sectors) {
  uint64_t bytes = 0;
  if (!ParseCvtnum(global, "buffer size for sparse output", value, 0, INT64_MAX, &bytes)) {
    return false;
  }
  if (bytes % kSector != 0 || bytes / kSector > kMaxBufSectors) {
    ReportError(global,
                "Invalid buffer size for sparse output specified. Valid sizes are multiples of 512 "
                "up to 16777216. Select 0 to disable sparse detection (fully allocates output).");
    return false;
  }
  *sectors = bytes / kSector;
  return true;
}

struct Settings {
  std::string source_format;
  bool has_source_format = false;
  std::string target_format = "raw";
  std::string options;
  bool has_options = false;
  bool compress = false;
  bool skip_create = false;
  bool progress = false;
  bool quiet = false;
  bool copy_range = false;
  bool salvage = false;
  bool bitmaps = false;
  bool skip_broken = false;
  bool target_is_zero = false;
  bool explicit_sparse = false;
  uint64_t min_sparse = 8;
  std::string cache = "unsafe";
  std::string source_cache = "writeback";
  std::optional<std::string> backing;         // -B / -b
  std::optional<std::string> backing_format;  // -F
  std::vector<std::string> files;
};

// img_convert()'s getopt loop and the checks after it. -1: go on; else the
// exit status, the error already printed.
int ReadSettings(const GlobalOptions& global, const std::vector<std::string>& args,
                 SnapshotOption* snapshot, Settings* out) {
  const CliDialect cli = CliDialectFor(global.compat);
  std::vector<ParsedOption> parsed;
  if (!ParseCommandOptions(global, kCommand, args, ConvertOptions(global, cli),
                           GetoptWording::kQemuImgBefore10, &parsed)) {
    return kExitError;
  }
  for (const ParsedOption& option : parsed) {
    const std::string& name = option.name;
    const std::string& value = option.value;
    if (name.empty()) {
      out->files.push_back(value);
    } else if (name == "help") {
      PrintHelp(global);
      return kExitOk;
    } else if (name == "f" || name == "source-format") {
      out->source_format = value;
      out->has_source_format = true;
    } else if (name == "O" || name == "target-format") {
      out->target_format = value;
    } else if (name == "o" || name == "target-format-options") {
      // accumulate_options(): repeated -o joined with ','.
      out->options = out->has_options ? out->options + "," + value : value;
      out->has_options = true;
    } else if (name == "B" || name == "b" || name == "backing") {
      out->backing = value;
    } else if (name == "F" || name == "backing-format") {
      out->backing_format = value;
    } else if (name == "l" || name == "snapshot") {
      if (!snapshot->Read(global, value)) return kExitError;
    } else if (name == "S" || name == "sparse-size") {
      if (!ParseSparseSize(global, value, &out->min_sparse)) return kExitError;
      out->explicit_sparse = true;
    } else if (name == "n" || name == "no-create") {
      out->skip_create = true;
    } else if (name == "c" || name == "compress") {
      out->compress = true;
    } else if (name == "p" || name == "progress") {
      out->progress = true;
    } else if (name == "q" || name == "quiet") {
      out->quiet = true;
    } else if (name == "t" || name == "target-cache") {
      out->cache = value;
    } else if (name == "T" || name == "source-cache") {
      out->source_cache = value;
    } else if (name == "C" || name == "copy-range-offloading") {
      out->copy_range = true;
    } else if (name == "m" || name == "parallel") {
      // -m: cvtnum_full()'s words since 10.0; before, one line of its own
      // for any value that is not a number from 1 to 16.
      uint64_t coroutines = 0;
      if (global.compat.AtLeast(10, 0)) {
        if (!ParseCvtnum(global, "number of coroutines", value, 1, 16, &coroutines)) {
          return kExitError;
        }
      } else if (!ParseDecimal(value, &coroutines) || coroutines < 1 || coroutines > 16) {
        return ReportError(global,
                           "Invalid number of coroutines. Allowed number of coroutines is between "
                           "1 and 16");
      }
    } else if (name == "r" || name == "rate-limit") {
      uint64_t limit = 0;
      if (!ParseCvtnum(global, "rate limit", value, 0, INT64_MAX, &limit)) return kExitError;
    } else if (name == "salvage") {
      out->salvage = true;
    } else if (name == "bitmaps") {
      out->bitmaps = true;
    } else if (name == "skip-broken-bitmaps") {
      out->skip_broken = true;
    } else if (name == "target-is-zero") {
      out->target_is_zero = true;
    } else if (name == "image-opts" || name == "target-image-opts") {
      return ReportError(global, "--" + name + " is not supported by instar convert");
    } else if (name == "object") {
      return ReportError(global, "--object is not supported by instar convert");
    }
    // -W, -U: instar writes in order and takes no locks.
  }
  if (out->skip_broken && !out->bitmaps) {
    return ReportError(global, "Use of --skip-broken-bitmaps requires --bitmaps");
  }
  if (out->compress && out->copy_range) {
    return ReportError(global, "Cannot enable copy offloading when -c is used");
  }
  if (out->explicit_sparse && out->copy_range) {
    return ReportError(global, "Cannot enable copy offloading when -S is used");
  }
  if (out->copy_range && out->salvage) {
    return ReportError(global, "Cannot use copy offloading in salvaging mode");
  }
  if (out->skip_create && out->has_options) {
    return ReportError(global, "-o has no effect when skipping image creation");
  }
  if (out->target_is_zero && !out->skip_create) {
    return ReportError(global, "--target-is-zero requires use of -n flag");
  }
  const std::string& options = out->options;
  if (out->has_options &&
      (options == "help" || options == "?" || options.find(",help") != std::string::npos ||
       options.find("help,") == 0)) {
    return ReportError(global, "-o help is not supported by instar convert");
  }
  if (out->files.size() < 2) return ReportError(global, "Must specify image file name");
  if (!IsCacheMode(out->source_cache)) {
    return ReportError(global, "Invalid source cache option: " + out->source_cache);
  }
  if (!IsCacheMode(out->cache)) {
    return ReportError(global, "Invalid cache option: " + out->cache);
  }
  if (out->salvage) return ReportError(global, "--salvage is not supported by instar convert");
  if (out->bitmaps) return ReportError(global, "--bitmaps is not supported by instar convert");
  if (out->quiet) out->progress = false;
  return -1;
}

}  // namespace

int RunConvertCommand(const GlobalOptions& global, const std::vector<std::string>& args) {
  // What -l's parser copies: never more than the arguments.
  size_t arguments_size = 0;
  for (const std::string& arg : args) arguments_size += arg.size() + 1;
  std::vector<uint8_t> arena_buffer(2 * arguments_size + 65536);
  Arena arena(arena_buffer.data(), arena_buffer.size());
  SnapshotOption snapshot(arena);
  Settings settings;
  if (const int exit_code = ReadSettings(global, args, &snapshot, &settings); exit_code >= 0) {
    return exit_code;
  }
  const std::string output = settings.files.back();
  const size_t source_count = settings.files.size() - 1;

  CliError error;
  abi::OperationConfig config;
  if (!MakeConfig(global, abi::Operation::kConvert, output, &config, &error)) {
    return ReportError(global, error);
  }
  abi::ConvertConfig& c = config.convert;
  if (source_count > abi::kMaxConvertSources) {
    return ReportError(global, "instar convert takes at most " +
                                   std::to_string(abi::kMaxConvertSources) + " sources");
  }
  c.source_count = static_cast<uint32_t>(source_count);
  size_t at = 0;
  for (size_t i = 0; i < source_count; ++i) {
    const std::string& name = settings.files[i];
    if (name.find('\0') != std::string::npos || at + name.size() + 1 > sizeof(c.source_names)) {
      return ReportError(global, "Could not open '" + name + "': File name too long");
    }
    name.copy(c.source_names + at, name.size());
    at += name.size();
    c.source_names[at++] = '\0';
  }
  if (settings.has_source_format &&
      !LookUpFormatHint(global, settings.files[0], settings.source_format, &c.source_format)) {
    return kExitError;
  }
  if (!CopyConfigField(c.target_format, sizeof(c.target_format), settings.target_format)) {
    return ReportError(global, "Unknown file format '" + settings.target_format + "'");
  }
  if (!CopyConfigField(c.options, sizeof(c.options), settings.options)) {
    return ReportError(global, "-o: the options are longer than instar takes (" +
                                   std::to_string(sizeof(c.options) - 1) + " bytes)");
  }
  if (std::string why;
      !snapshot.Fill(&c.snapshot_kind, &c.snapshot_flags, c.snapshot, sizeof(c.snapshot),
                     c.snapshot_id, sizeof(c.snapshot_id), &why)) {
    return ReportError(global, why);
  }
  if (settings.backing) {
    if (!CopyConfigField(c.backing_file, sizeof(c.backing_file), *settings.backing)) {
      return ReportError(global, "the backing file name is longer than instar accepts (" +
                                     std::to_string(sizeof(c.backing_file) - 1) + " bytes)");
    }
    c.flags |= abi::kConvertHasBacking;
  }
  if (settings.backing_format) {
    if (!CopyConfigField(c.backing_format, sizeof(c.backing_format), *settings.backing_format)) {
      return ReportError(global, "the backing format name is longer than instar accepts (" +
                                     std::to_string(sizeof(c.backing_format) - 1) + " bytes)");
    }
    c.flags |= abi::kConvertHasBackingFormat;
  }
  if (settings.compress) c.flags |= abi::kConvertCompress;
  if (settings.skip_create) c.flags |= abi::kConvertSkipCreate;
  c.min_sparse = static_cast<uint32_t>(settings.min_sparse);
  // What a writer takes from the clock and the random generator (vhdx's
  // GUIDs, vmdk's CID): the guest has neither.
  c.now_seconds = static_cast<uint64_t>(std::time(nullptr));
  if (::getrandom(c.random, sizeof(c.random), 0) != static_cast<ssize_t>(sizeof(c.random))) {
    return ReportError(global, "cannot read random bytes for the new image");
  }

  // img_convert() asks this once the sources are open and before it opens
  // the target (--target-is-zero comes only with -n), and leaves with the
  // status of the last call that worked: 0.
  if (settings.target_is_zero && settings.backing) {
    DeviceTable sources;
    for (size_t i = 0; i < source_count; ++i) {
      if (!OpenUserImage(global, settings.files[i], &sources, &error)) {
        return ReportError(global, error);
      }
    }
    ReportError(global,
                "Cannot use --target-is-zero when the destination image has a backing file");
    return kExitOk;
  }

  // A target of several files (a vmdk monolithicFlat, a split vmdk) has
  // its files named from its size, which comes from the sources: a first
  // run without the output gives it. It refuses what the guest refuses
  // before it would create the target, as the full run would.
  std::optional<uint64_t> target_size;
  if (!settings.skip_create &&
      HasSiblingOutputs(global, settings.target_format, settings.options, output)) {
    DeviceTable sources;
    for (size_t i = 0; i < source_count; ++i) {
      if (!OpenUserImage(global, settings.files[i], &sources, &error)) {
        return ReportError(global, error);
      }
    }
    abi::OperationConfig sizing = config;
    sizing.convert.flags |= abi::kConvertNoOutput;
    auto read_size = [](const DecodedResult& result, ConvertView* view, std::string* why) {
      if (!ReadConvertView(result, view, why)) return false;
      if (!view->size) *why = "the result lacks the size";
      return view->size.has_value();
    };
    ConvertView view;
    int exit_code = kExitOk;
    if (!RunForView(global, sizing, sources, /*last_run=*/false, read_size, &view, &exit_code)) {
      return exit_code;
    }
    target_size = view.size;
  }

  // The output first (it must be device 0): a new file under its temporary
  // name, or with -n the target itself. When a new one cannot be made the
  // guest still runs, so that qemu-img's order holds: the sources' errors
  // and -O's come first.
  DeviceTable devices;
  std::string create_error;
  bool have_output = false;
  // -t: qemu-img convert opens its target with cache=unsafe unless told
  // otherwise, and then never flushes it.
  if (settings.cache == "unsafe") devices.SkipFlushes();
  if (settings.skip_create) {
    if (!OpenUserImageInPlace(global, output, abi::kMaxRangeEnd, &devices, &error)) {
      return ReportError(global, error);
    }
    have_output = true;
  } else {
    have_output = devices.OpenOutput(output, abi::kMaxRangeEnd, &create_error);
    if (!have_output) c.flags |= abi::kConvertNoOutput;
  }
  for (size_t i = 0; i < source_count; ++i) {
    if (!OpenUserImage(global, settings.files[i], &devices, &error)) {
      devices.DiscardOutput();
      return ReportError(global, error);
    }
  }
  // The other files of a target of several files (a vmdk monolithicFlat's
  // extent, a split vmdk's), after every root: made new, or with -n
  // opened in place.
  if (settings.skip_create &&
      !OpenSiblingsInPlace(settings.target_format, output, &devices, &create_error)) {
    return ReportError(global, "Could not open '" + output + "': " + create_error);
  }
  if (have_output && !settings.skip_create &&
      !OpenSiblingOutputs(global, settings.target_format, settings.options, output, target_size,
                          &devices, &create_error)) {
    devices.DiscardOutput();
    return ReportError(global, output + ": error while converting " + settings.target_format +
                                   ": " + create_error);
  }
  // -p as qemu-img draws it (qemu_progress_print, min_skip 1.0, in
  // qemu's float): the percentage on one line, redrawn when it has moved
  // on by more than one point, from the guest's kProgress report of each
  // step (the data copied of all it will copy); only on a terminal.
  GlobalOptions run = global;
  const bool progress = settings.progress && ::isatty(STDOUT_FILENO) != 0;
  float last_print = 0;
  if (progress) {
    c.flags |= abi::kConvertProgress;
    std::printf("    (%3.2f/100%%)\r", 0.0);
    (void)std::fflush(stdout);
    run.limits.progress = [&last_print](uint64_t done, uint64_t total) {
      const auto current =
          static_cast<float>(100.0 * static_cast<double>(done) / static_cast<double>(total));
      if (current > last_print + 1.0F || current < last_print - 1.0F || current == 100.0F) {
        last_print = current;
        std::printf("    (%3.2f/100%%)\r", static_cast<double>(current));
        (void)std::fflush(stdout);
      }
    };
  }

  ConvertView view;
  int exit_code = kExitOk;
  if (!RunForView(run, config, devices, /*last_run=*/true, ReadConvertView, &view, &exit_code)) {
    return exit_code;
  }
  if (view.warning) {
    std::string lines = PrintableText(*view.warning);
    while (!lines.empty() && lines.back() == '\n') lines.pop_back();
    ReportQemuLines(global, lines);
  }
  if (view.no_output || !have_output) {
    devices.DiscardOutput();
    return ReportError(global, output + ": error while converting " + settings.target_format +
                                   ": " + create_error);
  }
  if (!settings.skip_create && !devices.CommitOutput(&create_error)) {
    return ReportError(global, output + ": error while converting " + settings.target_format +
                                   ": " + create_error);
  }
  if (progress) {
    if (last_print != 100.0F) std::printf("    (%3.2f/100%%)\r", 100.0);
    std::printf("\n");
  }
  return kExitOk;
}

}  // namespace instar::vmm
