// -O and -o for qemu-img measure: target lookup, qemu_opts_do_parse() over
// the target's option table, and --size.
//
// qemu-img builds the table by appending the file protocol's create options
// (size, nocow, preallocation, extent_size_hint) to the driver's, then
// parses "key=value,key2=value2": ",," is a literal comma inside a value; a
// bare "key" means key=on and "nokey" key=off (so "nocow" alone is the
// unknown key "cow"); "id=..." is skipped unread; each occurrence is
// checked against the key's type at once and the last one wins.
#include "instar/engine/bytes.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/measure.h"
#include "instar/engine/measure_dialect.h"
#include "measure/measure_internal.h"
#include "measure/qemu_numbers.h"

namespace instar {

namespace {

using measure_internal::ConvResult;
using measure_internal::CStringLength;
using measure_internal::QemuStrtosz;
using measure_internal::QemuStrtou64;

using OptionDesc = CreateOption;
using OptionType = CreateOptionType;
using K = MeasureOptionKey;
using T = CreateOptionType;

// block/file-posix.c raw_create_opts, appended to every driver's list.
constexpr OptionDesc kFileOptions[] = {
    {"size", K::kSize, T::kSize},
    {"nocow", K::kNocow, T::kBool},
    {"preallocation", K::kPreallocation, T::kString},
    {"extent_size_hint", K::kExtentSizeHint, T::kSize},
};

const OptionDesc* FindDesc(ImageFormat target, const char* name, size_t length,
                           const MeasureDialect& dialect) {
  const FormatDriver* driver = FindFormatDriver(target);
  const size_t count = driver != nullptr ? driver->create_options.count : 0;
  for (size_t i = 0; i < count; ++i) {
    const OptionDesc& desc = driver->create_options.options[i];
    // A key a release does not have yet is unknown to it.
    if (CStringEquals(desc.name, name, length) &&
        dialect.HasOptionSince(desc.since_major, desc.since_minor)) {
      return &desc;
    }
  }
  for (const OptionDesc& desc : kFileOptions) {
    if (CStringEquals(desc.name, name, length)) return &desc;
  }
  return nullptr;
}

// Copies text[0, length) into the arena with ",," turned into ','.
MeasureText CopyUnescaped(Arena& arena, const char* text, size_t length, bool* ok) {
  char* out = static_cast<char*>(arena.Allocate(length + 1, 1));
  if (out == nullptr) {
    *ok = false;
    return MeasureText{};
  }
  size_t n = 0;
  for (size_t i = 0; i < length; ++i) {
    out[n++] = text[i];
    if (text[i] == ',' && i + 1 < length && text[i + 1] == ',') ++i;
  }
  out[n] = '\0';
  return MeasureText{out, n};
}

Status Fail(MeasureError* error, MeasureErrorKind kind, ImageFormat target, MeasureText subject,
            MeasureText value, const char* status_message) {
  error->kind = kind;
  error->target = target;
  error->subject = subject;
  error->value = value;
  return Status::InvalidArgument(status_message);
}

// A driver without create options: qemu-img's "Format driver '%T' does
// not support image creation".
Status NoImageCreation(MeasureError* error) {
  error->kind = MeasureErrorKind::kNoImageCreation;
  return Status::NotSupported("format driver does not support image creation");
}

bool TextEquals(MeasureText text, const char* literal) {
  return CStringEquals(literal, text.data, text.length);
}

}  // namespace

const CreateOption* measure_internal::FileProtocolOptions(size_t* count) {
  *count = sizeof(kFileOptions) / sizeof(kFileOptions[0]);
  return kFileOptions;
}

Status CheckOptionList(const char* text, size_t length, MeasureError* error) {
  length = CStringLength(text, length);
  size_t trailing = 0;
  while (trailing < length && text[length - 1 - trailing] == ',') ++trailing;
  if (length == 0 || text[0] == ',' || trailing % 2 != 0) {
    error->kind = MeasureErrorKind::kInvalidOptionList;
    error->subject = MeasureText{text, length};
    return Status::InvalidArgument("invalid option list");
  }
  return Status::Ok();
}

Status ParseMeasureSize(const char* text, size_t length, const QemuVersion& compat, uint64_t* size,
                        bool* hex_suffix_warning, MeasureError* error) {
  length = CStringLength(text, length);
  uint64_t value = 0;
  bool warning = false;
  const ConvResult r =
      QemuStrtosz(text, length, MeasureDialectFor(compat).size_syntax, &value, &warning);
  if (warning) *hex_suffix_warning = true;
  error->version = compat;
  error->subject = MeasureText{text, length};
  if (r == ConvResult::kInvalid) {
    error->kind = MeasureErrorKind::kImageSizeSyntax;
    return Status::InvalidArgument("invalid image size");
  }
  if (r == ConvResult::kRange || value > static_cast<uint64_t>(INT64_MAX)) {
    error->kind = MeasureErrorKind::kImageSizeRange;
    return Status::OutOfRange("image size out of range");
  }
  *size = value;
  return Status::Ok();
}

Status LookUpMeasureTarget(const char* name, size_t length, const QemuVersion& compat,
                           ImageFormat* target, MeasureError* error) {
  length = CStringLength(name, length);
  error->subject = MeasureText{name, length};
  const FormatDriver* driver = FindFormatDriverByName(name, length);
  // Debian's builds lack some drivers in their older releases (5.2 has no
  // parallels); the name is then unknown.
  if (driver != nullptr && MeasureDialectFor(compat).HasDriverSince(driver->since_major)) {
    error->target = driver->format;
    if (driver->create_options.options == nullptr) return NoImageCreation(error);
    *target = driver->format;
    return Status::Ok();
  }
  error->kind = MeasureErrorKind::kUnknownFormat;
  return Status::InvalidArgument("unknown file format");
}

Status ParseMeasureOptions(ImageFormat target, const char* text, size_t length,
                           const QemuVersion& compat, Arena& arena, ParsedMeasureOptions* options,
                           MeasureError* error) {
  const MeasureDialect dialect = MeasureDialectFor(compat);
  *options = ParsedMeasureOptions();
  options->target = target;
  error->target = target;
  error->version = compat;
  const FormatDriver* driver = FindFormatDriver(target);
  if (driver == nullptr || driver->create_options.options == nullptr) {
    return NoImageCreation(error);
  }
  if (text == nullptr) length = 0;
  length = length == 0 ? 0 : CStringLength(text, length);
  size_t pos = 0;
  while (pos < length) {
    // The name runs to the first '=' or ','.
    size_t name_end = pos;
    while (name_end < length && text[name_end] != '=' && text[name_end] != ',') ++name_end;
    MeasureText name{text + pos, name_end - pos};
    MeasureText raw_value;
    bool flag = false;
    bool flag_value = true;
    size_t next;
    if (name_end < length && text[name_end] == '=') {
      // The value runs to the first single ',' (",," is an escaped comma).
      size_t v = name_end + 1;
      size_t value_end = v;
      while (value_end < length) {
        if (text[value_end] == ',') {
          if (value_end + 1 < length && text[value_end + 1] == ',') {
            value_end += 2;
            continue;
          }
          break;
        }
        ++value_end;
      }
      raw_value = MeasureText{text + v, value_end - v};
      next = value_end;
    } else {
      flag = true;
      if (name.length >= 2 && name.data[0] == 'n' && name.data[1] == 'o') {
        name.data += 2;
        name.length -= 2;
        flag_value = false;
      }
      next = name_end;
    }
    if (next < length && text[next] == ',') ++next;
    pos = next;

    if (CStringEquals("id", name.data, name.length)) continue;

    const OptionDesc* desc = FindDesc(target, name.data, name.length, dialect);
    if (desc == nullptr) {
      return Fail(error, MeasureErrorKind::kInvalidParameter, target, name, MeasureText{},
                  "invalid parameter");
    }
    bool copied = true;
    MeasureText value = flag ? MeasureText{flag_value ? "on" : "off", flag_value ? 2u : 3u}
                             : CopyUnescaped(arena, raw_value.data, raw_value.length, &copied);
    if (!copied) return Status::NoSpace("arena exhausted while parsing -o");
    MeasureOptionValue parsed;
    parsed.present = true;
    parsed.text = value;
    switch (desc->type) {
      case OptionType::kString:
        break;
      case OptionType::kBool:
        if (TextEquals(value, "on") || TextEquals(value, "yes") || TextEquals(value, "true") ||
            TextEquals(value, "y")) {
          parsed.boolean = true;
        } else if (TextEquals(value, "off") || TextEquals(value, "no") ||
                   TextEquals(value, "false") || TextEquals(value, "n")) {
          parsed.boolean = false;
        } else {
          return Fail(error, MeasureErrorKind::kExpectsBool, target, name, value,
                      "option expects 'on' or 'off'");
        }
        break;
      case OptionType::kNumber: {
        const ConvResult r = QemuStrtou64(value.data, value.length, 0, &parsed.number);
        if (r == ConvResult::kRange) {
          return Fail(error, MeasureErrorKind::kNumberTooLarge, target, name, value,
                      "option value too large");
        }
        if (r != ConvResult::kOk) {
          return Fail(error, MeasureErrorKind::kExpectsNumber, target, name, value,
                      "option expects a number");
        }
        break;
      }
      case OptionType::kSize: {
        bool warning = false;
        const ConvResult r =
            QemuStrtosz(value.data, value.length, dialect.size_syntax, &parsed.number, &warning);
        if (warning && options->hex_suffix_warning_count < 4) {
          options->hex_suffix_warnings[options->hex_suffix_warning_count++] = value;
        }
        if (r == ConvResult::kRange) {
          return Fail(error, MeasureErrorKind::kSizeOutOfRange, target, name, value,
                      "option size out of range");
        }
        if (r != ConvResult::kOk) {
          return Fail(error, MeasureErrorKind::kExpectsSize, target, name, value,
                      "option expects a size");
        }
        break;
      }
    }
    options->values[static_cast<size_t>(desc->key)] = parsed;
  }
  return Status::Ok();
}

}  // namespace instar
