#include "vmm/render/map_render.h"

#include <cinttypes>
#include <cstdio>

namespace instar::vmm {

namespace {

// printf("%#-16" PRIx64): "0x" and the digits, "0" alone for zero,
// padded on the right to 16 columns.
std::string HexColumn(uint64_t value) {
  char text[32];
  (void)std::snprintf(text, sizeof(text), "%#-16" PRIx64, value);
  return text;
}

// qemu-img prints its int64_t fields with PRId64.
std::string Signed(uint64_t value) { return std::to_string(static_cast<int64_t>(value)); }

const char* Bool(bool value) { return value ? "true" : "false"; }

std::string FileName(const MapExtentView& e, const std::vector<std::string>& files) {
  if (!e.device || *e.device >= files.size()) return "";
  return files[*e.device];
}

MapOutput RenderHuman(const MapView& view, const std::vector<std::string>& files) {
  MapOutput output;
  char header[80];
  (void)std::snprintf(header, sizeof(header), "%-16s%-16s%-16s%s\n", "Offset", "Length",
                      "Mapped to", "File");
  output.out = header;
  for (size_t i = 0; i < view.extents.size(); ++i) {
    const MapExtentView& e = view.extents[i];
    // Every extent but the first that is not data-and-not-zero reached
    // qemu-img's dump as zero (it folds them so), so only those can fail.
    if (e.data && !e.has_offset && (i == 0 || !e.zero)) {
      output.err = "qemu-img: File contains external, encrypted or compressed clusters.\n";
      output.failed = true;
      return output;
    }
    if (e.data && !e.zero) {
      output.out += HexColumn(e.start) + HexColumn(e.length) +
                    HexColumn(e.has_offset ? e.offset : 0) + FileName(e, files) + "\n";
    }
  }
  return output;
}

MapOutput RenderJson(const MapView& view, const MapDialect& dialect) {
  MapOutput output;
  output.out = "[";
  for (size_t i = 0; i < view.extents.size(); ++i) {
    const MapExtentView& e = view.extents[i];
    std::string& out = output.out;
    out += "{ \"start\": " + Signed(e.start) + ", \"length\": " + Signed(e.length) +
           ", \"depth\": " + std::to_string(e.depth);
    if (dialect.has_present) out += std::string(", \"present\": ") + Bool(e.present);
    out += std::string(", \"zero\": ") + Bool(e.zero) + ", \"data\": " + Bool(e.data);
    if (dialect.has_compressed) out += std::string(", \"compressed\": ") + Bool(e.compressed);
    if (e.has_offset) out += ", \"offset\": " + Signed(e.offset);
    out += "}";
    // An extent is printed once the next one is known: every one but the
    // last of a completed walk has a next.
    if (i + 1 < view.extents.size() || view.failure) out += ",\n";
  }
  if (!view.failure) output.out += "]\n";
  return output;
}

}  // namespace

MapOutput RenderMap(const MapView& view, const std::vector<std::string>& files, OutputFormat format,
                    const MapDialect& dialect) {
  MapOutput output =
      format == OutputFormat::kHuman ? RenderHuman(view, files) : RenderJson(view, dialect);
  if (!output.failed && view.failure) {
    output.err = *view.failure;
    if (!output.err.empty() && output.err.back() != '\n') output.err += "\n";
    output.failed = true;
  }
  return output;
}

}  // namespace instar::vmm
