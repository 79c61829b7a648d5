// RenderMap: `qemu-img map`'s output from a map view, as a version prints
// it (qemu-img.c dump_map_entry(); MapDialect says which fields).
//
// Human: the "Offset Length Mapped to File" table of the extents that are
// data and not zero; an extent with data but no offset (compressed, or an
// external file qemu cannot name) stops it with qemu-img's error. JSON:
// one object per extent in qemu-img's own printf layout (not a QObject:
// map prints with printf), a "[" first and "]" last. When the walk
// stopped, what was printed before it stays printed, without the closing
// "]", and the failure follows on stderr, as qemu-img prints it.
#ifndef INSTAR_VMM_RENDER_MAP_RENDER_H_
#define INSTAR_VMM_RENDER_MAP_RENDER_H_

#include <string>
#include <vector>

#include "instar/engine/map_dialect.h"
#include "vmm/render/output_format.h"
#include "vmm/result/map_view.h"

namespace instar::vmm {

struct MapOutput {
  std::string out;  // stdout
  std::string err;  // stderr lines as qemu-img words them ("qemu-img: ...")
  bool failed = false;
};

// `files` names each device by the path the run opened it under.
MapOutput RenderMap(const MapView& view, const std::vector<std::string>& files, OutputFormat format,
                    const MapDialect& dialect);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RENDER_MAP_RENDER_H_
