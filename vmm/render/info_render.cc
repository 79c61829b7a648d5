#include "vmm/render/info_render.h"

#include <cmath>
#include <cstdio>

namespace instar::vmm {

std::string HumanSize(uint64_t bytes) {
  static const char* const kPrefixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  // Switch to the next unit once the number would print as 1000 or more.
  int exponent = 0;
  std::frexp(static_cast<double>(bytes) / (1000.0 / 1024.0), &exponent);
  int shift = (exponent - 1) / 10 * 10;
  if (shift < 0) shift = 0;
  if (shift > 60) shift = 60;
  const double value = static_cast<double>(bytes) / static_cast<double>(1ull << shift);
  char text[64];
  std::snprintf(text, sizeof(text), "%0.3g %sB", value, kPrefixes[shift / 10]);
  return text;
}

std::string JsonQuote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          char escape[8];
          std::snprintf(escape, sizeof(escape), "\\u%04X", u);
          out += escape;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string RenderInfo(const InfoView& info, const InfoHostFacts& host, OutputFormat format,
                       const QemuVersion& /*compat*/) {
  std::string out;
  if (format == OutputFormat::kHuman) {
    out += "image: " + host.filename + "\n";
    out += "file format: " + info.format + "\n";
    out += "virtual size: " + HumanSize(info.virtual_size) + " (" +
           std::to_string(info.virtual_size) + " bytes)\n";
    out += "disk size: " + HumanSize(host.disk_size) + "\n";
    return out;
  }
  out += "{\n";
  out += "    \"virtual-size\": " + std::to_string(info.virtual_size) + ",\n";
  out += "    \"filename\": " + JsonQuote(host.filename) + ",\n";
  out += "    \"format\": " + JsonQuote(info.format) + ",\n";
  out += "    \"actual-size\": " + std::to_string(host.disk_size) + ",\n";
  out += "    \"dirty-flag\": false\n";
  out += "}\n";
  return out;
}

}  // namespace instar::vmm
