#include "vmm/render/measure_render.h"

namespace instar::vmm {

std::string RenderMeasure(const MeasureView& measure, OutputFormat format,
                          const MeasureDialect& /*dialect*/) {
  std::string out;
  if (format == OutputFormat::kHuman) {
    out += "required size: " + std::to_string(measure.required) + "\n";
    out += "fully allocated size: " + std::to_string(measure.fully_allocated) + "\n";
    if (measure.bitmaps) out += "bitmaps size: " + std::to_string(*measure.bitmaps) + "\n";
    return out;
  }
  // qemu's QAPI visitor emits BlockMeasureInfo's optional member first.
  out += "{\n";
  if (measure.bitmaps) out += "    \"bitmaps\": " + std::to_string(*measure.bitmaps) + ",\n";
  out += "    \"required\": " + std::to_string(measure.required) + ",\n";
  out += "    \"fully-allocated\": " + std::to_string(measure.fully_allocated) + "\n";
  out += "}\n";
  return out;
}

}  // namespace instar::vmm
