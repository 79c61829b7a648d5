#include "harness/cases/names.h"

#include <limits>

namespace instar::harness {

namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

bool IsSafeName(std::string_view name) {
  if (name.empty() || !(IsAlnum(name[0]) || name[0] == '_')) return false;
  for (char c : name) {
    if (!(IsAlnum(c) || c == '.' || c == '_' || c == '-')) return false;
  }
  return true;
}

std::optional<uint64_t> ParseSizeString(std::string_view text) {
  size_t digits = 0;
  uint64_t value = 0;
  constexpr uint64_t kLimit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    uint64_t digit = static_cast<uint64_t>(text[digits] - '0');
    if (value > (kLimit - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (digits == text.size()) return value;
  if (digits + 1 != text.size()) return std::nullopt;
  int shift;
  switch (text[digits]) {
    case 'b':
    case 'B':
      shift = 0;
      break;
    case 'k':
    case 'K':
      shift = 10;
      break;
    case 'm':
    case 'M':
      shift = 20;
      break;
    case 'g':
    case 'G':
      shift = 30;
      break;
    case 't':
    case 'T':
      shift = 40;
      break;
    case 'p':
    case 'P':
      shift = 50;
      break;
    case 'e':
    case 'E':
      shift = 60;
      break;
    default:
      return std::nullopt;
  }
  if (value > (kLimit >> shift)) return std::nullopt;
  return value << shift;
}

bool IsOptionString(std::string_view text) {
  if (text.empty()) return false;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view pair = text.substr(start, end - start);
    size_t equals = pair.find('=');
    if (equals == 0 || equals == std::string_view::npos || equals + 1 == pair.size()) return false;
    for (char c : pair.substr(0, equals)) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) {
        return false;
      }
    }
    for (char c : pair.substr(equals + 1)) {
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '=') return false;
    }
    if (end == text.size()) break;
    start = end + 1;
  }
  return true;
}

}  // namespace instar::harness
