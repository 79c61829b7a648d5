#include "vmm/render/qobject.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace instar::vmm {

uint32_t QdictHash(std::string_view key) {
  uint32_t value = 0x238F13AFu * static_cast<uint32_t>(key.size());
  for (size_t i = 0; i < key.size(); ++i) {
    const uint32_t byte = static_cast<unsigned char>(key[i]);
    value += byte << (i * 5 % 24);
  }
  return 1103515243u * value + 12345u;
}

void QDict::Put(std::string key, QObject value) {
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) {
      values_[i] = std::move(value);
      return;
    }
  }
  keys_.push_back(std::move(key));
  values_.push_back(std::move(value));
}

std::vector<size_t> QDict::IterationOrder() const {
  std::vector<size_t> order(keys_.size());
  std::vector<uint32_t> buckets(keys_.size());
  for (size_t i = 0; i < keys_.size(); ++i) {
    order[i] = i;
    buckets[i] = QdictBucket(keys_[i]);
  }
  // Buckets ascending; within a bucket the newest entry first, since qemu
  // inserts at the head of the bucket's list.
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (buckets[a] != buckets[b]) return buckets[a] < buckets[b];
    return a > b;
  });
  return order;
}

const QObject& QDict::value(size_t i) const { return values_[i]; }

void QList::Append(QObject value) { values_.push_back(std::move(value)); }

const QObject& QList::at(size_t i) const { return values_[i]; }

namespace {

bool ValidCodepoint(int32_t cp) {
  if (cp > 0x10FFFF) return false;
  if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) return false;
  return !(cp >= 0xD800 && cp <= 0xDFFF);
}

// One code point of modified UTF-8 at text[*pos], advancing *pos the way
// qemu's mod_utf8_codepoint() does; -1 for an invalid sequence.
int32_t NextCodepoint(std::string_view text, size_t* pos) {
  static constexpr int32_t kMinForLength[5] = {0x80, 0x800, 0x10000, 0x200000, 0x4000000};
  const auto at = [&](size_t i) -> uint32_t {
    return i < text.size() ? static_cast<unsigned char>(text[i]) : 0;
  };
  uint32_t byte = at((*pos)++);
  if (byte < 0x80) return static_cast<int32_t>(byte);
  if (byte >= 0xFE || (byte & 0x40) == 0) return -1;
  int length = 0;
  uint32_t mask = 0x80;
  for (; (byte & mask) != 0; mask >>= 1) ++length;
  int32_t cp = static_cast<int32_t>(byte & (mask - 1));
  for (int i = 1; i < length; ++i) {
    // qemu reads at most 6 bytes and stops at the string's end (a NUL).
    byte = at(*pos);
    if ((byte & 0xC0) != 0x80) return -1;
    ++*pos;
    cp = (cp << 6) | static_cast<int32_t>(byte & 0x3F);
  }
  if (!ValidCodepoint(cp)) return -1;
  if (cp < kMinForLength[length - 2] && !(cp == 0 && length == 2)) return -1;
  return cp;
}

void AppendHex4(std::string* out, uint32_t value) {
  char text[8];
  (void)std::snprintf(text, sizeof(text), "\\u%04X", value);
  *out += text;
}

void AppendIndent(std::string* out, int level) { out->append(static_cast<size_t>(level) * 4, ' '); }

// Appends a number, bool or string as `json` or the human dialect prints it
// (they differ only in strings: JSON quotes them, the human dialect prints
// them with "%s", up to a NUL). False for a dict or list, which each dialect
// lays out its own way.
bool AppendScalar(std::string* out, const QObject& object, bool json) {
  char text[32];
  switch (object.kind()) {
    case QObject::Kind::kInt:
      (void)std::snprintf(text, sizeof(text), "%" PRId64, object.int_value());
      *out += text;
      return true;
    case QObject::Kind::kUint:
      (void)std::snprintf(text, sizeof(text), "%" PRIu64, object.uint_value());
      *out += text;
      return true;
    case QObject::Kind::kBool:
      *out += object.bool_value() ? "true" : "false";
      return true;
    case QObject::Kind::kString:
      *out += json ? JsonQuote(object.string_value())
                   : object.string_value().substr(0, object.string_value().find('\0'));
      return true;
    case QObject::Kind::kDict:
    case QObject::Kind::kList:
      return false;
  }
  return false;
}

void AppendJson(std::string* out, const QObject& object, int level) {
  if (AppendScalar(out, object, /*json=*/true)) return;
  if (object.kind() == QObject::Kind::kDict) {
    const QDict& dict = object.dict();
    *out += '{';
    const char* separator = "";
    for (size_t i : dict.IterationOrder()) {
      *out += separator;
      *out += '\n';
      AppendIndent(out, level + 1);
      *out += JsonQuote(dict.key(i));
      *out += ": ";
      AppendJson(out, dict.value(i), level + 1);
      separator = ",";
    }
    *out += '\n';
    AppendIndent(out, level);
    *out += '}';
    return;
  }
  const QList& list = object.list();
  *out += '[';
  for (size_t i = 0; i < list.size(); ++i) {
    if (i > 0) *out += ',';
    *out += '\n';
    AppendIndent(out, level + 1);
    AppendJson(out, list.at(i), level + 1);
  }
  *out += '\n';
  AppendIndent(out, level);
  *out += ']';
}

bool IsComposite(const QObject& object) {
  return object.kind() == QObject::Kind::kDict || object.kind() == QObject::Kind::kList;
}

void AppendHuman(std::string* out, const QObject& object, int indentation);

// One "name:" line and its value, as dump_qdict()/dump_qlist() print it.
void AppendHumanMember(std::string* out, const std::string& name, const QObject& value,
                       int indentation) {
  AppendIndent(out, indentation);
  *out += name;
  *out += ':';
  if (IsComposite(value)) {
    *out += '\n';
    AppendHuman(out, value, indentation + 1);
  } else {
    *out += ' ';
    AppendHuman(out, value, indentation + 1);
    *out += '\n';
  }
}

void AppendHuman(std::string* out, const QObject& object, int indentation) {
  if (AppendScalar(out, object, /*json=*/false)) return;
  if (object.kind() == QObject::Kind::kDict) {
    const QDict& dict = object.dict();
    for (size_t i : dict.IterationOrder()) {
      std::string key = dict.key(i);
      std::replace(key.begin(), key.end(), '-', ' ');
      AppendHumanMember(out, key, dict.value(i), indentation);
    }
    return;
  }
  const QList& list = object.list();
  for (size_t i = 0; i < list.size(); ++i) {
    AppendHumanMember(out, "[" + std::to_string(i) + "]", list.at(i), indentation);
  }
}

}  // namespace

std::string JsonQuote(std::string_view text) {
  std::string out = "\"";
  size_t pos = 0;
  // A C string: qemu's writer stops at the first NUL.
  text = text.substr(0, text.find('\0'));
  while (pos < text.size()) {
    int32_t cp = NextCodepoint(text, &pos);
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (cp < 0) cp = 0xFFFD;
        if (cp > 0xFFFF) {
          AppendHex4(&out, 0xD800 + ((static_cast<uint32_t>(cp) - 0x10000) >> 10));
          AppendHex4(&out, 0xDC00 + ((static_cast<uint32_t>(cp) - 0x10000) & 0x3FF));
        } else if (cp < 0x20 || cp >= 0x7F) {
          AppendHex4(&out, static_cast<uint32_t>(cp));
        } else {
          out += static_cast<char>(cp);
        }
    }
  }
  return out + "\"";
}

std::string ToPrettyJson(const QObject& object) {
  std::string out;
  AppendJson(&out, object, 0);
  return out;
}

std::string DumpHuman(const QObject& object, int indentation) {
  std::string out;
  AppendHuman(&out, object, indentation);
  return out;
}

}  // namespace instar::vmm
