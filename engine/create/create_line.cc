#include "instar/engine/create_line.h"

#include "instar/engine/format_driver.h"
#include "instar/engine/measure_dialect.h"
#include "instar/engine/text_builder.h"
#include "measure/measure_internal.h"

namespace instar {

namespace {

using K = MeasureOptionKey;

// An option's def_value_str, for the releases from `since` on.
struct CreateLineDefault {
  ImageFormat format;
  MeasureOptionKey key;
  const char* text;
  uint16_t since_major = 0;
  uint16_t since_minor = 0;
};

// What each driver's create_opts give a default text (the same in every
// release of the matrix: 5.2.0 to 11.1.3, as their Formatting lines show).
constexpr CreateLineDefault kCreateLineDefaults[] = {
    {ImageFormat::kQcow2, K::kClusterSize, "65536"},
    {ImageFormat::kQcow2, K::kExtendedL2, "off"},
    {ImageFormat::kQcow2, K::kCompressionType, "zlib"},
    {ImageFormat::kQcow2, K::kLazyRefcounts, "off"},
    {ImageFormat::kQcow2, K::kRefcountBits, "16"},
    {ImageFormat::kVmdk, K::kCompat6, "off"},
    {ImageFormat::kVmdk, K::kHwVersion, "undefined"},
    {ImageFormat::kVhdx, K::kLogSize, "1048576"},
    {ImageFormat::kVhdx, K::kBlockSize, "0"},
};

const char* DefaultText(ImageFormat format, MeasureOptionKey key, const MeasureDialect& dialect) {
  for (const CreateLineDefault& d : kCreateLineDefaults) {
    if (d.format == format && d.key == key &&
        dialect.HasOptionSince(d.since_major, d.since_minor)) {
      return d.text;
    }
  }
  return nullptr;
}

bool SameName(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

// One option of the merged list, unless it has no value to print.
void AppendOption(TextBuilder& line, const CreateOption& desc, const ParsedMeasureOptions& options,
                  const MeasureDialect& dialect, bool* first) {
  const MeasureOptionValue& value = options.Get(desc.key);
  const char* fallback = nullptr;
  if (!value.present) {
    fallback = DefaultText(options.target, desc.key, dialect);
    if (fallback == nullptr) return;
  }
  if (!*first) line.Append(' ');
  *first = false;
  line.Append(desc.name).Append('=');
  if (!value.present) {
    line.Append(fallback);
  } else if (desc.type == CreateOptionType::kNumber || desc.type == CreateOptionType::kSize) {
    line.AppendDecimal(value.number);
  } else if (desc.type == CreateOptionType::kString) {
    // qemu's escaped_print(): a comma is doubled.
    for (size_t i = 0; i < value.text.length; ++i) {
      if (value.text.data[i] == ',') line.Append(',');
      line.Append(value.text.data[i]);
    }
  } else {
    line.Append(value.text.data, value.text.length);
  }
}

}  // namespace

size_t FormatCreateOptions(const ParsedMeasureOptions& options, const QemuVersion& compat,
                           char* out, size_t capacity) {
  TextBuilder line(out, capacity);
  const MeasureDialect dialect = MeasureDialectFor(compat);
  const FormatDriver* driver = FindFormatDriver(options.target);
  const CreateOption* driver_options = driver != nullptr ? driver->create_options.options : nullptr;
  const size_t driver_count = driver_options != nullptr ? driver->create_options.count : 0;
  bool first = true;
  for (size_t i = 0; i < driver_count; ++i) {
    const CreateOption& desc = driver_options[i];
    if (!dialect.HasOptionSince(desc.since_major, desc.since_minor)) continue;
    AppendOption(line, desc, options, dialect, &first);
  }
  size_t file_count = 0;
  const CreateOption* file_options = measure_internal::FileProtocolOptions(&file_count);
  for (size_t i = 0; i < file_count; ++i) {
    // qemu_opts_append() skips a name the driver's list already has.
    bool duplicate = false;
    for (size_t j = 0; j < driver_count && !duplicate; ++j) {
      duplicate = SameName(driver_options[j].name, file_options[i].name);
    }
    if (!duplicate) AppendOption(line, file_options[i], options, dialect, &first);
  }
  return line.needed();
}

}  // namespace instar
