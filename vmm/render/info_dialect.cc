#include "vmm/render/info_dialect.h"

namespace instar::vmm {

InfoDialect InfoDialectFor(const QemuVersion& compat) {
  InfoDialect d;
  if (compat.AtLeast(10, 0)) {
    d.snapshot_table = SnapshotTableStyle::k100;
  } else if (compat.AtLeast(7, 0)) {
    d.snapshot_table = SnapshotTableStyle::k72;
  } else {
    d.snapshot_table = SnapshotTableStyle::k52;
  }
  // BlockGraphInfo, the "Format specific information" change and the 10.0
  // option handling came together.
  const bool graph = compat.AtLeast(10, 0);
  d.json_has_children = graph;
  d.prints_child_nodes = graph;
  d.hides_empty_format_specific = graph;
  d.short_b_backing_chain = compat.AtLeast(10, 0) && !compat.AtLeast(11, 0);
  return d;
}

}  // namespace instar::vmm
