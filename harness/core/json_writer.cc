#include "harness/core/json_writer.h"

#include <boost/json/serialize.hpp>

namespace instar::harness {

namespace {

bool IsScalar(const boost::json::value& v) { return !v.is_object() && !v.is_array(); }

void Indent(std::string& out, int depth) { out.append(static_cast<size_t>(depth) * 2, ' '); }

void Render(const boost::json::value& value, int depth, std::string& out) {
  if (value.is_object()) {
    const auto& object = value.get_object();
    if (object.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (const auto& member : object) {
      if (!first) out += ",\n";
      first = false;
      Indent(out, depth + 1);
      out += boost::json::serialize(boost::json::value(member.key()));
      out += ": ";
      Render(member.value(), depth + 1, out);
    }
    out += "\n";
    Indent(out, depth);
    out += "}";
    return;
  }
  if (value.is_array()) {
    const auto& array = value.get_array();
    bool all_scalars = true;
    for (const auto& element : array) all_scalars = all_scalars && IsScalar(element);
    if (all_scalars) {
      out += "[";
      for (size_t i = 0; i < array.size(); ++i) {
        if (i > 0) out += ", ";
        out += boost::json::serialize(array[i]);
      }
      out += "]";
      return;
    }
    out += "[\n";
    for (size_t i = 0; i < array.size(); ++i) {
      if (i > 0) out += ",\n";
      Indent(out, depth + 1);
      Render(array[i], depth + 1, out);
    }
    out += "\n";
    Indent(out, depth);
    out += "]";
    return;
  }
  out += boost::json::serialize(value);
}

}  // namespace

std::string WriteJson(const boost::json::value& value) {
  std::string out;
  Render(value, 0, out);
  out += "\n";
  return out;
}

}  // namespace instar::harness
