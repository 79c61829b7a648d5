// What `qemu-img measure` prints on stdout, per qemu-img version.
//
// Every version of the matrix (5.2.0 ... 11.1.3) prints the same text:
//   human: "required size: N", "fully allocated size: N" and, when the
//          result has it, "bitmaps size: N", one per line;
//   json:  qemu's pretty printer (4-space indent), "bitmaps" first when
//          present, then "required" and "fully-allocated".
// The measure dialect is taken anyway so a later difference has one place
// to go: a field of MeasureDialect (instar/engine/measure_dialect.h).
#ifndef INSTAR_VMM_RENDER_MEASURE_RENDER_H_
#define INSTAR_VMM_RENDER_MEASURE_RENDER_H_

#include <string>

#include "instar/engine/measure_dialect.h"
#include "vmm/render/output_format.h"
#include "vmm/result/measure_view.h"

namespace instar::vmm {

std::string RenderMeasure(const MeasureView& measure, OutputFormat format,
                          const MeasureDialect& dialect);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RENDER_MEASURE_RENDER_H_
