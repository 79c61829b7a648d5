// instar measure: `qemu-img measure`, with its options and messages.
//
//   measure [--output human|json] [-O FMT] [-o OPTIONS] [--object secret,...]
//           [--instar-targets] (--size SIZE | [-f FMT] [-U] [-l SNAPSHOT] FILENAME)
//
// --instar-targets is instar's own: without it vmdk, vpc and vhdx targets
// are refused as qemu-img refuses them; with it they get instar's
// prediction (engine/{vmdk,vpc,vhdx}/*_measure.cc). It is matched only in
// full (OptionSpec::full_name_only): no qemu-img release has an option
// starting with "instar-", and "--i", which getopt takes for --image-opts,
// must stay --image-opts.
// --image-opts is refused with a clear line, as is any --object but a
// secret. The size math runs in the sandbox, like everything that may
// touch image bytes; the host parses the command line (in qemu-img's
// order, each version's way: MeasureDialect), makes the secrets (their
// data stays here: the guest learns their ids and whether LUKS would take
// them) and renders the result.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "instar/engine/format_driver.h"
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
  static const std::vector<OptionSpec> specs = [] {
    std::vector<OptionSpec> qemu_img = {
        {"help", 'h', false},        {"target-format", 'O', true}, {"format", 'f', true},
        {"image-opts", 0, false},    {"options", 'o', true},       {"snapshot", 'l', true},
        {"object", 0, true},         {"output", 0, true},          {"size", 0, true},
        {"force-share", 'U', false},
    };
    // instar's own, matched only in full.
    OptionSpec instar_targets{"instar-targets", 0, false};
    instar_targets.full_name_only = true;
    qemu_img.push_back(instar_targets);
    return qemu_img;
  }();
  return specs;
}

void PrintHelp(const GlobalOptions& global) {
  std::printf(
      "Usage: %s measure [-f FMT] [-O OUTPUT_FMT] [-o OPTIONS] [--output human|json]\n"
      "           [--object secret,id=ID,data=D|file=F[,format=raw|base64]]\n"
      "           (--size SIZE | [-l SNAPSHOT] FILENAME)\n"
      "\n"
      "Prints the size a new image of OUTPUT_FMT needs: for an empty image of\n"
      "SIZE bytes, or to hold a conversion of FILENAME. FILENAME is read only\n"
      "inside the sandbox.\n"
      "\n"
      "  -O, --target-format FMT  format of the new image (default raw)\n"
      "  -o, --options OPTIONS    creation options of that format (name=value,...)\n"
      "  --size SIZE              measure an empty image of SIZE (k, M, G, T, P, E)\n"
      "  -f, --format FMT         format of FILENAME (probed when not given)\n"
      "  -l, --snapshot SNAPSHOT  measure FILENAME's internal snapshot: its id or name,\n"
      "                           or snapshot.id=ID,snapshot.name=NAME\n"
      "  --object secret,...      a secret (LUKS's key-secret, encrypt.key-secret);\n"
      "                           its data never enters the sandbox\n"
      "  --output human|json      output format (default human)\n"
      "  -U, --force-share        accepted for compatibility; instar never locks\n"
      "  --instar-targets         instar only: predict -O vmdk, vpc and vhdx, which\n"
      "                           qemu-img (and instar without it) refuses to measure\n",
      global.argv0.c_str());
}

std::string ToString(MeasureText text) {
  return text.data == nullptr ? std::string() : std::string(text.data, text.length);
}

// g_file_get_contents(): the file's bytes, or glib's words for why not
// (a regular file is read whole, anything else through stdio, whose read
// error glib words differently).
bool ReadSecretFile(const std::string& path, std::string* bytes, std::string* why) {
  // glib quotes a file name with U+201C and U+201D.
  const std::string quoted = "\u201c" + path + "\u201d";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = "Failed to open file " + quoted + ": " + std::strerror(errno);
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    *why =
        "Failed to get attributes of file " + quoted + ": fstat() failed: " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  bytes->clear();
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *why =
          std::string(S_ISREG(st.st_mode) ? "Failed to read from file " : "Error reading file ") +
          quoted + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    bytes->append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

// --object and the secrets it makes, as the compat version does it.
class Objects {
 public:
  explicit Objects(const GlobalOptions& global)
      : global_(global), dialect_(MeasureDialectFor(global.compat)) {}

  // The objects made so far: what the guest is told.
  const MeasureSecrets& secrets() const { return secrets_; }

  // One --object, read as the getopt loop reads it; with keyval (6.0+)
  // the object is made at once. Returns false with *exit_code set when
  // measure ends here (an error, or help printed).
  bool Read(const std::string& text, Arena& arena, int* exit_code) {
    MeasureObject object;
    MeasureError bad;
    if (!ReadMeasureObject(text.data(), text.size(), global_.compat, arena, read_.data(),
                           read_.size(), &object, &bad)
             .ok()) {
      *exit_code = ReportQemuLines(global_, MeasureErrorText(bad));
      return false;
    }
    read_.push_back(object);
    if (dialect_.object_syntax == ObjectSyntax::kKeyval) return Make(object, exit_code);
    return true;
  }

  // 5.2 makes the objects after the options were read.
  bool MakeDeferred(int* exit_code) {
    if (dialect_.object_syntax != ObjectSyntax::kQemuOpts) return true;
    for (const MeasureObject& object : read_) {
      if (!Make(object, exit_code)) return false;
    }
    return true;
  }

 private:
  bool Make(const MeasureObject& object, int* exit_code) {
    if (object.help) {
      const char* help = MeasureObjectHelp(object, global_.compat);
      if (help == nullptr) {
        *exit_code =
            ReportError(global_, "--object " + ToString(object.type) +
                                     ",help: instar knows only the secret object's options");
        return false;
      }
      (void)std::fputs(help, stdout);
      *exit_code = kExitOk;
      return false;
    }
    MeasureError bad;
    if (!MakeMeasureObject(object, global_.compat, secrets_, &bad).ok()) {
      *exit_code = ReportQemuLines(global_, MeasureErrorText(bad));
      return false;
    }
    std::string bytes = ToString(object.data);
    if (object.file.data != nullptr) {
      std::string why;
      const std::string path = ToString(object.file);
      if (!ReadSecretFile(path, &bytes, &why)) {
        bad.kind = MeasureErrorKind::kSecretFileUnreadable;
        bad.subject = object.file;
        bad.value = MeasureText{why.data(), why.size()};
        *exit_code = ReportQemuLines(global_, MeasureErrorText(bad));
        return false;
      }
    }
    // The decoded data is looked at, then dropped.
    std::vector<uint8_t> scratch(bytes.size() + 64);
    Arena arena(scratch.data(), scratch.size());
    if (!FinishMeasureSecret(object, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                             arena, &secrets_, &bad)
             .ok()) {
      *exit_code = ReportQemuLines(global_, MeasureErrorText(bad));
      return false;
    }
    return true;
  }

  const GlobalOptions& global_;
  const MeasureDialect dialect_;
  std::vector<MeasureObject> read_;
  MeasureSecrets secrets_;
};

// Copies -l's snapshot and the secrets into the guest's config. False with
// a message when something does not fit.
bool FillConfig(const SnapshotOption& snapshot, const MeasureSecrets& secrets,
                abi::MeasureConfig* m, std::string* why) {
  if (!snapshot.Fill(&m->snapshot_kind, &m->snapshot_flags, m->snapshot, sizeof(m->snapshot),
                     m->snapshot_id, sizeof(m->snapshot_id), why)) {
    return false;
  }
  for (size_t i = 0; i < secrets.count; ++i) {
    abi::MeasureSecret& secret = m->secrets[m->secret_count];
    if (m->secret_count == sizeof(m->secrets) / sizeof(m->secrets[0]) ||
        !CopyConfigField(secret.id, sizeof(secret.id), ToString(secrets.entries[i].id))) {
      *why = "--object: at most " + std::to_string(sizeof(m->secrets) / sizeof(m->secrets[0])) +
             " secrets with ids of at most " + std::to_string(sizeof(secret.id) - 1) +
             " bytes are supported by instar";
      return false;
    }
    secret.flags = secrets.entries[i].valid_utf8 ? abi::kSecretValidUtf8 : 0;
    secret.length = static_cast<uint32_t>(
        secrets.entries[i].length > UINT32_MAX ? UINT32_MAX : secrets.entries[i].length);
    ++m->secret_count;
  }
  return true;
}

// Whether --instar-targets can apply to the -O name: a target qemu-img
// refuses to measure and instar predicts (a driver with predict_size and no
// measure hook). A name the release does not know is let through, for the
// guest to refuse in qemu-img's words.
bool IsInstarTarget(const GlobalOptions& global, const std::string& name) {
  ImageFormat target = ImageFormat::kUnknown;
  MeasureError unused;
  if (!LookUpMeasureTarget(name.data(), name.size(), global.compat, &target, &unused).ok()) {
    return true;
  }
  const FormatDriver* driver = FindFormatDriver(target);
  return driver != nullptr && driver->measure == nullptr && driver->predict_size != nullptr;
}

}  // namespace

int RunMeasureCommand(const GlobalOptions& global, const std::vector<std::string>& args) {
  std::vector<ParsedOption> parsed;
  if (!ParseCommandOptions(global, kCommand, args, MeasureOptions(), GetoptWording::kGetopt,
                           &parsed)) {
    return kExitError;
  }
  CliError error;

  OutputFormat output = OutputFormat::kHuman;
  std::vector<std::string> filenames;
  std::string format, target_format = "raw", options;
  bool has_format = false;  // qemu's fmt != NULL: `-f ""` counts
  bool image_opts = false;
  bool instar_targets = false;
  std::optional<uint64_t> size;
  Objects objects(global);
  // What the engine's parsers copy: never more than the arguments.
  size_t arguments_size = 0;
  for (const std::string& arg : args) arguments_size += arg.size() + 1;
  std::vector<uint8_t> arena_buffer(2 * arguments_size + 65536);
  Arena arena(arena_buffer.data(), arena_buffer.size());
  SnapshotOption snapshot(arena);
  int exit_code = kExitOk;
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
      has_format = true;
    } else if (option.name == "target-format") {
      target_format = option.value;
    } else if (option.name == "options") {
      MeasureError bad;
      if (!CheckOptionList(option.value.data(), option.value.size(), &bad).ok()) {
        bad.version = global.compat;
        return ReportQemuLines(global, MeasureErrorText(bad));
      }
      // qemu joins repeated -o with ','.
      options = options.empty() ? option.value : options + "," + option.value;
    } else if (option.name == "snapshot") {
      if (!snapshot.Read(global, option.value)) return kExitError;
    } else if (option.name == "object") {
      if (!objects.Read(option.value, arena, &exit_code)) return exit_code;
    } else if (option.name == "image-opts") {
      image_opts = true;
    } else if (option.name == "instar-targets") {
      instar_targets = true;
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
      if (!parsed_size.ok()) return ReportQemuLines(global, MeasureErrorText(bad));
      size = value;
    }
    // force-share: instar takes no locks, so there is nothing to share.
  }

  if (!objects.MakeDeferred(&exit_code)) return exit_code;
  if (filenames.size() > 1) return ReportError(global, "At most one filename argument is allowed.");
  if (filenames.empty() &&
      (image_opts || has_format || snapshot.Chosen().kind != MeasureSnapshotKind::kNone)) {
    return ReportError(global, "--image-opts, -f, and -l require a filename argument.");
  }
  if (!filenames.empty() && size) {
    return ReportError(global, "--size N cannot be used together with a filename.");
  }
  if (filenames.empty() && !size) {
    return ReportError(global, "Either --size N or one filename must be specified.");
  }
  if (image_opts) return ReportError(global, "--image-opts is not supported by instar");
  if (instar_targets && !IsInstarTarget(global, target_format)) {
    return ReportError(global, "--instar-targets applies to -O vmdk, vpc and vhdx only; '" +
                                   target_format + "' is measured as qemu-img measures it");
  }

  abi::OperationConfig config;
  const std::string filename = filenames.empty() ? "" : filenames[0];
  if (!MakeConfig(global, abi::Operation::kMeasure, filename, &config, &error)) {
    return ReportError(global, error);
  }
  DeviceTable devices;
  if (!filename.empty()) {
    if (has_format && !LookUpFormatHint(global, filename, format, &config.format_hint)) {
      return kExitError;
    }
    if (!OpenUserImage(global, filename, &devices, &error)) return ReportError(global, error);
  } else {
    config.measure.has_size = 1;
    config.measure.size = *size;
  }
  if (!CopyConfigField(config.measure.target_format, sizeof(config.measure.target_format),
                       target_format)) {
    return ReportError(global, "Unknown file format '" + target_format + "'");
  }
  if (!CopyConfigField(config.measure.options, sizeof(config.measure.options), options)) {
    return ReportError(global, "the -o options are longer than instar accepts (" +
                                   std::to_string(sizeof(config.measure.options) - 1) + " bytes)");
  }

  if (instar_targets) config.measure.flags |= abi::kMeasureInstarTargets;

  std::string why;
  if (!FillConfig(snapshot, objects.secrets(), &config.measure, &why)) {
    return ReportError(global, why);
  }

  MeasureView measure;
  if (!RunForView(global, config, devices, /*last_run=*/true, ReadMeasureView, &measure,
                  &exit_code)) {
    return exit_code;
  }
  if (measure.warnings) ReportQemuLines(global, PrintableText(*measure.warnings));
  const std::string text = RenderMeasure(measure, output, MeasureDialectFor(global.compat));
  (void)std::fwrite(text.data(), 1, text.size(), stdout);
  return kExitOk;
}

}  // namespace instar::vmm
