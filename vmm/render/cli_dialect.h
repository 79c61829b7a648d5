// CliDialect: what qemu-img's front end words differently per version for
// every subcommand alike (qemu-img.c's error_exit(), getopt's prefix,
// --output's check, the file protocol's refusal of a directory). A
// command's own rules are its dialect (InfoDialect, info_dialect.h).
#ifndef INSTAR_VMM_RENDER_CLI_DIALECT_H_
#define INSTAR_VMM_RENDER_CLI_DIALECT_H_

#include "instar/engine/version.h"

namespace instar::vmm {

// The hint after an argument error.
enum class TryHelpStyle {
  kProgram,                // before 10.0: "Try '<argv0> --help' for more information"
  kCommandMoreInfo,        // 10.x: "Try '<argv0> <command> --help' for more info"
  kCommandMoreInformation  // 11.0: "Try '<argv0> <command> --help' for more information"
};

// --output's error for anything but human or json.
enum class OutputErrorStyle {
  kMustBeUsed,      // before 10.0: "--output must be used with human or json as argument."
  kExpectsNot,      // 10.x: "--output expects 'human' or 'json' not 'X'" and the hint
  kExpectsCommaNot  // 11.0: "--output expects 'human' or 'json', not 'X'" and the hint
};

struct CliDialect {
  TryHelpStyle try_help = TryHelpStyle::kCommandMoreInformation;
  // getopt's lines name the command as "<argv0> <command>:" since 10.0,
  // as "<command>:" before (getopt saw the subcommand's own argv[0]).
  bool getopt_names_program = true;
  OutputErrorStyle output_error = OutputErrorStyle::kExpectsCommaNot;
  // Something that is not a regular file, block or character device (a
  // directory): 7.0+ says "'file' driver requires '<name>' to be a regular
  // file", 5.2 "A regular file was expected by the 'file' driver, but
  // something else was given".
  bool file_driver_names_path = true;
  // Before 10.0 the commands that read their options with a leading ':'
  // in getopt's string (info, map) word getopt's errors themselves
  // (qemu-img.c's missing_argument() and unrecognized_option()), with
  // "Try '<program> --help'" after them; 10.0 leaves them to getopt.
  bool qemu_img_words_getopt_errors = false;
  // error_exit()'s hint ("Expecting one image file name"): 10.0 names the
  // command (try_help), older versions only the program:
  // "Try '<program> --help' for more information".
  bool error_exit_hint_names_command = true;
  // 10.0 gives the options of commands like compare long names
  // (--a-format, --strict, --quiet ...); before, only the short letters.
  bool long_option_names = true;
  // qemu-img create's backing format: -F until 11.0, which names it -B
  // (keeping -F as an alias) beside --backing-format.
  bool create_backing_format_b = true;
};

CliDialect CliDialectFor(const QemuVersion& compat);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RENDER_CLI_DIALECT_H_
