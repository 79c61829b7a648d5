#include "instar/engine/version.h"

#include "instar/engine/bytes.h"

namespace instar {

namespace {

// Parses one decimal component at text[*pos], advancing *pos past it.
bool ParseComponent(const char* text, size_t length, size_t* pos, uint16_t* out) {
  uint32_t value = 0;
  size_t start = *pos;
  while (*pos < length && text[*pos] >= '0' && text[*pos] <= '9') {
    value = value * 10 + static_cast<uint32_t>(text[*pos] - '0');
    if (value > 0xffff) return false;
    ++*pos;
  }
  if (*pos == start) return false;
  *out = static_cast<uint16_t>(value);
  return true;
}

bool StartsWith(const char* text, size_t length, const char* prefix, size_t prefix_length) {
  return length >= prefix_length && BytesEqual(text, prefix, prefix_length);
}

}  // namespace

Result<QemuVersion> ParseQemuVersion(const char* text, size_t length) {
  QemuVersion v;
  size_t pos = 0;
  if (!ParseComponent(text, length, &pos, &v.major) || pos >= length || text[pos++] != '.' ||
      !ParseComponent(text, length, &pos, &v.minor) || pos >= length || text[pos++] != '.' ||
      !ParseComponent(text, length, &pos, &v.micro) || pos != length) {
    return Status::InvalidArgument("version is not of the form X.Y.Z");
  }
  return v;
}

Result<QemuVersion> ParseVersionBanner(const char* text, size_t length) {
  static constexpr const char kImg[] = "qemu-img version ";
  static constexpr const char kIo[] = "qemu-io version ";
  size_t pos;
  if (StartsWith(text, length, kImg, sizeof(kImg) - 1)) {
    pos = sizeof(kImg) - 1;
  } else if (StartsWith(text, length, kIo, sizeof(kIo) - 1)) {
    pos = sizeof(kIo) - 1;
  } else {
    return Status::InvalidArgument("not a qemu-img --version banner");
  }
  size_t end = pos;
  while (end < length && text[end] != ' ' && text[end] != '\n' && text[end] != '\r') ++end;
  return ParseQemuVersion(text + pos, end - pos);
}

size_t FormatQemuVersion(const QemuVersion& version, char* out) {
  size_t n = 0;
  const uint16_t parts[3] = {version.major, version.minor, version.micro};
  for (int i = 0; i < 3; ++i) {
    if (i > 0) out[n++] = '.';
    char digits[5];
    int count = 0;
    uint16_t v = parts[i];
    do {
      digits[count++] = static_cast<char>('0' + v % 10);
      v = static_cast<uint16_t>(v / 10);
    } while (v != 0);
    while (count > 0) out[n++] = digits[--count];
  }
  out[n] = '\0';
  return n;
}

}  // namespace instar
