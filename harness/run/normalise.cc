#include "harness/run/normalise.h"

#include <algorithm>

#include "harness/core/error.h"

namespace instar::harness {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

size_t DigitsAt(std::string_view text, size_t pos) {
  size_t end = pos;
  while (end < text.size() && IsDigit(text[end])) ++end;
  return end - pos;
}

}  // namespace

std::string RewritePaths(std::string_view text, std::vector<PathRewrite> rewrites) {
  std::erase_if(rewrites, [](const PathRewrite& r) { return r.path.empty(); });
  std::stable_sort(
      rewrites.begin(), rewrites.end(),
      [](const PathRewrite& a, const PathRewrite& b) { return a.path.size() > b.path.size(); });
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    bool replaced = false;
    for (const auto& rewrite : rewrites) {
      if (text.compare(pos, rewrite.path.size(), rewrite.path) == 0) {
        out += rewrite.placeholder;
        pos += rewrite.path.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) out += text[pos++];
  }
  return out;
}

std::string FilterRandomCid(std::string_view text) {
  static constexpr std::string_view kJsonKey = "\"cid\": ";
  static constexpr std::string_view kHumanKey = "cid: ";
  std::string out;
  out.reserve(text.size());
  size_t line_start = 0;
  while (line_start < text.size()) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = text.size();
    std::string_view line = text.substr(line_start, line_end - line_start);
    size_t indent = line.find_first_not_of(' ');
    std::string_view body = indent == std::string_view::npos ? "" : line.substr(indent);
    std::string_view key;
    if (body.starts_with(kJsonKey)) {
      key = kJsonKey;
    } else if (body.starts_with(kHumanKey)) {
      key = kHumanKey;
    }
    size_t digits = key.empty() ? 0 : DigitsAt(body, key.size());
    std::string_view rest = digits == 0 ? "" : body.substr(key.size() + digits);
    bool field_ends = key == kJsonKey ? (rest.empty() || rest == ",") : rest.empty();
    if (digits > 0 && field_ends) {
      out.append(line.substr(0, indent));
      out.append(key);
      if (key == kJsonKey) {
        out += '"';
        out.append(kCidPlaceholder);
        out += '"';
      } else {
        out.append(kCidPlaceholder);
      }
      out.append(rest);
    } else {
      out.append(line);
    }
    if (line_end < text.size()) out += '\n';
    line_start = line_end + 1;
  }
  return out;
}

const std::vector<OutputFilter>& OutputFilters() {
  static const std::vector<OutputFilter> filters = {{kRandomCidFilter, FilterRandomCid}};
  return filters;
}

const OutputFilter& FindOutputFilter(std::string_view name) {
  for (const auto& filter : OutputFilters()) {
    if (filter.name == name) return filter;
  }
  std::string known;
  for (const auto& filter : OutputFilters()) {
    known += (known.empty() ? "" : ", ") + std::string(filter.name);
  }
  throw HarnessError("unknown output filter \"" + std::string(name) + "\" (known: " + known + ")");
}

}  // namespace instar::harness
