#include "vmm/render/cli_dialect.h"

namespace instar::vmm {

CliDialect CliDialectFor(const QemuVersion& compat) {
  CliDialect d;
  if (compat.AtLeast(11, 0)) {
    d.try_help = TryHelpStyle::kCommandMoreInformation;
    d.output_error = OutputErrorStyle::kExpectsCommaNot;
  } else if (compat.AtLeast(10, 0)) {
    d.try_help = TryHelpStyle::kCommandMoreInfo;
    d.output_error = OutputErrorStyle::kExpectsNot;
  } else {
    d.try_help = TryHelpStyle::kProgram;
    d.output_error = OutputErrorStyle::kMustBeUsed;
  }
  d.getopt_names_program = compat.AtLeast(10, 0);
  d.file_driver_names_path = compat.AtLeast(7, 0);
  d.qemu_img_words_getopt_errors = !compat.AtLeast(10, 0);
  d.error_exit_hint_names_command = compat.AtLeast(10, 0);
  d.long_option_names = compat.AtLeast(10, 0);
  d.create_backing_format_b = compat.AtLeast(11, 0);
  return d;
}

}  // namespace instar::vmm
