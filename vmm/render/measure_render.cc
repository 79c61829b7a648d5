#include "vmm/render/measure_render.h"

#include "vmm/render/qobject.h"

namespace instar::vmm {

std::string RenderMeasure(const MeasureView& measure, OutputFormat format,
                          const MeasureDialect& /*dialect*/) {
  if (format == OutputFormat::kHuman) {
    std::string out;
    out += "required size: " + std::to_string(measure.required) + "\n";
    out += "fully allocated size: " + std::to_string(measure.fully_allocated) + "\n";
    if (measure.bitmaps) out += "bitmaps size: " + std::to_string(*measure.bitmaps) + "\n";
    return out;
  }
  // BlockMeasureInfo as qemu's output visitor puts it into a QDict: its
  // members are QAPI 'int's, "bitmaps" only when present; the QDict's
  // iteration order puts "bitmaps" first.
  QDict info;
  info.Put("required", QObject::Int(static_cast<int64_t>(measure.required)));
  info.Put("fully-allocated", QObject::Int(static_cast<int64_t>(measure.fully_allocated)));
  if (measure.bitmaps) info.Put("bitmaps", QObject::Int(static_cast<int64_t>(*measure.bitmaps)));
  return ToPrettyJson(QObject(std::move(info))) + "\n";
}

}  // namespace instar::vmm
