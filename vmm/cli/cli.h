// The instar command line: global options, the subcommand table, and what
// the subcommands share (qemu-img-style errors, option parsing, running an
// operation in the sandbox).
//
// Errors are printed as qemu-img prints them: "<program>: <message>" where
// <program> is the base name of argv[0], exactly as qemu's error_report()
// does. So `instar` says "instar: ...", and instar installed or linked as
// `qemu-img` says "qemu-img: ...", which is what scripts written for
// qemu-img look for. A message qemu prints on two lines stays two lines;
// everything instar adds (sandbox failures) is one line.
#ifndef INSTAR_VMM_CLI_CLI_H_
#define INSTAR_VMM_CLI_CLI_H_

#include <optional>
#include <string>
#include <vector>

#include "instar/engine/measure.h"
#include "instar/engine/version.h"
#include "instar/guest/abi.h"
#include "instar/guest/command_table.h"
#include "vmm/render/output_format.h"
#include "vmm/result/result_decoder.h"
#include "vmm/sandbox/device_table.h"
#include "vmm/sandbox/sandbox.h"

namespace instar::vmm {

// The newest qemu-img version instar knows; --compat defaults to it.
inline constexpr QemuVersion kNewestKnownVersion{11, 1, 3};

struct GlobalOptions {
  std::string argv0;    // as typed: qemu's "Try '<argv0> ... --help'" uses it
  std::string program;  // base name of argv0: the prefix of error lines
  QemuVersion compat = kNewestKnownVersion;
  std::optional<SandboxKind> sandbox;  // unset: auto (RunSandboxed)
  SandboxLimits limits;
};

// What a failed command prints on stderr: `messages`, each as
// "<program>: <line>", then `raw` lines as they are (getopt's own lines and
// the "Try ..." hint).
struct CliError {
  std::vector<std::string> messages;
  std::vector<std::string> raw;
};

// Prints `error` and returns kExitError.
int ReportError(const GlobalOptions& global, const CliError& error);
int ReportError(const GlobalOptions& global, const std::string& message);
// Prints lines as qemu-img wrote them (the guest's error text, the engine's
// FormatMeasureError()): "qemu-img: " at the start of a line becomes
// "<program>: "; other lines (hints) are printed as they are.
int ReportQemuLines(const GlobalOptions& global, const std::string& text);

// What qemu-img prints for a measure or create option error: the
// engine's words (FormatMeasureError()).
std::string MeasureErrorText(const MeasureError& error);

// Copies `text` into a fixed, NUL-terminated field of an OperationConfig;
// false when it does not fit or holds a NUL.
bool CopyConfigField(char* field, size_t size, const std::string& text);

// The "Try ... --help" line qemu-img prints after an argument error of
// `command` ("" for the top level), as the compat version words it.
std::string TryHelpLine(const GlobalOptions& global, const std::string& command);

// One option of a subcommand, getopt_long style.
struct OptionSpec {
  const char* long_name;  // may be nullptr for a short-only option
  char short_name;        // 0 for a long-only option
  bool takes_argument;
  // An instar-only option: matched only when typed in full, and never a
  // candidate for an abbreviation, so every abbreviation getopt_long would
  // take for qemu-img's own options ("--i" for "--image-opts") still means
  // what it means to qemu-img.
  bool full_name_only = false;
};

// An option as it appeared, in command-line order. `name` is the long name
// (or the short letter as a string when there is none); positional
// arguments have an empty name.
struct ParsedOption {
  std::string name;
  std::string value;
};

// ParseOptions(), QemuImgGetoptError() and TryHelpLine() live in
// option_parser.cc, which needs nothing of the sandbox.

// Parses `args` (after the subcommand name) as getopt_long would: options
// and positional arguments may mix, an option's argument may start with
// '-', long names may be abbreviated (but for OptionSpec::full_name_only
// ones). On error fills *error with getopt's
// wording for the compat version.
bool ParseOptions(const GlobalOptions& global, const std::string& command,
                  const std::vector<std::string>& args, const std::vector<OptionSpec>& specs,
                  std::vector<ParsedOption>* out, CliError* error);

// qemu-img's own words for getopt's errors, for the commands and versions
// that word them (info, map; CliDialect::qemu_img_words_getopt_errors):
// `error` as ParseOptions() gives it, "<command>: " first. Other errors are
// returned as they are.
CliError QemuImgGetoptError(const GlobalOptions& global, const std::string& command,
                            const CliError& error);

// Who words a command's getopt errors: getopt itself, or, before 10.0,
// qemu-img for the commands whose getopt string starts with ':' in
// qemu-img.c (info, map, check, compare ...; see
// CliDialect::qemu_img_words_getopt_errors).
enum class GetoptWording { kGetopt, kQemuImgBefore10 };

// ParseOptions(), printing a failure as `command` of the compat version
// words it; false then (the command exits with kExitError).
bool ParseCommandOptions(const GlobalOptions& global, const std::string& command,
                         const std::vector<std::string>& args, const std::vector<OptionSpec>& specs,
                         GetoptWording wording, std::vector<ParsedOption>* out);

// qemu-img's error_exit() for `command`: `message`, then the hint as the
// compat version words it (CliDialect::error_exit_hint_names_command).
// Returns kExitError.
int ReportErrorExit(const GlobalOptions& global, const std::string& command,
                    const std::string& message);

// qemu-img's cvtnum_full(`name`, value, true, min, max): a number in
// qemu's size syntax, with the words of the compat version (the engine's
// ParseMeasureSize(), "image size" replaced by `name`); false, with the
// lines printed, when it is not one (dd's operands, convert's -S).
bool ParseCvtnum(const GlobalOptions& global, const std::string& name, const std::string& value,
                 uint64_t min, uint64_t max, uint64_t* out);

// -l SNAPSHOT of measure and convert, read as qemu-img's getopt loop reads
// it: each value parsed by the engine's ParseSnapshotParam() (its warnings
// printed as it goes), the last "snapshot.*" form and the last plain one
// kept, the former winning.
class SnapshotOption {
 public:
  explicit SnapshotOption(Arena& arena) : arena_(arena) {}
  // False when `value` is refused: its lines are printed (and the help on
  // stdout for "help").
  bool Read(const GlobalOptions& global, const std::string& value);
  // The snapshot to load (kind kNone: no -l).
  const MeasureSnapshot& Chosen() const {
    return by_options_.kind != MeasureSnapshotKind::kNone ? by_options_ : by_name_;
  }
  // Copies Chosen() into an ABI config's snapshot fields; false with *why
  // when a text does not fit.
  bool Fill(uint32_t* kind, uint32_t* flags, char* name, size_t name_size, char* id, size_t id_size,
            std::string* why) const;

 private:
  Arena& arena_;
  SnapshotParamList list_;
  MeasureSnapshot by_options_;
  MeasureSnapshot by_name_;
};

// -f FORMAT of the image the user named `filename`: the driver's
// abi::OperationConfig::format_hint into *hint; qemu's "Unknown driver"
// error printed and false for a name no driver has ("" included).
bool LookUpFormatHint(const GlobalOptions& global, const std::string& filename,
                      const std::string& format, uint32_t* hint);

// --output's argument; the version's error otherwise.
bool ParseOutputFormat(const GlobalOptions& global, const std::string& command,
                       const std::string& value, OutputFormat* out, CliError* error);

// Opens the image the user named as device 0, with qemu's messages for a
// missing file or a directory.
bool OpenUserImage(const GlobalOptions& global, const std::string& filename, DeviceTable* devices,
                   CliError* error);

// Opens the image the user named read-write in place as device 0, the
// writable device of resize and amend (DeviceTable::OpenInPlace), with
// the same messages as OpenUserImage().
bool OpenUserImageInPlace(const GlobalOptions& global, const std::string& filename,
                          uint64_t write_limit, DeviceTable* devices, CliError* error);

// The files beside `target` that creating it as `format` with the -o text
// `options` and `size` bytes (absent: the options' size) writes besides `target` itself
// (FormatDriver::sibling_outputs: a vmdk monolithicFlat's extent, a split
// vmdk's extent per 2 GiB), created as outputs after device 0 and every
// root (DeviceTable::OpenSiblingOutput). The host reads the options only
// to learn the names; the guest parses them again and reports their errors
// (none is opened for options it refuses, nor for a disk of more files
// than the host makes: the guest refuses it). False with *error set when
// one cannot be created.
bool OpenSiblingOutputs(const GlobalOptions& global, const std::string& format,
                        const std::string& options, const std::string& target,
                        std::optional<uint64_t> size, DeviceTable* devices, std::string* error);

// Whether a target of `format` and `options` named `target` is several
// files (FormatDriver::sibling_outputs names some for a disk of a sector):
// convert, which does not know the size, asks the guest for it first.
bool HasSiblingOutputs(const GlobalOptions& global, const std::string& format,
                       const std::string& options, const std::string& target);

// The files beside `target`, an image of `format` the command writes in
// place (convert -n), that its writes may change as the format names them
// (FormatDriver::siblings_in_place: a vmdk's `-flat` extent), opened for
// writing in place where they exist (DeviceTable::OpenSiblingInPlace), a
// numbered series up to its first missing file.
// False with *error set when one exists but cannot be opened.
bool OpenSiblingsInPlace(const std::string& format, const std::string& target, DeviceTable* devices,
                         std::string* error);

// A producing command's write limit: `bytes` and `more` and 1 GiB of
// slack, at most abi::kMaxRangeEnd (whatever overflows is that too).
uint64_t WriteLimitOf(uint64_t bytes, uint64_t more);
// The length of the file `filename` names; 0 when it has none to stat.
uint64_t FileLength(const std::string& filename);

// resize's and amend's run: `filename` opened in place within
// `write_limit`, `config` run in the sandbox, and the warning lines the
// guest returned (modify_result.h) printed. kExitOk when the guest changed
// the image; else the exit status, its error already reported.
int RunInPlace(const GlobalOptions& global, const abi::OperationConfig& config,
               const std::string& filename, uint64_t write_limit);

// An OperationConfig with the header, compat version and file name filled
// in. False when the file name does not fit the ABI.
bool MakeConfig(const GlobalOptions& global, abi::Operation operation, const std::string& filename,
                abi::OperationConfig* config, CliError* error);

// Runs `config` in the sandbox and decodes its result. On any failure
// prints it and returns false with *exit_code set: kExitError for an error
// the guest reported (a bad image, a bad option), the sandbox's own code
// for a sandbox failure, kExitBadResult for a malformed result.
// `last_run`: no sandbox starts after this one in this process, so the host
// is confined once the backend has started (SandboxLimits::confine_host).
bool RunInSandbox(const GlobalOptions& global, const abi::OperationConfig& config,
                  DeviceTable& devices, bool last_run, DecodedResult* result, int* exit_code);

// RunInSandbox(), then `read(result, view, &why)`, the command's view of
// the result (false when it is malformed). False with *exit_code set, the
// error printed and `devices`' outputs discarded when either fails: a
// malformed result is "the sandbox returned a malformed result: <why>",
// kExitBadResult.
template <typename View, typename Reader>
bool RunForView(const GlobalOptions& global, const abi::OperationConfig& config,
                DeviceTable& devices, bool last_run, Reader read, View* view, int* exit_code) {
  DecodedResult result;
  std::string why;
  if (!RunInSandbox(global, config, devices, last_run, &result, exit_code)) {
    devices.DiscardOutput();
    return false;
  }
  if (!read(result, view, &why)) {
    devices.DiscardOutput();
    ReportError(global, "the sandbox returned a malformed result: " + why);
    *exit_code = kExitBadResult;
    return false;
  }
  return true;
}

// A subcommand: one per command the command table
// (instar/guest/command_table.h) marks IMPLEMENTED, in the table's order.
struct Command {
  const char* name;
  int (*run)(const GlobalOptions& global, const std::vector<std::string>& args);
  const char* synopsis;  // for `instar --help`
};
const std::vector<Command>& Commands();

// What each subcommand's own file, builtin_<name>.cc, defines:
//   int Run<Name>Command(const GlobalOptions& global, const std::vector<std::string>& args);
//   const char k<Name>Synopsis[];
#define INSTAR_DECLARE_CLI_COMMAND(name, Name, operation)                                    \
  int Run##Name##Command(const GlobalOptions& global, const std::vector<std::string>& args); \
  extern const char k##Name##Synopsis[];
INSTAR_COMMAND_TABLE(INSTAR_DECLARE_CLI_COMMAND, INSTAR_COMMAND_SKIPPED)
#undef INSTAR_DECLARE_CLI_COMMAND

}  // namespace instar::vmm

#endif  // INSTAR_VMM_CLI_CLI_H_
