// InfoDialect: everything `qemu-img info` prints or refuses differently per
// qemu-img version, on the host: its options, its argument errors and its
// output. The renderer and the CLI ask it instead of comparing versions.
//
// What the image reader does differently per version (the dirty flag, huge
// clusters, BDRV_O_NO_IO's data file and crypto header) runs in the guest,
// which has no std library: that half is InfoOpenDialect in
// instar/engine/info_dialect.h. The wording shared by every subcommand
// (the "Try ... --help" line, getopt's prefix, --output's error, the file
// driver's refusal) is CliDialect (vmm/render/cli_dialect.h).
//
// The matrix holds 5.2, 7.2, 10.0 and 11.1; a version between two of them
// is assumed to follow the older one unless a rule names it.
#ifndef INSTAR_VMM_RENDER_INFO_DIALECT_H_
#define INSTAR_VMM_RENDER_INFO_DIALECT_H_

#include "instar/engine/version.h"

namespace instar::vmm {

// The "Snapshot list:" table, named by the first version printing it.
enum class SnapshotTableStyle {
  k52,   // "%-10s%-18s%7s%20s%13s%11s": TAG 18 wide, VM SIZE 7
  k72,   // 7.2: TAG one narrower, VM SIZE one wider
  k100,  // 10.0: VM_SIZE and VM_CLOCK, space-separated columns, four-digit
         // hours, "--" for a snapshot without icount
};

struct InfoDialect {
  // Output.
  SnapshotTableStyle snapshot_table = SnapshotTableStyle::k100;
  // 10.0 prints a BlockGraphInfo: a "children" array in JSON, the file
  // protocol node of each child with its own fields.
  bool json_has_children = true;
  // ... and a "Child node '/<name>':" block per child in human output.
  bool prints_child_nodes = true;
  // ... and "Format specific information:" only when something is under
  // it (before 10.0 an empty one prints the bare heading).
  bool hides_empty_format_specific = true;

  // Options and argument errors.
  // -b for --backing-chain: added in 10.0, gone again in 11.0.
  bool short_b_backing_chain = false;
  // Who words getopt's errors and what follows "Expecting one image file
  // name" is qemu-img's front end, the same for map: CliDialect's
  // qemu_img_words_getopt_errors and error_exit_hint_names_command.
};

InfoDialect InfoDialectFor(const QemuVersion& compat);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RENDER_INFO_DIALECT_H_
