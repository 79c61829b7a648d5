// --object for qemu-img measure: the secret object LUKS takes its
// passphrase from, read and made as each release does.
//
// 6.0 and later (qom/object_interfaces.c user_creatable_process_cmdline):
// keyval_parse() with "qom-type" as the implied first key, the QAPI visit
// of ObjectOptions (qom-type, id, then the type's members and the check
// for keys left over), then user_creatable_add_type(): the id's syntax,
// the class, the properties, the id's uniqueness, and the object's
// completion (for a secret: loading its data).
//
// 5.2: QemuOpts with "qom-type" implied (any key is taken; the id is
// checked as the option is read), and the object made after the options
// were read: qom-type, id, the class, the properties one by one, then the
// completion.
//
// instar makes only secrets. A type qemu-img could make is NotSupported;
// one it could not is refused with qemu-img's words.
#include "instar/engine/bytes.h"
#include "instar/engine/measure.h"
#include "instar/engine/measure_dialect.h"
#include "instar/engine/text_builder.h"
#include "measure/measure_internal.h"
#include "measure/qemu_numbers.h"

namespace instar {

namespace {

using measure_internal::CStringLength;
using measure_internal::IdWellFormed;
using measure_internal::MeasureFailure;
using measure_internal::NotSupportedFailure;

MeasureText Text(const char* literal) { return MeasureText{literal, BoundedLength(literal, 64)}; }

bool Is(MeasureText text, const char* literal) {
  return text.data != nullptr && CStringEquals(literal, text.data, text.length);
}

bool Equal(MeasureText a, MeasureText b) {
  return a.length == b.length && BytesEqual(a.data, b.data, a.length);
}

bool IsHelpOption(MeasureText text) { return Is(text, "help") || Is(text, "?"); }

// The types qemu-img can make (`--object help`), per release.
constexpr const char* kCreatable52[] = {
    "authz-list",     "authz-list-file", "authz-simple",   "pr-manager-helper",
    "secret",         "secret_keyring",  "throttle-group", "tls-cipher-suites",
    "tls-creds-anon", "tls-creds-psk",   "tls-creds-x509",
};
constexpr const char* kCreatable72[] = {
    "authz-list",     "authz-list-file", "authz-simple",   "main-loop",      "pr-manager-helper",
    "secret",         "secret_keyring",  "thread-context", "throttle-group", "tls-cipher-suites",
    "tls-creds-anon", "tls-creds-psk",   "tls-creds-x509",
};
constexpr const char* kCreatable100[] = {
    "authz-list",        "authz-list-file", "authz-simple",   "main-loop",
    "pr-manager-helper", "secret",          "secret_keyring", "thread-context",
    "throttle-group",    "tls-creds-anon",  "tls-creds-psk",  "tls-creds-x509",
};

// QAPI's ObjectType, which 6.0+'s visit checks qom-type against: the names
// of 7.2's Debian build, and those 10.0 and 11.1 add (found by asking each
// build of the matrix).
constexpr const char* kObjectTypes72[] = {
    "authz-list",
    "authz-listfile",
    "authz-pam",
    "authz-simple",
    "can-bus",
    "can-host-socketcan",
    "colo-compare",
    "cryptodev-backend",
    "cryptodev-backend-builtin",
    "cryptodev-backend-lkcf",
    "cryptodev-vhost-user",
    "dbus-vmstate",
    "filter-buffer",
    "filter-dump",
    "filter-mirror",
    "filter-redirector",
    "filter-replay",
    "filter-rewriter",
    "input-barrier",
    "input-linux",
    "iothread",
    "main-loop",
    "memory-backend-epc",
    "memory-backend-file",
    "memory-backend-memfd",
    "memory-backend-ram",
    "pef-guest",
    "pr-manager-helper",
    "qtest",
    "rng-builtin",
    "rng-egd",
    "rng-random",
    "s390-pv-guest",
    "secret",
    "secret_keyring",
    "sev-guest",
    "thread-context",
    "throttle-group",
    "tls-creds-anon",
    "tls-creds-psk",
    "tls-creds-x509",
    "tls-cipher-suites",
    "x-remote-object",
    "x-vfio-user-server",
};
constexpr const char* kObjectTypes100[] = {
    "acpi-generic-initiator", "acpi-generic-port", "iommufd", "memory-backend-shm", "sev-snp-guest",
};
constexpr const char* kObjectTypes111[] = {"tdx-guest"};

template <size_t N>
bool InList(MeasureText name, const char* const (&list)[N]) {
  for (const char* entry : list) {
    if (Is(name, entry)) return true;
  }
  return false;
}

bool Creatable(MeasureText type, const MeasureDialect& dialect) {
  switch (dialect.object_types) {
    case ObjectTypeList::kV5_2:
      return InList(type, kCreatable52);
    case ObjectTypeList::kV7_2:
      return InList(type, kCreatable72);
    case ObjectTypeList::kV10_0:
      return InList(type, kCreatable100);
  }
  return false;
}

bool InObjectTypeEnum(MeasureText type, const MeasureDialect& dialect) {
  if (InList(type, kObjectTypes72)) return true;
  if (dialect.release.AtLeast(10, 0) && InList(type, kObjectTypes100)) return true;
  return dialect.release.AtLeast(11, 1) && InList(type, kObjectTypes111);
}

Status Fail(MeasureError* error, MeasureErrorKind kind, MeasureText subject, MeasureText value,
            const char* message) {
  error->subject = subject;
  error->value = value;
  return MeasureFailure(error, kind, message);
}

Status NoMemory() { return Status::NoSpace("arena exhausted while reading --object"); }

// `raw` with ",," made ',', NUL-terminated in the arena.
bool Unescape(MeasureText raw, Arena& arena, MeasureText* out) {
  char* copy = static_cast<char*>(arena.Allocate(raw.length + 1, 1));
  if (copy == nullptr) return false;
  size_t n = 0;
  for (size_t i = 0; i < raw.length; ++i) {
    copy[n++] = raw.data[i];
    if (raw.data[i] == ',' && i + 1 < raw.length && raw.data[i + 1] == ',') ++i;
  }
  copy[n] = '\0';
  *out = MeasureText{copy, n};
  return true;
}

// The end of a QemuOpts/keyval value starting at `v`: the first ',' that
// is not doubled.
size_t ValueEnd(const char* text, size_t length, size_t v) {
  while (v < length) {
    if (text[v] == ',') {
      if (v + 1 < length && text[v + 1] == ',') {
        v += 2;
        continue;
      }
      break;
    }
    ++v;
  }
  return v;
}

// ---- keyval (6.0+) ---------------------------------------------------------

// One key=value of keyval_parse(): `key` is the whole dotted key.
struct KeyvalEntry {
  MeasureText key;
  MeasureText value;  // unescaped
};

struct KeyvalDict {
  static constexpr size_t kCapacity = 32;
  KeyvalEntry entries[kCapacity];
  size_t count = 0;
  bool help = false;

  // The string at `key`, or null when the key is absent or a dict.
  const KeyvalEntry* Find(MeasureText key) const {
    for (size_t i = 0; i < count; ++i) {
      if (Equal(entries[i].key, key)) return &entries[i];
    }
    return nullptr;
  }
  // Whether `key` is a dict (some key continues it with '.').
  bool IsDict(MeasureText key) const {
    for (size_t i = 0; i < count; ++i) {
      const MeasureText k = entries[i].key;
      if (k.length > key.length && k.data[key.length] == '.' &&
          BytesEqual(k.data, key.data, key.length)) {
        return true;
      }
    }
    return false;
  }
};

// parse_qapi_name(s, false): the length of the QAPI name at s[0, end), or 0.
size_t QapiNameLength(const char* s, const char* end) {
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  auto alnum = [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); };
  const char* p = s;
  if (p < end && *p == '_') {  // a downstream "__RFQDN_" prefix
    ++p;
    if (p >= end || *p != '_') return 0;
    ++p;
    while (p < end && (alnum(*p) || *p == '-' || *p == '.')) ++p;
    if (p >= end || *p != '_') return 0;
    ++p;
  }
  if (p >= end || !alpha(*p)) return 0;
  ++p;
  while (p < end && (alnum(*p) || *p == '-' || *p == '_')) ++p;
  return static_cast<size_t>(p - s);
}

// key_to_index(): a list index fragment, digits only.
size_t IndexLength(const char* s, const char* end) {
  const char* p = s;
  while (p < end && *p >= '0' && *p <= '9') ++p;
  return static_cast<size_t>(p - s);
}

Status KeyvalPut(KeyvalDict* dict, MeasureText key, MeasureText value, MeasureError* error) {
  // Every shorter prefix must be (or become) a dict, the key itself a string.
  for (size_t i = 0; i < key.length; ++i) {
    if (key.data[i] != '.') continue;
    const MeasureText prefix{key.data, i};
    if (dict->Find(prefix) != nullptr) {
      return Fail(error, MeasureErrorKind::kObjectParamMixed, prefix, {}, "keyval key mixed");
    }
  }
  if (dict->IsDict(key)) {
    return Fail(error, MeasureErrorKind::kObjectParamMixed, key, {}, "keyval key mixed");
  }
  for (size_t i = 0; i < dict->count; ++i) {
    if (Equal(dict->entries[i].key, key)) {
      dict->entries[i].value = value;  // the last one wins
      return Status::Ok();
    }
  }
  if (dict->count == KeyvalDict::kCapacity) {
    return NotSupportedFailure(error, "instar reads at most 32 keys of an --object");
  }
  dict->entries[dict->count++] = KeyvalEntry{key, value};
  return Status::Ok();
}

// keyval_parse(text, "qom-type", &help).
Status KeyvalParse(const char* text, size_t length, Arena& arena, KeyvalDict* dict,
                   MeasureError* error) {
  size_t pos = 0;
  bool first = true;
  while (pos < length) {
    const char* element = text + pos;
    size_t len = 0;
    while (pos + len < length && element[len] != '=' && element[len] != ',') ++len;
    const bool has_equals = pos + len < length && element[len] == '=';
    if (len > 0 && !has_equals) {
      const MeasureText word{element, len};
      if (IsHelpOption(word)) {
        dict->help = true;
        pos += len;
        if (pos < length && text[pos] == ',') ++pos;
        first = false;
        continue;
      }
      if (first) {
        // The implied key: the value runs to the first ',' (no escapes).
        INSTAR_RETURN_IF_ERROR(KeyvalPut(dict, Text("qom-type"), word, error));
        pos += len;
        if (pos < length && text[pos] == ',') ++pos;
        first = false;
        continue;
      }
    }
    first = false;
    // The key's fragments.
    const char* key_end = element + len;
    const MeasureText key{element, len};
    const char* s = element;
    for (;;) {
      size_t fragment = s != element ? IndexLength(s, key_end) : 0;
      if (fragment == 0) fragment = QapiNameLength(s, key_end);
      if (fragment == 0 || (s + fragment < key_end && s[fragment] != '.')) {
        return Fail(error, MeasureErrorKind::kObjectParamInvalid, key, {}, "bad keyval key");
      }
      if (fragment >= 128) {
        error->detail = (s != element || s + fragment != key_end) ? " fragment" : "";
        return Fail(error, MeasureErrorKind::kObjectParamTooLong, MeasureText{s, fragment}, {},
                    "keyval key too long");
      }
      s += fragment;
      if (s >= key_end || *s != '.') break;
      ++s;
    }
    if (!has_equals) {
      return Fail(error, MeasureErrorKind::kObjectParamNoValue, key, {}, "keyval key without =");
    }
    const size_t v = pos + len + 1;
    const size_t end = ValueEnd(text, length, v);
    MeasureText value;
    if (!Unescape(MeasureText{text + v, end - v}, arena, &value)) return NoMemory();
    INSTAR_RETURN_IF_ERROR(KeyvalPut(dict, key, value, error));
    pos = end;
    if (pos < length && text[pos] == ',') ++pos;
  }
  return Status::Ok();
}

// The keyval visitor's string member `name`: absent, a string, or a dict
// (refused).
Status VisitString(const KeyvalDict& dict, const char* name, MeasureText* out, bool* visited,
                   MeasureError* error) {
  const MeasureText key = Text(name);
  if (const KeyvalEntry* entry = dict.Find(key); entry != nullptr) {
    *out = entry->value;
    *visited = true;
    return Status::Ok();
  }
  if (dict.IsDict(key)) {
    return Fail(error, MeasureErrorKind::kObjectParamDict, key, {}, "keyval member is a dict");
  }
  return Status::Ok();
}

bool ParseBool(MeasureText text, bool* value) {
  if (Is(text, "on") || Is(text, "yes") || Is(text, "true") || Is(text, "y")) {
    *value = true;
    return true;
  }
  if (Is(text, "off") || Is(text, "no") || Is(text, "false") || Is(text, "n")) {
    *value = false;
    return true;
  }
  return false;
}

bool IsSecretFormat(MeasureText text) { return Is(text, "raw") || Is(text, "base64"); }

// visit_type_ObjectOptions() over the keyval dict.
Status VisitObject(const KeyvalDict& dict, const MeasureDialect& dialect, MeasureObject* out,
                   MeasureError* error) {
  bool visited[KeyvalDict::kCapacity] = {};
  auto mark = [&](const char* name) {
    for (size_t i = 0; i < dict.count; ++i) {
      if (Is(dict.entries[i].key, name)) visited[i] = true;
    }
  };
  bool seen = false;
  INSTAR_RETURN_IF_ERROR(VisitString(dict, "qom-type", &out->type, &seen, error));
  if (out->type.data == nullptr) {
    return Fail(error, MeasureErrorKind::kObjectParamMissing, Text("qom-type"), {},
                "--object without a type");
  }
  if (!InObjectTypeEnum(out->type, dialect)) {
    return Fail(error, MeasureErrorKind::kObjectEnumValue, Text("qom-type"), out->type,
                "unknown object type");
  }
  mark("qom-type");
  INSTAR_RETURN_IF_ERROR(VisitString(dict, "id", &out->id, &seen, error));
  if (out->id.data == nullptr) {
    return Fail(error, MeasureErrorKind::kObjectParamMissing, Text("id"), {},
                "--object without id");
  }
  mark("id");
  // The members of other types are theirs to check; instar does not make
  // those objects.
  if (!Is(out->type, "secret")) return Status::Ok();

  // SecretCommonProperties, then SecretProperties, in QAPI's order.
  if (dialect.secret_loaded != SecretLoadedProperty::kAbsent) {
    INSTAR_RETURN_IF_ERROR(VisitString(dict, "loaded", &out->loaded, &seen, error));
    bool ignored = false;
    if (out->loaded.data != nullptr && !ParseBool(out->loaded, &ignored)) {
      return Fail(error, MeasureErrorKind::kObjectExpectsBool, Text("loaded"), out->loaded,
                  "secret loaded not a boolean");
    }
    mark("loaded");
  }
  INSTAR_RETURN_IF_ERROR(VisitString(dict, "format", &out->format, &seen, error));
  if (out->format.data != nullptr && !IsSecretFormat(out->format)) {
    return Fail(error, MeasureErrorKind::kObjectEnumValue, Text("format"), out->format,
                "unknown secret format");
  }
  mark("format");
  INSTAR_RETURN_IF_ERROR(VisitString(dict, "keyid", &out->keyid, &seen, error));
  mark("keyid");
  INSTAR_RETURN_IF_ERROR(VisitString(dict, "iv", &out->iv, &seen, error));
  mark("iv");
  INSTAR_RETURN_IF_ERROR(VisitString(dict, "data", &out->data, &seen, error));
  mark("data");
  INSTAR_RETURN_IF_ERROR(VisitString(dict, "file", &out->file, &seen, error));
  mark("file");
  // visit_check_struct(): a key left over (a dict's first fragment).
  for (size_t i = 0; i < dict.count; ++i) {
    if (visited[i]) continue;
    MeasureText key = dict.entries[i].key;
    for (size_t j = 0; j < key.length; ++j) {
      if (key.data[j] == '.') {
        key.length = j;
        break;
      }
    }
    return Fail(error, MeasureErrorKind::kObjectUnexpected, key, {}, "unexpected secret member");
  }
  return Status::Ok();
}

// ---- QemuOpts (5.2) --------------------------------------------------------

Status ReadQemuOptsObject(const char* text, size_t length, const MeasureDialect& dialect,
                          Arena& arena, const MeasureObject* earlier, size_t earlier_count,
                          MeasureObject* out, MeasureError* error) {
  // opts_parse_id(): the first element named "id" (the implied type is no
  // name here).
  bool has_id = false;
  MeasureText raw_id;
  for (size_t pos = 0; pos < length && !has_id;) {
    size_t name_end = pos;
    while (name_end < length && text[name_end] != '=' && text[name_end] != ',') ++name_end;
    const MeasureText name{text + pos, name_end - pos};
    size_t next = name_end;
    if (name_end < length && text[name_end] == '=') {
      next = ValueEnd(text, length, name_end + 1);
      if (Is(name, "id")) {
        has_id = true;
        raw_id = MeasureText{text + name_end + 1, next - name_end - 1};
      }
    } else if (Is(name, "id")) {
      has_id = true;
      raw_id = Text("on");
    }
    pos = next < length && text[next] == ',' ? next + 1 : next;
  }
  if (has_id) {
    MeasureText id;
    if (!Unescape(raw_id, arena, &id)) return NoMemory();
    if (!IdWellFormed(id)) {
      return Fail(error, MeasureErrorKind::kObjectIdSyntax, {}, id, "bad object id");
    }
    for (size_t i = 0; i < earlier_count; ++i) {
      if (earlier[i].id.data != nullptr && Equal(earlier[i].id, id)) {
        return Fail(error, MeasureErrorKind::kObjectDuplicateId, {}, id, "object id taken");
      }
    }
  }

  bool help = false;
  size_t pos = 0;
  bool first = true;
  while (pos < length) {
    size_t name_end = pos;
    while (name_end < length && text[name_end] != '=' && text[name_end] != ',') ++name_end;
    MeasureText name{text + pos, name_end - pos};
    MeasureText value;
    if (name_end >= length || text[name_end] != '=') {
      if (first) {
        // The implied "qom-type": the whole element, ",," unescaped.
        const size_t end = ValueEnd(text, length, pos);
        if (!Unescape(MeasureText{text + pos, end - pos}, arena, &out->type)) return NoMemory();
        pos = end;
        if (pos < length && text[pos] == ',') ++pos;
        first = false;
        continue;
      }
      const bool off = name.length >= 2 && name.data[0] == 'n' && name.data[1] == 'o';
      if (off) name = MeasureText{name.data + 2, name.length - 2};
      value = off ? Text("off") : Text("on");
      pos = name_end;
    } else {
      const size_t end = ValueEnd(text, length, name_end + 1);
      if (!Unescape(MeasureText{text + name_end + 1, end - name_end - 1}, arena, &value)) {
        return NoMemory();
      }
      pos = end;
    }
    if (pos < length && text[pos] == ',') ++pos;
    first = false;
    if (IsHelpOption(name)) help = true;
    // The last of each key wins.
    if (Is(name, "qom-type")) {
      out->type = value;
    } else if (Is(name, "id")) {
      out->id = value;
    } else if (Is(name, "data")) {
      out->data = value;
    } else if (Is(name, "file")) {
      out->file = value;
    } else if (Is(name, "format")) {
      out->format = value;
    } else if (Is(name, "keyid")) {
      out->keyid = value;
    } else if (Is(name, "iv")) {
      out->iv = value;
    } else if (Is(name, "loaded")) {
      out->loaded = value;
    } else if (out->unknown_key.data == nullptr && !IsHelpOption(name)) {
      out->unknown_key = name;
    }
  }
  // user_creatable_print_help(): "help" as the type, or a help key on a
  // type qemu-img can make.
  out->help = IsHelpOption(out->type) ||
              (help && out->type.data != nullptr && Creatable(out->type, dialect));
  return Status::Ok();
}

// ---- data -------------------------------------------------------------------

// g_utf8_validate(data, length, NULL): no NUL, no overlong form, no
// surrogate, nothing above U+10FFFF.
bool ValidUtf8(const uint8_t* data, size_t length) {
  size_t i = 0;
  while (i < length) {
    const uint8_t c = data[i];
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    uint32_t value;
    uint32_t minimum;
    if ((c & 0xe0) == 0xc0) {
      extra = 1;
      value = c & 0x1f;
      minimum = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      value = c & 0x0f;
      minimum = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      value = c & 0x07;
      minimum = 0x10000;
    } else {
      return false;
    }
    if (length - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      if ((data[i + k] & 0xc0) != 0x80) return false;
      value = (value << 6) | (data[i + k] & 0x3f);
    }
    if (value < minimum || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

int Base64Rank(uint8_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  if (c == '=') return 0;  // glib ranks '=' as 0 and drops bytes for it at the end
  return -1;
}

// qbase64_decode(): the character check, then g_base64_decode() into the
// arena (glib decodes four characters into three bytes, ignores what it
// does not know, and drops one byte per '=' among the last two
// characters it knows).
Status DecodeBase64(const uint8_t* raw, size_t length, Arena& arena, const uint8_t** out,
                    size_t* out_length, MeasureError* error) {
  for (size_t i = 0; i < length; ++i) {
    if (raw[i] == 0) {
      return MeasureFailure(error, MeasureErrorKind::kSecretBase64Nul, "NUL in base64 secret");
    }
  }
  for (size_t i = 0; i < length; ++i) {
    if (Base64Rank(raw[i]) < 0 && raw[i] != '\n') {
      return MeasureFailure(error, MeasureErrorKind::kSecretBase64Chars, "bad base64 secret");
    }
  }
  uint8_t* decoded = static_cast<uint8_t*>(arena.Allocate(length / 4 * 3 + 3, 1));
  if (decoded == nullptr) return NoMemory();
  size_t n = 0;
  uint32_t bits = 0;
  int count = 0;
  for (size_t i = 0; i < length; ++i) {
    const int rank = Base64Rank(raw[i]);
    if (rank < 0) continue;
    bits = (bits << 6) | static_cast<uint32_t>(rank);
    if (++count == 4) {
      decoded[n++] = static_cast<uint8_t>(bits >> 16);
      decoded[n++] = static_cast<uint8_t>(bits >> 8);
      decoded[n++] = static_cast<uint8_t>(bits);
      bits = 0;
      count = 0;
    }
  }
  int last = 2;
  for (size_t i = length; i > 0 && last > 0; --i) {
    if (Base64Rank(raw[i - 1]) < 0) continue;
    if (raw[i - 1] == '=' && n > 0) --n;
    --last;
  }
  *out = decoded;
  *out_length = n;
  return Status::Ok();
}

}  // namespace

Status ReadMeasureObject(const char* text, size_t length, const QemuVersion& compat, Arena& arena,
                         const MeasureObject* earlier, size_t earlier_count, MeasureObject* out,
                         MeasureError* error) {
  length = CStringLength(text, length);
  *out = MeasureObject();
  const MeasureDialect dialect = MeasureDialectFor(compat);
  error->version = compat;
  if (dialect.object_syntax == ObjectSyntax::kQemuOpts) {
    return ReadQemuOptsObject(text, length, dialect, arena, earlier, earlier_count, out, error);
  }
  if (length > 0 && text[0] == '{') {
    return NotSupportedFailure(error, "--object in JSON is not supported by instar");
  }
  auto* dict = arena.New<KeyvalDict>();
  if (dict == nullptr) return NoMemory();
  INSTAR_RETURN_IF_ERROR(KeyvalParse(text, length, arena, dict, error));
  if (dict->help) {
    // user_creatable_print_help_from_qdict(): the type's properties when
    // qemu-img can make it, else the list of types.
    out->help = true;
    if (const KeyvalEntry* type = dict->Find(Text("qom-type")); type != nullptr) {
      out->type = type->value;
    }
    return Status::Ok();
  }
  return VisitObject(*dict, dialect, out, error);
}

const char* MeasureObjectHelp(const MeasureObject& object, const QemuVersion& compat) {
  const MeasureDialect dialect = MeasureDialectFor(compat);
  const bool list =
      object.type.data == nullptr || IsHelpOption(object.type) || !Creatable(object.type, dialect);
  if (!list) {
    if (!Is(object.type, "secret")) return nullptr;
    if (dialect.secret_loaded == SecretLoadedProperty::kWritable) {
      return "secret options:\n"
             "  data=<string>\n"
             "  file=<string>\n"
             "  format=<QCryptoSecretFormat>\n"
             "  iv=<string>\n"
             "  keyid=<string>\n"
             "  loaded=<bool>\n";
    }
    return "secret options:\n"
           "  data=<string>\n"
           "  file=<string>\n"
           "  format=<QCryptoSecretFormat>\n"
           "  iv=<string>\n"
           "  keyid=<string>\n";
  }
  switch (dialect.object_types) {
    case ObjectTypeList::kV5_2:
      return "List of user creatable objects:\n"
             "  authz-list\n  authz-list-file\n  authz-simple\n  pr-manager-helper\n"
             "  secret\n  secret_keyring\n  throttle-group\n  tls-cipher-suites\n"
             "  tls-creds-anon\n  tls-creds-psk\n  tls-creds-x509\n";
    case ObjectTypeList::kV7_2:
      return "List of user creatable objects:\n"
             "  authz-list\n  authz-list-file\n  authz-simple\n  main-loop\n"
             "  pr-manager-helper\n  secret\n  secret_keyring\n  thread-context\n"
             "  throttle-group\n  tls-cipher-suites\n  tls-creds-anon\n  tls-creds-psk\n"
             "  tls-creds-x509\n";
    case ObjectTypeList::kV10_0:
      return "List of user creatable objects:\n"
             "  authz-list\n  authz-list-file\n  authz-simple\n  main-loop\n"
             "  pr-manager-helper\n  secret\n  secret_keyring\n  thread-context\n"
             "  throttle-group\n  tls-creds-anon\n  tls-creds-psk\n  tls-creds-x509\n";
  }
  return nullptr;
}

Status MakeMeasureObject(const MeasureObject& object, const QemuVersion& compat,
                         const MeasureSecrets& made, MeasureError* error) {
  const MeasureDialect dialect = MeasureDialectFor(compat);
  error->version = compat;
  if (dialect.object_syntax == ObjectSyntax::kQemuOpts) {
    // user_creatable_add_opts(), then user_creatable_add_type().
    if (object.type.data == nullptr) {
      return Fail(error, MeasureErrorKind::kObjectParamMissing, Text("qom-type"), {},
                  "--object without a type");
    }
    if (object.id.data == nullptr) {
      return Fail(error, MeasureErrorKind::kObjectParamMissing, Text("id"), {},
                  "--object without id");
    }
  } else if (!IdWellFormed(object.id)) {
    return Fail(error, MeasureErrorKind::kObjectIdSyntax, {}, object.id, "bad object id");
  }
  if (!Is(object.type, "secret")) {
    if (Creatable(object.type, dialect)) {
      return NotSupportedFailure(error,
                                 "instar makes no object but a secret (--object secret,...)");
    }
    return Fail(error, MeasureErrorKind::kObjectInvalidType, {}, object.type,
                "unknown object type");
  }

  // The properties.
  if (dialect.object_syntax == ObjectSyntax::kQemuOpts) {
    if (object.unknown_key.data != nullptr) {
      return Fail(error, MeasureErrorKind::kObjectPropertyNotFound, object.unknown_key, {},
                  "unknown secret property");
    }
    if (object.format.data != nullptr && !IsSecretFormat(object.format)) {
      return Fail(error, MeasureErrorKind::kObjectEnumValue, Text("format"), object.format,
                  "unknown secret format");
    }
    if (object.loaded.data != nullptr) {
      bool loaded = false;
      if (!ParseBool(object.loaded, &loaded)) {
        return Fail(error, MeasureErrorKind::kObjectExpectsBool, Text("loaded"), object.loaded,
                    "secret loaded not a boolean");
      }
      // Setting it loads the secret there and then, before 5.2's QDict
      // order has set data or file (what 5.2 answers for
      // "secret,id=s,data=x,loaded=on").
      if (loaded)
        return MeasureFailure(error, MeasureErrorKind::kSecretNoData, "secret not loaded");
    }
  } else {
    if (object.loaded.data != nullptr) {
      return Fail(error, MeasureErrorKind::kObjectPropertyReadOnly, Text("loaded"), {},
                  "secret loaded is read-only");
    }
    if (made.Find(object.id) != nullptr) {
      return Fail(error, MeasureErrorKind::kObjectDuplicateId, {}, object.id, "object id taken");
    }
  }

  // qcrypto_secret_load_data().
  if (object.file.data != nullptr && object.data.data != nullptr) {
    return MeasureFailure(error, MeasureErrorKind::kSecretDataAndFile, "secret data and file");
  }
  if (object.file.data == nullptr && object.data.data == nullptr) {
    return MeasureFailure(error, MeasureErrorKind::kSecretNoData, "secret without data");
  }
  return Status::Ok();
}

Status FinishMeasureSecret(const MeasureObject& object, const uint8_t* raw, size_t length,
                           Arena& arena, MeasureSecrets* made, MeasureError* error) {
  const uint8_t* data = raw;
  size_t data_length = length;
  if (object.keyid.data != nullptr) {
    // qcrypto_secret_decrypt(): the key, the IV, then AES-256-CBC.
    const MeasureSecret* key = made->Find(object.keyid);
    if (key == nullptr) {
      error->value = object.keyid;
      return MeasureFailure(error, MeasureErrorKind::kNoSecret, "no key secret with that id");
    }
    if (key->length != 32) {
      return MeasureFailure(error, MeasureErrorKind::kSecretKeyLength, "key secret not 32 bytes");
    }
    if (object.iv.data == nullptr) {
      return MeasureFailure(error, MeasureErrorKind::kSecretNoIv, "secret without iv");
    }
    const uint8_t* iv = nullptr;
    size_t iv_length = 0;
    INSTAR_RETURN_IF_ERROR(DecodeBase64(reinterpret_cast<const uint8_t*>(object.iv.data),
                                        object.iv.length, arena, &iv, &iv_length, error));
    if (iv_length != 16) {
      error->number = iv_length;
      return MeasureFailure(error, MeasureErrorKind::kSecretIvLength, "iv not 16 bytes");
    }
    return NotSupportedFailure(error,
                               "instar does not decrypt secrets (--object secret,keyid=...)");
  }
  if (Is(object.format, "base64")) {
    INSTAR_RETURN_IF_ERROR(DecodeBase64(raw, length, arena, &data, &data_length, error));
  }
  if (made->count == MeasureSecrets::kCapacity) {
    return NotSupportedFailure(error, "instar holds at most 16 secret objects");
  }
  MeasureSecret& secret = made->entries[made->count++];
  secret.id = object.id;
  secret.length = data_length;
  secret.valid_utf8 = ValidUtf8(data, data_length);
  return Status::Ok();
}

}  // namespace instar
