// The drivers of the formats the engine recognises but does not read: a
// probe, so that such an image is refused by name ("Unsupported image
// format") instead of being misread as raw, and the create options
// `qemu-img measure -O` parses. None has an open hook; only luks measures.
#include "core/formats.h"
#include "instar/engine/bytes.h"
#include "measure/measure_internal.h"

namespace instar {

namespace {

using K = MeasureOptionKey;
using T = CreateOptionType;

// A fixed-width C string field equal to `text` (strcmp semantics: the field
// holds `text` followed by a NUL).
bool FieldIsString(const uint8_t* field, const char* text, size_t length) {
  return BytesEqual(field, text, length) && field[length] == 0;
}

int ProbeQcow(const uint8_t* b, size_t, const char*, size_t) {
  return LoadBE32(b) == 0x514649fb && LoadBE32(b + 4) == 1 ? 100 : 0;
}

int ProbeQed(const uint8_t* b, size_t, const char*, size_t) {
  return LoadLE32(b) == 0x00444551 ? 100 : 0;
}

int ProbeVdi(const uint8_t* b, size_t, const char*, size_t) {
  return LoadLE32(b + 64) == 0xbeda107f ? 100 : 0;
}

int ProbeLuks(const uint8_t* b, size_t, const char*, size_t) {
  static constexpr uint8_t kMagic[6] = {'L', 'U', 'K', 'S', 0xba, 0xbe};
  return BytesEqual(b, kMagic, 6) && LoadBE16(b + 6) == 1 ? 100 : 0;
}

int ProbeBochs(const uint8_t* b, size_t, const char*, size_t) {
  const uint32_t version = LoadLE32(b + 64);
  return FieldIsString(b, "Bochs Virtual HD Image", 22) && FieldIsString(b + 32, "Redolog", 7) &&
                 FieldIsString(b + 48, "Growing", 7) &&
                 (version == 0x00020000 || version == 0x00010000)
             ? 100
             : 0;
}

int ProbeParallels(const uint8_t* b, size_t, const char*, size_t) {
  return (BytesEqual(b, "WithoutFreeSpace", 16) || BytesEqual(b, "WithouFreSpacExt", 16)) &&
                 LoadLE32(b + 16) == 2
             ? 100
             : 0;
}

// dmg_probe looks at the file name only.
int ProbeDmg(const uint8_t*, size_t, const char* filename, size_t length) {
  if (filename == nullptr) return 0;
  // qemu compares the C string, so the name ends at its first NUL.
  for (size_t i = 0; i < length; ++i) {
    if (filename[i] == '\0') {
      length = i;
      break;
    }
  }
  return length > 4 && BytesEqual(filename + length - 4, ".dmg", 4) ? 2 : 0;
}

int ProbeCloop(const uint8_t* b, size_t, const char*, size_t) {
  static constexpr char kMagic[] =
      "#!/bin/sh\n"
      "#V2.0 Format\n"
      "modprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n";
  return BytesEqual(b, kMagic, sizeof(kMagic) - 1) ? 2 : 0;
}

// block/qed.c qed_create_opts.
constexpr CreateOption kQedOptions[] = {
    {"size", K::kSize, T::kSize},
    {"backing_file", K::kBackingFile, T::kString},
    {"backing_fmt", K::kBackingFmt, T::kString},
    {"cluster_size", K::kClusterSize, T::kSize},
    {"table_size", K::kTableSize, T::kSize},
};

// block/vdi.c vdi_create_opts as Debian builds it (CONFIG_VDI_STATIC_IMAGE
// but not CONFIG_VDI_BLOCK_SIZE: "cluster_size" is unknown).
constexpr CreateOption kVdiOptions[] = {
    {"size", K::kSize, T::kSize},
    {"static", K::kStatic, T::kBool},
};

// block/qcow.c qcow_create_opts.
constexpr CreateOption kQcowOptions[] = {
    {"size", K::kSize, T::kSize},
    {"backing_file", K::kBackingFile, T::kString},
    {"backing_fmt", K::kBackingFmt, T::kString},
    {"encryption", K::kEncryption, T::kBool},
    {"encrypt.format", K::kEncryptFormat, T::kString},
    {"encrypt.key-secret", K::kEncryptKeySecret, T::kString},
};

// block/parallels.c parallels_create_opts.
constexpr CreateOption kParallelsOptions[] = {
    {"size", K::kSize, T::kSize},
    {"cluster_size", K::kClusterSize, T::kSize},
};

// block/crypto.c block_crypto_create_opts_luks; "detached-header" is new
// in 9.0.
constexpr CreateOption kLuksOptions[] = {
    {"size", K::kSize, T::kSize},
    {"key-secret", K::kKeySecret, T::kString},
    {"cipher-alg", K::kCipherAlg, T::kString},
    {"cipher-mode", K::kCipherMode, T::kString},
    {"ivgen-alg", K::kIvgenAlg, T::kString},
    {"ivgen-hash-alg", K::kIvgenHashAlg, T::kString},
    {"hash-alg", K::kHashAlg, T::kString},
    {"iter-time", K::kIterTime, T::kNumber},
    {"detached-header", K::kDetachedHeader, T::kBool, 9, 0},
};

}  // namespace

const FormatDriver kQcowDriver = {
    .format = ImageFormat::kQcow,
    .name = "qcow",
    .probe = ProbeQcow,
    .supports_backing = true,
    .create_options = CreateOptions(kQcowOptions),
};

const FormatDriver kQedDriver = {
    .format = ImageFormat::kQed,
    .name = "qed",
    .probe = ProbeQed,
    .supports_backing = true,
    .create_options = CreateOptions(kQedOptions),
};

const FormatDriver kVdiDriver = {
    .format = ImageFormat::kVdi,
    .name = "vdi",
    .probe = ProbeVdi,
    .create_options = CreateOptions(kVdiOptions),
};

const FormatDriver kLuksDriver = {
    .format = ImageFormat::kLuks,
    .name = "luks",
    .probe = ProbeLuks,
    .create_options = CreateOptions(kLuksOptions),
    .measure = measure_internal::MeasureLuks,
};

const FormatDriver kBochsDriver = {
    .format = ImageFormat::kBochs,
    .name = "bochs",
    .probe = ProbeBochs,
};

// Debian's 5.2 build has no parallels driver; 7.2's has.
const FormatDriver kParallelsDriver = {
    .format = ImageFormat::kParallels,
    .name = "parallels",
    .since_major = 6,
    .probe = ProbeParallels,
    .create_options = CreateOptions(kParallelsOptions),
};

const FormatDriver kDmgDriver = {
    .format = ImageFormat::kDmg,
    .name = "dmg",
    .probe = ProbeDmg,
};

const FormatDriver kCloopDriver = {
    .format = ImageFormat::kCloop,
    .name = "cloop",
    .probe = ProbeCloop,
};

}  // namespace instar
