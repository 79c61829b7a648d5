#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <vector>

#include "instar/engine/arena.h"
#include "instar/engine/create.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/image.h"
#include "instar/engine/measure.h"
#include "vmm/cli/cli.h"
#include "vmm/render/cli_dialect.h"
#include "vmm/result/modify_view.h"

namespace instar::vmm {

int ReportError(const GlobalOptions& global, const CliError& error) {
  std::string text;
  for (const std::string& message : error.messages) {
    // A message of several lines gets the prefix on each, as qemu prints
    // them with one error_report() per line.
    size_t start = 0;
    for (;;) {
      const size_t end = message.find('\n', start);
      text += global.program + ": " + message.substr(start, end - start) + "\n";
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  for (const std::string& line : error.raw) text += line + "\n";
  (void)std::fflush(stdout);
  (void)std::fputs(text.c_str(), stderr);
  return kExitError;
}

int ReportError(const GlobalOptions& global, const std::string& message) {
  return ReportError(global, CliError{{message}, {}});
}

std::string MeasureErrorText(const MeasureError& error) {
  std::string text(FormatMeasureError(error, nullptr, 0) + 1, '\0');
  text.resize(FormatMeasureError(error, text.data(), text.size()));
  return text;
}

bool CopyConfigField(char* field, size_t size, const std::string& text) {
  if (text.size() >= size || text.find('\0') != std::string::npos) return false;
  std::memcpy(field, text.data(), text.size());
  field[text.size()] = '\0';
  return true;
}

int ReportQemuLines(const GlobalOptions& global, const std::string& text) {
  static const std::string kQemuPrefix = "qemu-img: ";
  CliError error;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    if (line.rfind(kQemuPrefix, 0) == 0) {
      error.raw.push_back(global.program + ": " + line.substr(kQemuPrefix.size()));
    } else {
      error.raw.push_back(line);
    }
    start = end + 1;
  }
  if (error.raw.empty()) error.raw.push_back(global.program + ": unknown error");
  return ReportError(global, error);
}

bool ParseCommandOptions(const GlobalOptions& global, const std::string& command,
                         const std::vector<std::string>& args, const std::vector<OptionSpec>& specs,
                         GetoptWording wording, std::vector<ParsedOption>* out) {
  CliError error;
  if (ParseOptions(global, command, args, specs, out, &error)) return true;
  const bool qemu_img_words = wording == GetoptWording::kQemuImgBefore10 &&
                              CliDialectFor(global.compat).qemu_img_words_getopt_errors;
  ReportError(global, qemu_img_words ? QemuImgGetoptError(global, command, error) : error);
  return false;
}

int ReportErrorExit(const GlobalOptions& global, const std::string& command,
                    const std::string& message) {
  CliError error{{message}, {}};
  error.raw = {CliDialectFor(global.compat).error_exit_hint_names_command
                   ? TryHelpLine(global, command)
                   : "Try '" + global.program + " --help' for more information"};
  return ReportError(global, error);
}

bool LookUpFormatHint(const GlobalOptions& global, const std::string& filename,
                      const std::string& format, uint32_t* hint) {
  const ImageFormat parsed = ImageFormatFromName(format.data(), format.size());
  if (parsed == ImageFormat::kUnknown) {
    ReportError(global, "Could not open '" + filename + "': Unknown driver '" + format + "'");
    return false;
  }
  *hint = static_cast<uint32_t>(parsed);
  return true;
}

bool ParseOutputFormat(const GlobalOptions& global, const std::string& command,
                       const std::string& value, OutputFormat* out, CliError* error) {
  if (value == "human") {
    *out = OutputFormat::kHuman;
    return true;
  }
  if (value == "json") {
    *out = OutputFormat::kJson;
    return true;
  }
  switch (CliDialectFor(global.compat).output_error) {
    case OutputErrorStyle::kMustBeUsed:
      error->messages = {"--output must be used with human or json as argument."};
      break;
    case OutputErrorStyle::kExpectsNot:
      error->messages = {"--output expects 'human' or 'json' not '" + value + "'"};
      error->raw = {TryHelpLine(global, command)};
      break;
    case OutputErrorStyle::kExpectsCommaNot:
      error->messages = {"--output expects 'human' or 'json', not '" + value + "'"};
      error->raw = {TryHelpLine(global, command)};
      break;
  }
  return false;
}

namespace {

// OpenUserImage() and OpenUserImageInPlace(): qemu's file protocol refuses
// a directory (or anything but a file or a device) in the version's words
// before it opens anything.
bool RefuseNonFile(const GlobalOptions& global, const std::string& filename, CliError* error) {
  const std::string prefix = "Could not open '" + filename + "': ";
  struct stat st;
  if (::stat(filename.c_str(), &st) == 0 &&
      !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode))) {
    if (CliDialectFor(global.compat).file_driver_names_path) {
      error->messages = {prefix + "'file' driver requires '" + filename + "' to be a regular file"};
    } else {
      error->messages = {prefix +
                         "A regular file was expected by the 'file' driver, but something "
                         "else was given"};
    }
    return true;
  }
  return false;
}

}  // namespace

bool OpenUserImage(const GlobalOptions& global, const std::string& filename, DeviceTable* devices,
                   CliError* error) {
  if (RefuseNonFile(global, filename, error)) return false;
  std::string why;
  if (!devices->OpenPath(filename, &why)) {
    error->messages = {"Could not open '" + filename + "': " + why};
    return false;
  }
  return true;
}

bool OpenUserImageInPlace(const GlobalOptions& global, const std::string& filename,
                          uint64_t write_limit, DeviceTable* devices, CliError* error) {
  // open(2) with O_RDWR refuses a directory itself (EISDIR), before the
  // file driver looks at what it opened.
  struct stat st;
  const bool directory = ::stat(filename.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  if (!directory && RefuseNonFile(global, filename, error)) return false;
  std::string why;
  if (!devices->OpenInPlace(filename, write_limit, &why)) {
    error->messages = {"Could not open '" + filename + "': " + why};
    return false;
  }
  return true;
}

bool MakeConfig(const GlobalOptions& global, abi::Operation operation, const std::string& filename,
                abi::OperationConfig* config, CliError* error) {
  std::memset(config, 0, sizeof(*config));
  config->magic = abi::kConfigMagic;
  config->abi_version = abi::kAbiVersion;
  config->operation = static_cast<uint32_t>(operation);
  config->size = sizeof(*config);
  config->compat_major = global.compat.major;
  config->compat_minor = global.compat.minor;
  config->compat_micro = global.compat.micro;
  if (filename.size() >= sizeof(config->filename) || filename.find('\0') != std::string::npos) {
    error->messages = {"Could not open '" + filename + "': File name too long"};
    return false;
  }
  std::memcpy(config->filename, filename.data(), filename.size());
  return true;
}

bool RunInSandbox(const GlobalOptions& global, const abi::OperationConfig& config,
                  DeviceTable& devices, bool last_run, DecodedResult* result, int* exit_code) {
  SandboxLimits limits = global.limits;
  limits.confine_host = last_run;
  const SandboxOutcome outcome = RunSandboxed(global.sandbox, config, devices, limits);
  if (outcome.exit != kExitOk) {
    ReportError(global, outcome.message);
    *exit_code = outcome.exit;
    return false;
  }
  std::string error;
  if (!DecodeResult(outcome.result, config.operation, result, &error)) {
    ReportError(global, "the sandbox returned a malformed result: " + error);
    *exit_code = kExitBadResult;
    return false;
  }
  bool malformed = false;
  if (const std::optional<GuestError> guest = FindGuestError(*result, &malformed)) {
    ReportQemuLines(global, guest->message);
    *exit_code = kExitError;
    return false;
  }
  if (malformed) {
    ReportError(global, "the sandbox returned a malformed error result");
    *exit_code = kExitBadResult;
    return false;
  }
  return true;
}

static_assert(DeviceTable::kMaxOutputs == kMaxSiblingOutputs + 1,
              "the host makes every file a format names beside its target");

namespace {

// FormatDriver::sibling_outputs of `format` for a create of `options` and
// `size` bytes (absent: the options' size, else 0) named `target`, into
// *names: how many files there are (more than names->size() when the
// driver names too many to make).
size_t SiblingOutputNames(const GlobalOptions& global, const std::string& format,
                          const std::string& options, const std::string& target,
                          std::optional<uint64_t> size, std::vector<SiblingName>* names) {
  const FormatDriver* driver = FindFormatDriverByName(format.data(), format.size());
  if (driver == nullptr || driver->sibling_outputs == nullptr) return 0;
  std::vector<uint8_t> arena_buffer(2 * options.size() + 65536);
  Arena arena(arena_buffer.data(), arena_buffer.size());
  auto parsed = std::make_unique<ParsedMeasureOptions>();
  MeasureError bad;
  if (!ParseMeasureOptions(driver->format, options.data(), options.size(), global.compat, arena,
                           parsed.get(), &bad)
           .ok()) {
    return 0;  // the guest refuses them in qemu's words
  }
  if (!size) {
    const MeasureOptionValue& option = parsed->Get(MeasureOptionKey::kSize);
    size = option.present ? option.number : 0;
  }
  names->resize(DeviceTable::kMaxOutputs - 1);
  return driver->sibling_outputs(*parsed, MeasureText{target.data(), target.size()}, *size,
                                 names->data(), names->size());
}

}  // namespace

bool HasSiblingOutputs(const GlobalOptions& global, const std::string& format,
                       const std::string& options, const std::string& target) {
  std::vector<SiblingName> names;
  return SiblingOutputNames(global, format, options, target, /*size=*/512, &names) > 0;
}

bool OpenSiblingOutputs(const GlobalOptions& global, const std::string& format,
                        const std::string& options, const std::string& target,
                        std::optional<uint64_t> size, DeviceTable* devices, std::string* error) {
  std::vector<SiblingName> names;
  const size_t count = SiblingOutputNames(global, format, options, target, size, &names);
  // Too many to make: none is made, and the guest refuses the disk.
  if (count > names.size()) return true;
  for (size_t i = 0; i < count; ++i) {
    if (!devices->OpenSiblingOutput(std::string(names[i].text, names[i].length), error)) {
      return false;
    }
  }
  return true;
}

bool OpenSiblingsInPlace(const std::string& format, const std::string& target, DeviceTable* devices,
                         std::string* error) {
  const FormatDriver* driver = FindFormatDriverByName(format.data(), format.size());
  if (driver == nullptr || driver->siblings_in_place == nullptr) return true;
  std::vector<SiblingName> names(2 * DeviceTable::kMaxOutputs);
  const size_t count = driver->siblings_in_place(MeasureText{target.data(), target.size()},
                                                 names.data(), names.size());
  bool found = false;
  for (size_t i = 0; i < count; ++i) {
    // A series ends at its first missing file.
    if (names[i].follows && !found) continue;
    if (!devices->OpenSiblingInPlace(std::string(names[i].text, names[i].length), error, &found)) {
      return false;
    }
  }
  return true;
}

uint64_t WriteLimitOf(uint64_t bytes, uint64_t more) {
  constexpr uint64_t kSlack = uint64_t{1} << 30;
  uint64_t limit = 0;
  if (__builtin_add_overflow(bytes, more, &limit) ||
      __builtin_add_overflow(limit, kSlack, &limit) || limit > abi::kMaxRangeEnd) {
    return abi::kMaxRangeEnd;
  }
  return limit;
}

uint64_t FileLength(const std::string& filename) {
  struct stat st {};
  if (::stat(filename.c_str(), &st) != 0 || st.st_size <= 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

int RunInPlace(const GlobalOptions& global, const abi::OperationConfig& config,
               const std::string& filename, uint64_t write_limit) {
  DeviceTable devices;
  CliError error;
  if (!OpenUserImageInPlace(global, filename, write_limit, &devices, &error)) {
    return ReportError(global, error);
  }
  ModifyView view;
  int exit_code = kExitOk;
  if (!RunForView(global, config, devices, /*last_run=*/true, ReadModifyView, &view, &exit_code)) {
    return exit_code;
  }
  if (view.warning) {
    const std::string lines = PrintableText(*view.warning);
    (void)std::fwrite(lines.data(), 1, lines.size(), stderr);
  }
  return kExitOk;
}

bool ParseCvtnum(const GlobalOptions& global, const std::string& name, const std::string& value,
                 uint64_t min, uint64_t max, uint64_t* out) {
  static const std::string kImageSize = "image size";
  static const std::string kFullRange = "Must be between 0 and 9223372036854775807.";
  const std::string range =
      "Must be between " + std::to_string(min) + " and " + std::to_string(max) + ".";
  bool hex_suffix = false;
  MeasureError bad;
  const Status parsed =
      ParseMeasureSize(value.data(), value.size(), global.compat, out, &hex_suffix, &bad);
  if (hex_suffix) {
    const MeasureText text{value.data(), value.size()};
    std::string line(FormatHexSuffixWarning(text, nullptr, 0) + 1, '\0');
    line.resize(FormatHexSuffixWarning(text, line.data(), line.size()));
    ReportQemuLines(global, line);
  }
  if (parsed.ok()) {
    if (*out >= min && *out <= max) return true;
    ReportError(global, "Invalid " + name + " specified. " + range);
    return false;
  }
  std::string text(FormatMeasureError(bad, nullptr, 0) + 1, '\0');
  text.resize(FormatMeasureError(bad, text.data(), text.size()));
  for (size_t at = text.find(kImageSize); at != std::string::npos;
       at = text.find(kImageSize, at + name.size())) {
    text.replace(at, kImageSize.size(), name);
  }
  if (const size_t at = text.find(kFullRange); at != std::string::npos) {
    text.replace(at, kFullRange.size(), range);
  }
  ReportQemuLines(global, text);
  return false;
}

bool SnapshotOption::Read(const GlobalOptions& global, const std::string& value) {
  // The parse keeps views into the text it reads: the text goes into the
  // arena first, to outlive the caller's string.
  char* text = arena_.AllocateArray<char>(value.size() + 1);
  if (text == nullptr) {
    ReportError(global, "-l: out of memory for the snapshot parameter");
    return false;
  }
  value.copy(text, value.size());
  text[value.size()] = '\0';
  MeasureSnapshot parsed;
  MeasureError bad;
  const Status s =
      ParseSnapshotParam(text, value.size(), global.compat, arena_, &list_, &parsed, &bad);
  for (size_t i = 0; i < list_.flag_count; ++i) {
    const MeasureText flag = list_.flags[i];
    std::string line(FormatShortFormWarning(flag, nullptr, 0) + 1, '\0');
    line.resize(FormatShortFormWarning(flag, line.data(), line.size()));
    ReportQemuLines(global, line);
  }
  if (!s.ok()) {
    if (bad.kind == MeasureErrorKind::kSnapshotParamHelp) {
      (void)std::fputs(SnapshotParamHelp(), stdout);
    }
    ReportQemuLines(global, MeasureErrorText(bad));
    return false;
  }
  if (parsed.kind == MeasureSnapshotKind::kIdAndName) {
    by_options_ = parsed;
  } else {
    by_name_ = parsed;
  }
  return true;
}

bool SnapshotOption::Fill(uint32_t* kind, uint32_t* flags, char* name, size_t name_size, char* id,
                          size_t id_size, std::string* why) const {
  const MeasureSnapshot& snapshot = Chosen();
  *kind = static_cast<uint32_t>(abi::MeasureSnapshotKind::kNone);
  if (snapshot.kind == MeasureSnapshotKind::kNone) return true;
  *kind = static_cast<uint32_t>(snapshot.kind == MeasureSnapshotKind::kIdOrName
                                    ? abi::MeasureSnapshotKind::kIdOrName
                                    : abi::MeasureSnapshotKind::kIdAndName);
  if (snapshot.name.data != nullptr) {
    *flags |= abi::kSnapshotHasName;
    if (!CopyConfigField(name, name_size, std::string(snapshot.name.data, snapshot.name.length))) {
      *why = "-l: a snapshot name longer than " + std::to_string(name_size - 1) +
             " bytes is not supported by instar";
      return false;
    }
  }
  if (snapshot.id.data != nullptr) {
    *flags |= abi::kSnapshotHasId;
    if (!CopyConfigField(id, id_size, std::string(snapshot.id.data, snapshot.id.length))) {
      *why = "-l: a snapshot id longer than " + std::to_string(id_size - 1) +
             " bytes is not supported by instar";
      return false;
    }
  }
  return true;
}

}  // namespace instar::vmm
