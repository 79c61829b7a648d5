// MeasureDialect: what `qemu-img measure` does differently per qemu-img
// version, gathered in one place. The engine's measure steps
// (instar/engine/measure.h) take the version the host read from --compat
// (and put in the operation config for the guest) and ask the dialect
// what it means instead of comparing versions themselves; the host's
// renderer is handed the same dialect.
//
// It runs in the guest too, so it stays freestanding (no std library): a
// plain struct and a constexpr function of the version in this header, as
// InfoOpenDialect is (info_dialect.h).
//
// Two rules are data rather than code: the first release that has a
// driver's create option (CreateOption::since_major/since_minor in each
// driver's option table) and the first release whose Debian build has a
// target driver (FormatDriver::since_major). The tables keep those numbers
// beside the options they describe; the comparison is the dialect's
// (HasOptionSince, HasDriverSince), so no other code compares them.
#ifndef INSTAR_ENGINE_MEASURE_DIALECT_H_
#define INSTAR_ENGINE_MEASURE_DIALECT_H_

#include <cstdint>

#include "instar/engine/version.h"

namespace instar {

// Which generation of qemu_strtosz() reads --size and every size-typed -o
// value ("1.5G", "0x10k", "-0" ...). The value computed and what is refused
// differ; see engine/measure/qemu_numbers.cc for each.
enum class MeasureSizeSyntax : uint8_t {
  // 5.2 (and the releases before 6.0): the whole string goes through
  // strtod(), so "1e3" and "0x1p10" are sizes; a fraction needs a suffix.
  kStrtod,
  // 6.0 to 7.2: strtoull() for the integer, a 64.64 fixed-point fraction,
  // hexadecimal only as an integer; a hexadecimal value with a suffix is
  // accepted with the "Using a multiplier suffix on hex numbers is
  // deprecated" warning (FormatHexSuffixWarning).
  kFixedPoint,
  // 8.0 and later: as 6.0, but a hexadecimal value with a suffix or a
  // fraction is refused, and a leading '-' is a range error.
  kStrictFixedPoint,
};

// What qemu-img says when --size is not a size (MeasureErrorKind::
// kImageSizeSyntax).
enum class ImageSizeErrorWording : uint8_t {
  // Before 8.0, two lines without the value:
  //   "Invalid image size specified. You may use k, M, G, T, P or E suffixes for"
  //   "kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes."
  kSuffixList,
  // 8.0 to 10.0: "Invalid image size specified: '%s'." (with the value).
  kQuotedWithPeriod,
  // 10.1 and later: "Invalid image size specified: '%s'" (no full stop).
  kQuoted,
};

// How `--object` is read, and when the object is made.
enum class ObjectSyntax : uint8_t {
  // 5.2 (and the releases before 6.0): QemuOpts, as -o is read: the first
  // element without '=' is the type, ",," is a comma, any key is taken.
  // The id is checked (well-formed, not taken by an earlier --object) as
  // the option is read; the objects are made after every option was read,
  // in command-line order.
  kQemuOpts,
  // 6.0 and later (qemu-img calls user_creatable_process_cmdline()):
  // keyval into QAPI's ObjectOptions, the object made as soon as its
  // --object is read, so its error comes before that of any later option.
  kKeyval,
};

// What the secret object's "loaded" property is.
enum class SecretLoadedProperty : uint8_t {
  // 5.2: a writable boolean; setting it loads the secret at once.
  kWritable,
  // 7.2: still in QAPI's SecretCommonProperties, but read-only ("Property
  // 'secret.loaded' is not writable").
  kReadOnly,
  // 10.0 and later: gone ("Parameter 'loaded' is unexpected").
  kAbsent,
};

// Which list `qemu-img measure --object help` prints: the user-creatable
// object types of each release's Debian build.
enum class ObjectTypeList : uint8_t {
  kV5_2,   // 5.2: no main-loop, no thread-context
  kV7_2,   // 7.2: main-loop and thread-context added
  kV10_0,  // 10.0 and later: tls-cipher-suites gone
};

// The release that added vmdk's "toolsversion" create option and the
// descriptor line it fills: qemu 6.1 (5.2 has neither, 7.2 both). vmdk's
// option table names this release for the option.
inline constexpr QemuVersion kVmdkToolsVersionSince{6, 1, 0};

struct MeasureDialect {
  // The release itself, for the rules that are data in the drivers' tables
  // (HasOptionSince, HasDriverSince). Nothing else reads it.
  QemuVersion release;
  // qemu_strtosz()'s generation: 5.2 kStrtod, 6.0 to 7.2 kFixedPoint
  // (the only one that warns about a hexadecimal size with a suffix), 8.0
  // and later kStrictFixedPoint.
  MeasureSizeSyntax size_syntax = MeasureSizeSyntax::kStrictFixedPoint;
  // The --size syntax error: 5.2 to 7.2 the two-line suffix list, 8.0 to
  // 10.0 the quoted value with a full stop, 10.1 and later without it.
  ImageSizeErrorWording image_size_error = ImageSizeErrorWording::kQuoted;
  // block_crypto_measure() refuses luks's "detached-header" option
  // ("Parameter 'detached-header' is unexpected") from 9.0, the release
  // that added the option; before it the option table does not know the
  // key (luks's table says since 9.0), so it never gets this far.
  bool luks_refuses_detached_header = true;
  // vmdk (instar's prediction): the descriptor carries a
  // ddb.toolsVersion line from 6.1 (kVmdkToolsVersionSince); 5.2 writes
  // none.
  bool vmdk_descriptor_has_tools_version = true;

  // --object (instar/engine/measure.h, ParseMeasureObject): 5.2 reads it
  // with QemuOpts and makes the objects after the options; 6.0 and later
  // with keyval, making each at once.
  ObjectSyntax object_syntax = ObjectSyntax::kKeyval;
  // The secret's "loaded" property: writable in 5.2, read-only in 7.2,
  // gone from 10.0.
  SecretLoadedProperty secret_loaded = SecretLoadedProperty::kAbsent;
  // The types `--object help` lists (and the ones qemu-img can make, which
  // instar refuses but for "secret"): 5.2, 7.2, 10.0 and later.
  ObjectTypeList object_types = ObjectTypeList::kV10_0;
  // How QAPI words an enum value it does not know (qom-type, a secret's
  // format, LUKS's cipher-alg ...): 5.2 "Invalid parameter 'VALUE'", 7.2
  // and later "Parameter 'NAME' does not accept value 'VALUE'".
  bool enum_error_names_parameter = true;
  // QCryptoCipherAlgorithm: 5.2 calls single DES "des-rfb", 7.2 and later
  // "des"; "sm4" is new in 10.0 (7.2 does not know the name).
  bool cipher_des_is_des_rfb = false;
  bool has_sm4_cipher = true;
  // LUKS's cipher name table has sm4 from 10.0.13 (a stable release; 10.0.2
  // knows the algorithm but says "Algorithm 'sm4' not supported" for a
  // LUKS header).
  bool luks_has_sm4 = true;
  // QCryptoHashAlgorithm: "sm3" is new in 10.0.
  bool has_sm3_hash = true;
  // `-l snapshot.id`: a key without "=value" is a boolean "on"; 6.0 and
  // later warn that the short form is deprecated (5.2 takes it silently),
  // and take "help" only as such a bare key (5.2 also "help=x", "nohelp").
  bool warns_short_form_booleans = true;

  // Whether this release has a create option its driver's table says is
  // new in since_major.since_minor (0.0: every release). A key the release
  // does not have yet is unknown to it ("Invalid parameter").
  constexpr bool HasOptionSince(uint16_t since_major, uint16_t since_minor) const {
    return release.AtLeast(since_major, since_minor);
  }
  // Whether this release's Debian build has a target driver its table
  // says is new in since_major (0: every release): 5.2 has no parallels,
  // so "-O parallels" is an unknown format there.
  constexpr bool HasDriverSince(uint16_t since_major) const {
    return release.AtLeast(since_major, 0);
  }
};

constexpr MeasureDialect MeasureDialectFor(const QemuVersion& v) {
  MeasureDialect d;
  d.release = v;
  d.size_syntax = !v.AtLeast(6, 0)   ? MeasureSizeSyntax::kStrtod
                  : !v.AtLeast(8, 0) ? MeasureSizeSyntax::kFixedPoint
                                     : MeasureSizeSyntax::kStrictFixedPoint;
  d.image_size_error = !v.AtLeast(8, 0)    ? ImageSizeErrorWording::kSuffixList
                       : !v.AtLeast(10, 1) ? ImageSizeErrorWording::kQuotedWithPeriod
                                           : ImageSizeErrorWording::kQuoted;
  d.luks_refuses_detached_header = v.AtLeast(9, 0);
  d.vmdk_descriptor_has_tools_version = v.AtLeast(
      kVmdkToolsVersionSince.major, kVmdkToolsVersionSince.minor, kVmdkToolsVersionSince.micro);
  // qemu 6.0 moved qemu-img's --object to user_creatable_process_cmdline().
  d.object_syntax = v.AtLeast(6, 0) ? ObjectSyntax::kKeyval : ObjectSyntax::kQemuOpts;
  d.secret_loaded = !v.AtLeast(7, 2)    ? SecretLoadedProperty::kWritable
                    : !v.AtLeast(10, 0) ? SecretLoadedProperty::kReadOnly
                                        : SecretLoadedProperty::kAbsent;
  d.object_types = !v.AtLeast(7, 2)    ? ObjectTypeList::kV5_2
                   : !v.AtLeast(10, 0) ? ObjectTypeList::kV7_2
                                       : ObjectTypeList::kV10_0;
  d.enum_error_names_parameter = v.AtLeast(7, 2);
  d.cipher_des_is_des_rfb = !v.AtLeast(7, 2);
  d.has_sm4_cipher = v.AtLeast(10, 0);
  d.luks_has_sm4 = v.AtLeast(10, 0, 13);
  d.has_sm3_hash = v.AtLeast(10, 0);
  // qemu 6.0 deprecated QemuOpts' short-form booleans.
  d.warns_short_form_booleans = v.AtLeast(6, 0);
  return d;
}

}  // namespace instar

#endif  // INSTAR_ENGINE_MEASURE_DIALECT_H_
