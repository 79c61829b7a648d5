// -l for qemu-img measure: the snapshot to measure, as qemu-img's getopt
// loop reads it.
//
// An argument that starts with "snapshot." is parsed by QemuOpts into
// internal_snapshot_opts (qemu_opts_parse_noisily(), no implied key): keys
// snapshot.id and snapshot.name (strings; the last of each wins), "id=" is
// the QemuOpts id (an identifier, unique among the -l options parsed so
// far), a key without "=" is a boolean ("x" is x=on, "nox" x=off), ",," is
// a comma inside a value. Any other argument names a snapshot by id or
// name. qemu's util/qemu-option.c; the differences between 5.2 and 6.0+
// are the measure dialect's (warns_short_form_booleans).
#include "instar/engine/bytes.h"
#include "instar/engine/measure.h"
#include "instar/engine/measure_dialect.h"
#include "measure/measure_internal.h"
#include "measure/qemu_numbers.h"

namespace instar {

namespace {

using measure_internal::CStringLength;
using measure_internal::MeasureFailure;

constexpr char kPrefix[] = "snapshot.";

// One "name[=value]" element of a QemuOpts string.
struct Element {
  MeasureText name;       // as typed, without a "no" prefix for a flag
  MeasureText typed;      // the name as typed (a flag's "no" included)
  MeasureText raw_value;  // between '=' and the element's end, ",," not unescaped
  bool flag = false;      // no '=': a boolean
  bool flag_off = false;  // "nox"
};

// get_opt_name_value() without an implied first name: the element at
// text[*pos ...), and *pos moved past it and its ','.
Element NextElement(const char* text, size_t length, size_t* pos) {
  Element e;
  size_t p = *pos;
  size_t name_end = p;
  while (name_end < length && text[name_end] != '=' && text[name_end] != ',') ++name_end;
  e.typed = MeasureText{text + p, name_end - p};
  if (name_end >= length || text[name_end] != '=') {
    e.flag = true;
    e.name = e.typed;
    if (e.name.length >= 2 && e.name.data[0] == 'n' && e.name.data[1] == 'o') {
      e.flag_off = true;
      e.name = MeasureText{e.name.data + 2, e.name.length - 2};
    }
    p = name_end;
  } else {
    // get_opt_value(): up to the first ',' that is not doubled.
    size_t v = name_end + 1;
    size_t end = v;
    while (end < length) {
      if (text[end] == ',') {
        if (end + 1 < length && text[end + 1] == ',') {
          end += 2;
          continue;
        }
        break;
      }
      ++end;
    }
    e.name = e.typed;
    e.raw_value = MeasureText{text + v, end - v};
    p = end;
  }
  if (p < length && text[p] == ',') ++p;
  *pos = p;
  return e;
}

// The value of `e` with ",," made ',', NUL-terminated in the arena; a
// flag's is "on" or "off".
bool ElementValue(const Element& e, Arena& arena, MeasureText* out) {
  if (e.flag) {
    *out = e.flag_off ? MeasureText{"off", 3} : MeasureText{"on", 2};
    return true;
  }
  char* copy = static_cast<char*>(arena.Allocate(e.raw_value.length + 1, 1));
  if (copy == nullptr) return false;
  size_t n = 0;
  for (size_t i = 0; i < e.raw_value.length; ++i) {
    copy[n++] = e.raw_value.data[i];
    if (e.raw_value.data[i] == ',' && i + 1 < e.raw_value.length &&
        e.raw_value.data[i + 1] == ',') {
      ++i;
    }
  }
  copy[n] = '\0';
  *out = MeasureText{copy, n};
  return true;
}

bool Is(MeasureText text, const char* literal) {
  return CStringEquals(literal, text.data, text.length);
}

bool IsHelpOption(MeasureText name) { return Is(name, "help") || Is(name, "?"); }

bool TextEquals(MeasureText a, MeasureText b) {
  return a.length == b.length && BytesEqual(a.data, b.data, a.length);
}

// The QemuOpts id of `text`: opts_parse_id() takes the value of the first
// element named "id" (a bare "id" is "on").
bool FindId(const char* text, size_t length, Arena& arena, MeasureText* id, bool* no_memory) {
  size_t pos = 0;
  while (pos < length) {
    const Element e = NextElement(text, length, &pos);
    if (Is(e.name, "id")) {
      *no_memory = !ElementValue(e, arena, id);
      return true;
    }
  }
  return false;
}

}  // namespace

namespace measure_internal {

bool IdWellFormed(MeasureText id) {
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (id.length == 0 || !alpha(id.data[0])) return false;
  for (size_t i = 1; i < id.length; ++i) {
    const char c = id.data[i];
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '-' && c != '.' && c != '_') return false;
  }
  return true;
}

}  // namespace measure_internal

Status ParseSnapshotParam(const char* text, size_t length, const QemuVersion& compat, Arena& arena,
                          SnapshotParamList* list, MeasureSnapshot* out, MeasureError* error) {
  length = CStringLength(text, length);
  *out = MeasureSnapshot();
  list->flag_count = 0;
  const MeasureText whole{text, length};
  const size_t prefix_length = sizeof(kPrefix) - 1;
  if (length < prefix_length || !BytesEqual(text, kPrefix, prefix_length)) {
    out->kind = MeasureSnapshotKind::kIdOrName;
    out->name = whole;
    return Status::Ok();
  }
  const MeasureDialect dialect = MeasureDialectFor(compat);
  error->version = compat;
  error->value = whole;

  // qemu_opts_create(): the id first.
  MeasureText id;
  bool no_memory = false;
  const bool has_id = FindId(text, length, arena, &id, &no_memory);
  if (no_memory) return Status::NoSpace("arena exhausted while parsing -l");
  if (has_id) {
    if (!measure_internal::IdWellFormed(id)) {
      return MeasureFailure(error, MeasureErrorKind::kSnapshotParamId, "bad snapshot param id");
    }
    for (size_t i = 0; i < list->id_count; ++i) {
      if (TextEquals(list->ids[i], id)) {
        error->subject = id;
        return MeasureFailure(error, MeasureErrorKind::kSnapshotParamDuplicate,
                              "snapshot param id taken");
      }
    }
  }

  out->kind = MeasureSnapshotKind::kIdAndName;
  size_t pos = 0;
  while (pos < length) {
    const Element e = NextElement(text, length, &pos);
    // 6.0+ takes a bare "help" or "?" as a request for help, and warns
    // about every other short-form boolean.
    const bool help_flag = e.flag && !e.flag_off && IsHelpOption(e.name);
    if (dialect.warns_short_form_booleans) {
      if (help_flag) {
        return MeasureFailure(error, MeasureErrorKind::kSnapshotParamHelp, "snapshot param help");
      }
      if (e.flag && list->flag_count < sizeof(list->flags) / sizeof(list->flags[0])) {
        list->flags[list->flag_count++] = e.typed;
      }
    }
    if (Is(e.name, "id")) continue;
    MeasureText value;
    if (Is(e.name, "snapshot.id")) {
      if (!ElementValue(e, arena, &value))
        return Status::NoSpace("arena exhausted while parsing -l");
      out->id = value;
    } else if (Is(e.name, "snapshot.name")) {
      if (!ElementValue(e, arena, &value))
        return Status::NoSpace("arena exhausted while parsing -l");
      out->name = value;
    } else if (!dialect.warns_short_form_booleans && IsHelpOption(e.name)) {
      // 5.2: an unknown key named "help" or "?" (however given) asks for
      // help instead of being an error.
      return MeasureFailure(error, MeasureErrorKind::kSnapshotParamHelp, "snapshot param help");
    } else {
      error->subject = e.name;
      return MeasureFailure(error, MeasureErrorKind::kSnapshotParamInvalid,
                            "unknown snapshot param");
    }
  }
  if (has_id) {
    if (list->id_count == SnapshotParamList::kCapacity) {
      return measure_internal::NotSupportedFailure(error,
                                                   "instar keeps the ids of at most 8 -l options");
    }
    list->ids[list->id_count++] = id;
  }
  return Status::Ok();
}

const char* SnapshotParamHelp() {
  // qemu_opts_print_help(&internal_snapshot_opts, true): "  %s=<%s>"
  // padded to 24 columns, then " - " and the help text.
  return "snapshot options:\n"
         "  snapshot.id=<str>      - snapshot id\n"
         "  snapshot.name=<str>    - snapshot name\n";
}

}  // namespace instar
