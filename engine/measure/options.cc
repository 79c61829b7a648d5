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
#include "instar/engine/measure.h"
#include "measure/measure_internal.h"
#include "measure/qemu_numbers.h"

namespace instar {

namespace {

using measure_internal::ConvResult;
using measure_internal::CStringLength;
using measure_internal::QemuStrtosz;
using measure_internal::QemuStrtou64;

enum class OptionType : uint8_t { kString, kBool, kNumber, kSize };

struct OptionDesc {
  const char* name;
  MeasureOptionKey key;
  OptionType type;
};

using K = MeasureOptionKey;
using T = OptionType;

// block/file-posix.c raw_create_opts, appended to every driver's list.
constexpr OptionDesc kFileOptions[] = {
    {"size", K::kSize, T::kSize},
    {"nocow", K::kNocow, T::kBool},
    {"preallocation", K::kPreallocation, T::kString},
    {"extent_size_hint", K::kExtentSizeHint, T::kSize},
};

// block/qcow2.c qcow2_create_opts (the same in 5.2, 7.2 and 10.0).
constexpr OptionDesc kQcow2Options[] = {
    {"encryption", K::kEncryption, T::kBool},
    {"encrypt.format", K::kEncryptFormat, T::kString},
    {"encrypt.key-secret", K::kEncryptKeySecret, T::kString},
    {"encrypt.cipher-alg", K::kEncryptCipherAlg, T::kString},
    {"encrypt.cipher-mode", K::kEncryptCipherMode, T::kString},
    {"encrypt.ivgen-alg", K::kEncryptIvgenAlg, T::kString},
    {"encrypt.ivgen-hash-alg", K::kEncryptIvgenHashAlg, T::kString},
    {"encrypt.hash-alg", K::kEncryptHashAlg, T::kString},
    {"encrypt.iter-time", K::kEncryptIterTime, T::kNumber},
    {"cluster_size", K::kClusterSize, T::kSize},
    {"extended_l2", K::kExtendedL2, T::kBool},
    {"preallocation", K::kPreallocation, T::kString},
    {"compression_type", K::kCompressionType, T::kString},
    {"size", K::kSize, T::kSize},
    {"compat", K::kCompat, T::kString},
    {"backing_file", K::kBackingFile, T::kString},
    {"backing_fmt", K::kBackingFmt, T::kString},
    {"data_file", K::kDataFile, T::kString},
    {"data_file_raw", K::kDataFileRaw, T::kBool},
    {"lazy_refcounts", K::kLazyRefcounts, T::kBool},
    {"refcount_bits", K::kRefcountBits, T::kNumber},
};

// block/raw-format.c raw_create_opts.
constexpr OptionDesc kRawOptions[] = {
    {"size", K::kSize, T::kSize},
};

// block/vmdk.c vmdk_create_opts; "toolsversion" is absent from 5.2.
constexpr OptionDesc kVmdkOptions[] = {
    {"size", K::kSize, T::kSize},
    {"adapter_type", K::kAdapterType, T::kString},
    {"backing_file", K::kBackingFile, T::kString},
    {"backing_fmt", K::kBackingFmt, T::kString},
    {"compat6", K::kCompat6, T::kBool},
    {"hwversion", K::kHwVersion, T::kString},
    {"toolsversion", K::kToolsVersion, T::kString},
    {"subformat", K::kSubformat, T::kString},
    {"zeroed_grain", K::kZeroedGrain, T::kBool},
};

// block/vpc.c vpc_create_opts.
constexpr OptionDesc kVpcOptions[] = {
    {"size", K::kSize, T::kSize},
    {"subformat", K::kSubformat, T::kString},
    {"force_size", K::kForceSize, T::kBool},
};

// block/vhdx.c vhdx_create_opts.
constexpr OptionDesc kVhdxOptions[] = {
    {"size", K::kSize, T::kSize},
    {"log_size", K::kLogSize, T::kSize},
    {"block_size", K::kBlockSize, T::kSize},
    {"subformat", K::kSubformat, T::kString},
    {"block_state_zero", K::kBlockStateZero, T::kBool},
};

// block/qed.c qed_create_opts.
constexpr OptionDesc kQedOptions[] = {
    {"size", K::kSize, T::kSize},
    {"backing_file", K::kBackingFile, T::kString},
    {"backing_fmt", K::kBackingFmt, T::kString},
    {"cluster_size", K::kClusterSize, T::kSize},
    {"table_size", K::kTableSize, T::kSize},
};

// block/vdi.c vdi_create_opts as Debian builds it (CONFIG_VDI_STATIC_IMAGE
// but not CONFIG_VDI_BLOCK_SIZE: "cluster_size" is unknown).
constexpr OptionDesc kVdiOptions[] = {
    {"size", K::kSize, T::kSize},
    {"static", K::kStatic, T::kBool},
};

// block/qcow.c qcow_create_opts.
constexpr OptionDesc kQcowOptions[] = {
    {"size", K::kSize, T::kSize},
    {"backing_file", K::kBackingFile, T::kString},
    {"backing_fmt", K::kBackingFmt, T::kString},
    {"encryption", K::kEncryption, T::kBool},
    {"encrypt.format", K::kEncryptFormat, T::kString},
    {"encrypt.key-secret", K::kEncryptKeySecret, T::kString},
};

// block/parallels.c parallels_create_opts.
constexpr OptionDesc kParallelsOptions[] = {
    {"size", K::kSize, T::kSize},
    {"cluster_size", K::kClusterSize, T::kSize},
};

// block/crypto.c block_crypto_create_opts_luks; "detached-header" is new
// in 9.0.
constexpr OptionDesc kLuksOptions[] = {
    {"size", K::kSize, T::kSize},
    {"key-secret", K::kKeySecret, T::kString},
    {"cipher-alg", K::kCipherAlg, T::kString},
    {"cipher-mode", K::kCipherMode, T::kString},
    {"ivgen-alg", K::kIvgenAlg, T::kString},
    {"ivgen-hash-alg", K::kIvgenHashAlg, T::kString},
    {"hash-alg", K::kHashAlg, T::kString},
    {"iter-time", K::kIterTime, T::kNumber},
    {"detached-header", K::kDetachedHeader, T::kBool},
};

struct OptionTable {
  const OptionDesc* descs;
  size_t count;
};

template <size_t N>
constexpr OptionTable TableOf(const OptionDesc (&descs)[N]) {
  return OptionTable{descs, N};
}

OptionTable DriverTable(ImageFormat target) {
  switch (target) {
    case ImageFormat::kQcow2:
      return TableOf(kQcow2Options);
    case ImageFormat::kRaw:
      return TableOf(kRawOptions);
    case ImageFormat::kVmdk:
      return TableOf(kVmdkOptions);
    case ImageFormat::kVpc:
      return TableOf(kVpcOptions);
    case ImageFormat::kVhdx:
      return TableOf(kVhdxOptions);
    case ImageFormat::kQed:
      return TableOf(kQedOptions);
    case ImageFormat::kVdi:
      return TableOf(kVdiOptions);
    case ImageFormat::kQcow:
      return TableOf(kQcowOptions);
    case ImageFormat::kParallels:
      return TableOf(kParallelsOptions);
    case ImageFormat::kLuks:
      return TableOf(kLuksOptions);
    default:
      return OptionTable{nullptr, 0};
  }
}

bool NameEquals(const char* name, const char* text, size_t length) {
  size_t i = 0;
  for (; i < length; ++i) {
    if (name[i] == '\0' || name[i] != text[i]) return false;
  }
  return name[i] == '\0';
}

// Keys a release does not have yet.
bool KeyExistsIn(ImageFormat target, MeasureOptionKey key, const QemuVersion& compat) {
  if (target == ImageFormat::kVmdk && key == K::kToolsVersion) {
    return measure_internal::HasVmdkToolsVersion(compat);
  }
  if (target == ImageFormat::kLuks && key == K::kDetachedHeader) return compat.AtLeast(9, 0);
  return true;
}

const OptionDesc* FindDesc(ImageFormat target, const char* name, size_t length,
                           const QemuVersion& compat) {
  const OptionTable driver = DriverTable(target);
  for (size_t i = 0; i < driver.count; ++i) {
    if (NameEquals(driver.descs[i].name, name, length) &&
        KeyExistsIn(target, driver.descs[i].key, compat)) {
      return &driver.descs[i];
    }
  }
  for (const OptionDesc& desc : kFileOptions) {
    if (NameEquals(desc.name, name, length)) return &desc;
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

bool TextEquals(MeasureText text, const char* literal) {
  return NameEquals(literal, text.data, text.length);
}

}  // namespace

namespace measure_internal {

bool HasVmdkToolsVersion(const QemuVersion& compat) {
  // Added between 5.2 (absent) and 7.2 (present): qemu 6.1.
  return compat.AtLeast(6, 1);
}

}  // namespace measure_internal

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
  const ConvResult r = QemuStrtosz(text, length, compat, &value, &warning);
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
  struct Entry {
    const char* name;
    ImageFormat format;
  };
  static constexpr Entry kFormats[] = {
      {"raw", ImageFormat::kRaw},     {"qcow2", ImageFormat::kQcow2},
      {"vmdk", ImageFormat::kVmdk},   {"vpc", ImageFormat::kVpc},
      {"vhdx", ImageFormat::kVhdx},   {"qed", ImageFormat::kQed},
      {"vdi", ImageFormat::kVdi},     {"qcow", ImageFormat::kQcow},
      {"luks", ImageFormat::kLuks},   {"parallels", ImageFormat::kParallels},
      {"bochs", ImageFormat::kBochs}, {"cloop", ImageFormat::kCloop},
      {"dmg", ImageFormat::kDmg},
  };
  error->subject = MeasureText{name, length};
  for (const Entry& entry : kFormats) {
    if (!NameEquals(entry.name, name, length)) continue;
    // Debian's 5.2 build has no parallels driver; 7.2's has.
    if (entry.format == ImageFormat::kParallels && !compat.AtLeast(6, 0)) break;
    error->target = entry.format;
    if (entry.format == ImageFormat::kBochs || entry.format == ImageFormat::kCloop ||
        entry.format == ImageFormat::kDmg) {
      error->kind = MeasureErrorKind::kNoImageCreation;
      return Status::NotSupported("format driver does not support image creation");
    }
    *target = entry.format;
    return Status::Ok();
  }
  error->kind = MeasureErrorKind::kUnknownFormat;
  return Status::InvalidArgument("unknown file format");
}

Status ParseMeasureOptions(ImageFormat target, const char* text, size_t length,
                           const QemuVersion& compat, Arena& arena, ParsedMeasureOptions* options,
                           MeasureError* error) {
  *options = ParsedMeasureOptions();
  options->target = target;
  error->target = target;
  error->version = compat;
  if (DriverTable(target).count == 0) {
    error->kind = MeasureErrorKind::kNoImageCreation;
    return Status::NotSupported("format driver does not support image creation");
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

    if (NameEquals("id", name.data, name.length)) continue;

    const OptionDesc* desc = FindDesc(target, name.data, name.length, compat);
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
            QemuStrtosz(value.data, value.length, compat, &parsed.number, &warning);
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
