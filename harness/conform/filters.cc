#include "harness/conform/filters.h"

#include <array>

namespace instar::harness {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Calls `rewrite` on each line (without its newline); a line it returns
// unchanged is copied as it was. The final newline, or its absence, stays.
template <typename Rewrite>
std::string ForEachLine(std::string_view text, Rewrite rewrite) {
  std::string out;
  out.reserve(text.size() + 32);
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    rewrite(text.substr(start, end - start), out);
    if (end < text.size()) out += '\n';
    start = end + 1;
  }
  return out;
}

size_t IndentOf(std::string_view line) {
  size_t indent = 0;
  while (indent < line.size() && line[indent] == ' ') ++indent;
  return indent;
}

// qemu's size_to_str(): "0 B", "512 B", "84 KiB", "1.5 MiB", "16 EiB".
bool IsHumanSize(std::string_view value) {
  size_t i = 0;
  while (i < value.size() && IsDigit(value[i])) ++i;
  if (i == 0) return false;
  if (i < value.size() && value[i] == '.') {
    size_t decimals = ++i;
    while (i < value.size() && IsDigit(value[i])) ++i;
    if (i == decimals) return false;
  }
  static constexpr std::array<std::string_view, 7> kUnits = {" B",   " KiB", " MiB", " GiB",
                                                             " TiB", " PiB", " EiB"};
  std::string_view unit = value.substr(i);
  for (std::string_view known : kUnits) {
    if (unit == known) return true;
  }
  return false;
}

}  // namespace

OutputSyntax SyntaxOfOutputType(std::string_view output_type) {
  return output_type.ends_with("-json") ? OutputSyntax::kJson : OutputSyntax::kHuman;
}

const char* SyntaxName(OutputSyntax syntax) {
  return syntax == OutputSyntax::kJson ? "json" : "human";
}

std::string FilterDiskSize(std::string_view text) {
  static constexpr std::string_view kKey = "disk size: ";
  return ForEachLine(text, [](std::string_view line, std::string& out) {
    size_t indent = IndentOf(line);
    std::string_view body = line.substr(indent);
    if (body.starts_with(kKey) && IsHumanSize(body.substr(kKey.size()))) {
      out.append(line.substr(0, indent));
      out.append(kKey);
      out.append(kDiskSizePlaceholder);
    } else {
      out.append(line);
    }
  });
}

std::string FilterActualSize(std::string_view text) {
  static constexpr std::string_view kKey = "\"actual-size\": ";
  return ForEachLine(text, [](std::string_view line, std::string& out) {
    size_t indent = IndentOf(line);
    std::string_view body = line.substr(indent);
    bool match = body.starts_with(kKey);
    size_t digits = 0;
    std::string_view rest;
    if (match) {
      while (kKey.size() + digits < body.size() && IsDigit(body[kKey.size() + digits])) ++digits;
      rest = body.substr(kKey.size() + digits);
      match = digits > 0 && (rest.empty() || rest == ",");
    }
    if (match) {
      out.append(line.substr(0, indent));
      out.append(kKey);
      out += '"';
      out.append(kActualSizePlaceholder);
      out += '"';
      out.append(rest);
    } else {
      out.append(line);
    }
  });
}

const std::vector<NamedFilter>& Filters() {
  static const std::vector<NamedFilter> filters = {
      {"disk-size", OutputSyntax::kHuman, "the value of a \"disk size:\" line", FilterDiskSize},
      {"actual-size", OutputSyntax::kJson, "the value of an \"actual-size\" member",
       FilterActualSize},
  };
  return filters;
}

const NamedFilter* FindFilter(std::string_view name) {
  for (const auto& filter : Filters()) {
    if (filter.name == name) return &filter;
  }
  return nullptr;
}

}  // namespace instar::harness
