// Measure: the engine behind `qemu-img measure`, and instar's predictions
// for the target formats qemu-img refuses to measure.
//
// qemu-img measure answers "how large a file would converting this image
// (or creating one of --size bytes) produce" for a target format and its
// -o options. This header reproduces it step by step, in qemu-img's order,
// so that every refusal happens at the same point and with the same words:
//
//   1. CheckOptionList() on each -o argument as it is read,
//      ParseMeasureSize() on --size, ParseSnapshotParam() on -l and
//      ReadMeasureObject() on --object (qemu-img's getopt loop); the
//      secrets are made (MakeMeasureObject(), FinishMeasureSecret()) as
//      the release does, at once or after the loop.
//   2. The source image, if any, is opened (not here), and -l's snapshot
//      loaded into it (LoadMeasureSnapshot()).
//   3. LookUpMeasureTarget(): the -O name; unknown formats and formats
//      that cannot create images are refused.
//   4. ParseMeasureOptions(): the -o text (all -o arguments joined with ',')
//      against the target's option table, as qemu_opts_do_parse() does it:
//      unknown keys, malformed booleans, numbers and sizes.
//   5. Measure(): the target's bdrv_measure: the options' meaning (cluster
//      size, compat, refcount width, preallocation ...) in qemu's order, the
//      image size limit, the scan of the source's allocation through
//      BlockStatusAbove(), and the size math.
//
// Every step takes the qemu-img version being reproduced (--compat); what
// it changes is the measure dialect's to say (MeasureDialectFor() in
// instar/engine/measure_dialect.h), no step compares versions itself. The
// version rather than the dialect is passed because Measure() also hands
// it to the image reader (BlockStatusAbove()), whose rules are the
// drivers'.
//
// A refusal is a non-ok Status plus a MeasureError, which
// FormatMeasureError() turns into exactly what qemu-img writes to stderr
// (qemu-img then exits 1). A MeasureError points into the caller's text and
// the arena given to ParseMeasureOptions(); both must outlive it.
//
// raw, qcow2 and luks are measured as qemu-img measures them
// (block/raw-format.c raw_measure, block/qcow2.c qcow2_measure,
// block/crypto.c block_crypto_measure; the same in 5.2, 7.2 and 10.0 but
// for the crypto names each release knows, LuksHeaderSize()).
// vmdk, vpc and vhdx are refused by qemu-img ("Block driver 'vmdk' does not
// support size measurement"); for them instar predicts the size of what
// `qemu-img create -f FMT` makes (--size mode) and an upper bound of what
// `qemu-img convert -O FMT` writes (source mode) unless
// MeasureRequest::refuse_like_qemu is set. Each target is reached through
// its format driver (instar/engine/format_driver.h): raw and qcow2 by the
// measure hook, vmdk, vpc and vhdx by the predict_size hook, whose
// formulas, with worked examples, are in engine/{vmdk,vpc,vhdx}/*_measure.cc.
#ifndef INSTAR_ENGINE_MEASURE_H_
#define INSTAR_ENGINE_MEASURE_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/arena.h"
#include "instar/engine/image.h"
#include "instar/engine/status.h"
#include "instar/engine/version.h"

namespace instar {

// A span of characters (not NUL-terminated).
struct MeasureText {
  const char* data = nullptr;
  size_t length = 0;
};

// What went wrong, one entry per message qemu-img can print here. The
// comment is the message (with "qemu-img: " in front of every line but the
// hints); %S is `subject`, %V is `value`, %T the target's format name.
enum class MeasureErrorKind : uint8_t {
  kNone = 0,
  kInvalidOptionList,        // Invalid option list: %S
  kImageSizeSyntax,          // (by version) Invalid image size specified ...
  kImageSizeRange,           // Invalid image size specified. Must be between 0 and 2^63-1.
  kUnknownFormat,            // Unknown file format '%S'
  kNoImageCreation,          // Format driver '%T' does not support image creation
  kInvalidParameter,         // Invalid parameter '%S' / Invalid options for file format '%T'
  kExpectsBool,              // Parameter '%S' expects 'on' or 'off' / Invalid options ...
  kExpectsNumber,            // Parameter '%S' expects a number / Invalid options ...
  kNumberTooLarge,           // Value '%V' is too large for parameter '%S' / Invalid options ...
  kExpectsSize,              // Parameter '%S' expects a non-negative number below 2^64 + hint
  kSizeOutOfRange,           // Value '%V' is out of range for parameter '%S' / Invalid ...
  kMeasureUnsupported,       // Block driver '%T' does not support size measurement
  kClusterSize,              // Cluster size must be a power of two between 512 and 2048k
  kExtendedL2ClusterSize,    // Extended L2 entries are only supported with cluster sizes ...
  kCompatLevel,              // Invalid compatibility level: '%V'
  kRefcountWidth,            // Refcount width must be a power of two and may not exceed 64 bits
  kRefcountNeedsV3,          // Different refcount widths than 16 bits require ...
  kInvalidEnumValue,         // invalid parameter value: %V
  kEnumNotAccepted,          // Parameter '%S' does not accept value '%V'
  kKeySecretRequired,        // Parameter '%Skey-secret' is required for cipher
  kNoSecret,                 // No secret with id '%V'
  kUnexpectedParameter,      // Parameter '%S' is unexpected
  kImageTooLarge,            // The image size is too large (try using a larger cluster size)
  kImageTooLargeForFormat,   // The image size is too large for file format '%T'
  kSourceLength,             // %D: <errno text> (qemu's wording per target in `detail`)
  kSourceLengthErrno,        // %D[: strerror(%N)]: the source's Length() failed with errno %N
                             // (no ": ..." when %N is 0)
  kBlockStatus,              // Unable to get block status: <errno text>
  kVmdkBackingFormat,        // backing_file must be a vmdk image
  kVmdkCompat6HwVersion,     // compat6 cannot be enabled with hwversion set
  kVmdkFlatBacking,          // Flat image can't have backing file
  kVmdkFlatZeroedGrain,      // Flat image can't enable zeroed grain
  kVmdkBackingNotVmdk,       // Invalid backing file format: %S. Must be vmdk
  kVmdkBackingOpen,          // Could not open '%S': %D (the backing file, as create opens it)
  kVhdxImageTooLarge,        // Image size too large; max of 64TB
  kVhdxLogSizeTooLarge,      // Log size must be smaller than 4 GB
  kVhdxLogSizeMultiple,      // Log size must be a multiple of 1 MB
  kVhdxBlockSizeMultiple,    // Block size must be a multiple of 1 MB
  kVhdxBlockSizePowerOfTwo,  // Block size must be a power of two
  // -l and the snapshot's loading (ParseSnapshotParam, LoadMeasureSnapshot).
  kSnapshotParamInvalid,    // Invalid parameter '%S' / Failed in parsing snapshot param '%V'
  kSnapshotParamId,         // Parameter 'id' expects an identifier + hint / Failed in parsing ...
  kSnapshotParamDuplicate,  // Duplicate ID '%S' for snapshot / Failed in parsing ...
  kSnapshotParamHelp,       // Failed in parsing snapshot param '%V' (the help is on stdout)
  kSnapshotLoad,            // Failed to load snapshot: %D
  kSnapshotUnsupported,     // Failed to load snapshot: Block format '%S' used by device '' does
                            // not support temporarily loading internal snapshots
  // --object (ReadMeasureObject, MakeMeasureObject, FinishMeasureSecret).
  kObjectParamInvalid,      // Invalid parameter '%S'
  kObjectParamNoValue,      // Expected '=' after parameter '%S'
  kObjectParamTooLong,      // Parameter '%S' is too long (%D: " fragment" or "")
  kObjectParamMixed,        // Parameters '%S.*' used inconsistently
  kObjectParamMissing,      // Parameter '%S' is missing
  kObjectParamDict,         // Parameters '%S.*' are unexpected (a dict for a string)
  kObjectEnumValue,         // (by version) Parameter '%S' does not accept value '%V'
  kObjectExpectsBool,       // Parameter '%S' expects 'on' or 'off'
  kObjectUnexpected,        // Parameter '%S' is unexpected
  kObjectIdSyntax,          // Parameter 'id' expects an identifier + hint
  kObjectDuplicateId,       // (by version) Duplicate ID '%V' for object / attempt to add ...
  kObjectInvalidType,       // invalid object type: %V
  kObjectPropertyNotFound,  // Property 'secret.%S' not found (5.2)
  kObjectPropertyReadOnly,  // Property 'secret.%S' is not writable (7.2)
  kSecretDataAndFile,       // 'file' and 'data' are mutually exclusive
  kSecretNoData,            // Either 'file' or 'data' must be provided
  kSecretFileUnreadable,    // Unable to read %S: %V (the reason as glib words it)
  kSecretBase64Nul,         // Data contains embedded NUL characters
  kSecretBase64Chars,       // Base64 data contains invalid characters
  kSecretKeyLength,         // Key should be 32 bytes in length
  kSecretNoIv,              // IV is required to decrypt secret
  kSecretIvLength,          // IV should be 16 bytes in length not %N
  // LUKS (block_crypto_create_opts_init, qcrypto_block_luks_create).
  kLuksExpectsInteger,  // Parameter '%S' expects integer
  kSecretNotUtf8,       // Data from secret %V is not valid UTF-8
  kLuksAlgorithm,       // Algorithm '%V' not supported
  kLuksCipherMode,      // Unsupported cipher mode %V
  kLuksEssiv,           // No %D cipher with key size %N available / Cipher %V not supported ...
  kLuksIterations,      // PBKDF iterations too large to scale: Numerical result out of range
  kNotSupported,        // instar's own refusal; the Status message says why
  // qemu-img create of qcow2 (qcow2_co_create(), bdrv_img_create()).
  kImageTooLargeTryClusterSize,  // The image size is too large for file format '%T' (try using a
                                 // larger cluster size)
  kQcow2ExtendedL2NeedsV3,       // Extended L2 entries are only supported with compatibility
                                 // level 1.1 and above (use version=v3 or greater)
  kQcow2LazyRefcountsNeedV3,     // Lazy refcounts only supported with ... (use version=v3 ...)
  kQcow2RefcountNeedsV3,         // Different refcount widths than 16 bits require ... (use
                                 // version=v3 or greater)
  kQcow2BackingPreallocation,    // Backing file and preallocation can only be used at the same
                                 // time if extended_l2 is on
  kQcow2BackingFormatNoFile,     // Backing format cannot be used without backing file
  kQcow2DataFileRawNoFile,       // data-file-raw requires data-file
  kQcow2DataFileRawBacking,      // Backing file and data-file-raw cannot be used at the same time
  kQcow2DataFileNeedsV3,         // External data files are only supported with ... (use
                                 // version=v3 or greater)
  kQcow2CompressionNeedsV3,      // Non-zlib compression type is only supported with ... (use
                                 // version=v3 or greater)
  kQcow2AssignBacking,           // Could not assign backing file '%S' with format '%V': %D
};

struct MeasureError {
  MeasureErrorKind kind = MeasureErrorKind::kNone;
  ImageFormat target = ImageFormat::kUnknown;
  MeasureText subject;                       // an option name, a format name, an option list
  MeasureText value;                         // a value as the user typed it (",," unescaped)
  StatusCode source_code = StatusCode::kOk;  // for kSourceLength/kBlockStatus
  QemuVersion version;  // for the wording (MeasureDialect::image_size_error, enum errors)
  uint64_t number = 0;  // %N
  // kNotSupported: instar's reason; kSourceLength: the message before the
  // errno text; kSnapshotLoad: the qcow2 reader's words; kVmdkBackingOpen:
  // why the file could not be opened. Always a string literal.
  const char* detail = "";
};

// Writes what qemu-img prints to stderr for `error` into out[0, capacity)
// (NUL-terminated when there is room) and returns the full length, like
// snprintf: call with capacity 0 to size a buffer.
size_t FormatMeasureError(const MeasureError& error, char* out, size_t capacity);

// qemu 6.x/7.x warn when a size has a hex value and a suffix ("0x10k"):
// "qemu-img: warning: Using a multiplier suffix on hex numbers is
// deprecated: %S". Formats that line like FormatMeasureError().
size_t FormatHexSuffixWarning(MeasureText value, char* out, size_t capacity);

// --- Step 1 ----------------------------------------------------------------

// One -o argument as qemu-img's is_valid_option_list() checks it: not
// empty, not starting with ',', no unescaped trailing ','.
Status CheckOptionList(const char* text, size_t length, MeasureError* error);

// --size, as qemu-img's cvtnum("image size", ..., is_size=true) reads it,
// with the given release's size syntax (MeasureDialect::size_syntax).
// `*hex_suffix_warning` is set when that release warns about the value
// (see FormatHexSuffixWarning).
Status ParseMeasureSize(const char* text, size_t length, const QemuVersion& compat, uint64_t* size,
                        bool* hex_suffix_warning, MeasureError* error);

// --- Step 1: -l -------------------------------------------------------------

// Which snapshot -l names, as qemu-img keeps it (snapshot_name or sn_opts).
enum class MeasureSnapshotKind : uint8_t {
  kNone,
  // -l TEXT: the snapshot whose id is TEXT, else the one whose name is
  // (bdrv_snapshot_load_tmp_by_id_or_name()).
  kIdOrName,
  // -l snapshot.id=I,snapshot.name=N (either may be left out): the first
  // snapshot that has what is given.
  kIdAndName,
};

struct MeasureSnapshot {
  MeasureSnapshotKind kind = MeasureSnapshotKind::kNone;
  MeasureText id;    // kIdAndName: snapshot.id, data null when not given
  MeasureText name;  // kIdOrName: the text; kIdAndName: snapshot.name, null when not given
};

// What the "snapshot.*" form of -l is parsed into: qemu's QemuOpts list
// internal_snapshot_opts, which keeps the "id=" of every -l parsed so far
// (a second -l with the same id is refused), and the short-form booleans
// ("snapshot.id" alone is snapshot.id=on) of the last parse, which 6.0 and
// later warn about (FormatShortFormWarning).
struct SnapshotParamList {
  static constexpr size_t kCapacity = 8;
  MeasureText ids[kCapacity];
  size_t id_count = 0;
  MeasureText flags[4];  // the names as typed, "no" included
  size_t flag_count = 0;
};

// -l's argument as qemu-img's getopt loop reads it: one that starts with
// "snapshot." is parsed with QemuOpts (keys snapshot.id and snapshot.name,
// the last of each wins, ",," is a comma, "id=" is the QemuOpts id, a bare
// "help" asks for SnapshotParamHelp()); any other is a snapshot id or name.
// `text` must outlive `out`; copies go into `arena`.
Status ParseSnapshotParam(const char* text, size_t length, const QemuVersion& compat, Arena& arena,
                          SnapshotParamList* list, MeasureSnapshot* out, MeasureError* error);

// What qemu-img prints on stdout for kSnapshotParamHelp.
const char* SnapshotParamHelp();

// 6.0+'s warning for a short-form boolean (`name` as typed, e.g.
// "snapshot.id" or "nofoo"): two lines, formatted like FormatMeasureError().
size_t FormatShortFormWarning(MeasureText name, char* out, size_t capacity);

// --- Step 1: --object --------------------------------------------------------

// The secrets qemu-img holds (its /objects container) as measure needs
// them: LUKS looks its key-secret up by id and takes it only if its data
// is valid UTF-8 (qcrypto_secret_lookup_as_utf8()); the size never depends
// on the data. So the data stays on the host; only this enters the sandbox.
struct MeasureSecret {
  MeasureText id;
  uint64_t length = 0;      // bytes of the data (after base64), for a keyid's check
  bool valid_utf8 = false;  // g_utf8_validate() of the data
};

struct MeasureSecrets {
  static constexpr size_t kCapacity = 16;
  MeasureSecret entries[kCapacity];
  size_t count = 0;

  // The secret with `id`, or null.
  const MeasureSecret* Find(MeasureText id) const;
};

// One --object as qemu-img reads it. Texts point into the argument or the
// arena; data null means the key was not given.
struct MeasureObject {
  MeasureText type;  // qom-type
  MeasureText id;
  bool help = false;  // "help" or "?": print MeasureObjectHelp() and exit 0
  // The secret's properties.
  MeasureText data;
  MeasureText file;
  MeasureText format;  // "raw" or "base64"
  MeasureText keyid;
  MeasureText iv;
  MeasureText loaded;  // 5.2 and 7.2 have the property
  // 5.2: the first key a secret does not have (QemuOpts takes any key; the
  // object refuses it when it is made).
  MeasureText unknown_key;
};

// --object's argument, read as the release's getopt loop reads it
// (MeasureDialect::object_syntax). 6.0 and later: keyval and the QAPI
// visit (qom-type, id, the secret's members, unexpected keys). 5.2:
// QemuOpts, the id checked and compared with those of `earlier` objects.
// A JSON argument ('{...}') is NotSupported.
Status ReadMeasureObject(const char* text, size_t length, const QemuVersion& compat, Arena& arena,
                         const MeasureObject* earlier, size_t earlier_count, MeasureObject* out,
                         MeasureError* error);

// What `--object help` or `--object TYPE,help` prints on stdout for this
// release; null when instar has no help for the type (only "secret" and
// the type list), which instar then refuses.
const char* MeasureObjectHelp(const MeasureObject& object, const QemuVersion& compat);

// Makes the object as qemu's user_creatable_add_type() does, up to where
// the secret's data is loaded: the type (a type other than "secret" that
// qemu-img can make is NotSupported), the id, the properties, an id taken
// by a secret of `made`, then 'file' or 'data'. On success the caller
// reads object.file when it is given (kSecretFileUnreadable when it
// cannot), and hands the bytes to FinishMeasureSecret().
Status MakeMeasureObject(const MeasureObject& object, const QemuVersion& compat,
                         const MeasureSecrets& made, MeasureError* error);

// The rest of qcrypto_secret_complete(): a keyid's secret (decrypting is
// NotSupported), base64 (decoded into `arena`, which needs about `length`
// bytes), then the verdict added to `made` under the object's id (which
// must outlive `made`).
Status FinishMeasureSecret(const MeasureObject& object, const uint8_t* raw, size_t length,
                           Arena& arena, MeasureSecrets* made, MeasureError* error);

// --- Step 2: the source, and -l's snapshot -----------------------------------

// bdrv_snapshot_load_tmp() (or _by_id_or_name) on the opened source: from
// now on `image` reads through the snapshot's L1 table. Only qcow2 can;
// any other format is kSnapshotUnsupported.
Status LoadMeasureSnapshot(Image& image, const MeasureSnapshot& snapshot, MeasureError* error);

// --- Step 3 ----------------------------------------------------------------

// The -O name. Accepts qemu's driver names of the formats the engine knows
// ("vhd" is not one: qemu-img calls it 'vpc'); refuses bochs, cloop and dmg
// as qemu does (no image creation), and any other name as unknown, as is a
// driver the release's build lacks (MeasureDialect::HasDriverSince).
Status LookUpMeasureTarget(const char* name, size_t length, const QemuVersion& compat,
                           ImageFormat* target, MeasureError* error);

// --- Step 4 ----------------------------------------------------------------

// Every key some target's option table has (qcow2, raw and the file
// protocol's, vmdk, vpc, vhdx, qed, vdi, qcow, parallels, luks).
enum class MeasureOptionKey : uint8_t {
  kSize,
  kEncryption,
  kEncryptFormat,
  kEncryptKeySecret,
  kEncryptCipherAlg,
  kEncryptCipherMode,
  kEncryptIvgenAlg,
  kEncryptIvgenHashAlg,
  kEncryptHashAlg,
  kEncryptIterTime,
  kClusterSize,
  kExtendedL2,
  kPreallocation,
  kCompressionType,
  kCompat,
  kBackingFile,
  kBackingFmt,
  kDataFile,
  kDataFileRaw,
  kLazyRefcounts,
  kRefcountBits,
  kNocow,
  kExtentSizeHint,
  kAdapterType,
  kCompat6,
  kHwVersion,
  kToolsVersion,
  kSubformat,
  kZeroedGrain,
  kForceSize,
  kLogSize,
  kBlockSize,
  kBlockStateZero,
  kTableSize,
  kStatic,
  kKeySecret,
  kCipherAlg,
  kCipherMode,
  kIvgenAlg,
  kIvgenHashAlg,
  kHashAlg,
  kIterTime,
  kDetachedHeader,
  kCount,
};
constexpr size_t kMeasureOptionKeyCount = static_cast<size_t>(MeasureOptionKey::kCount);

// The last value given for a key (qemu keeps every occurrence, validates
// each, and reads the last). `text` is the value with ",," unescaped,
// NUL-terminated in the arena; `number` holds a parsed number or size,
// `boolean` a parsed on/off.
struct MeasureOptionValue {
  bool present = false;
  MeasureText text;
  uint64_t number = 0;
  bool boolean = false;
};

struct ParsedMeasureOptions {
  ImageFormat target = ImageFormat::kUnknown;
  MeasureOptionValue values[kMeasureOptionKeyCount];
  // Sizes that drew 6.x/7.x's hex-suffix warning, in order (at most four
  // kept; qemu prints one line each as it parses them).
  MeasureText hex_suffix_warnings[4];
  uint8_t hex_suffix_warning_count = 0;

  const MeasureOptionValue& Get(MeasureOptionKey key) const {
    return values[static_cast<size_t>(key)];
  }
};

// Every hex-suffix warning ParseMeasureOptions() recorded in `options`, one
// FormatHexSuffixWarning() line each, in the order qemu prints them as it
// parses -o; returns the full length, like FormatMeasureError().
size_t FormatHexSuffixWarnings(const ParsedMeasureOptions& options, char* out, size_t capacity);

// Parses `text` (the -o arguments joined with ','; may be empty) for
// `target`, whose lookup succeeded. Unescaped values are copied into
// `arena`. The -o text is parsed as a C string: a NUL ends it. A key the
// release does not have yet (MeasureDialect::HasOptionSince) is unknown.
Status ParseMeasureOptions(ImageFormat target, const char* text, size_t length,
                           const QemuVersion& compat, Arena& arena, ParsedMeasureOptions* options,
                           MeasureError* error);

// --- Step 5 ----------------------------------------------------------------

enum class Preallocation : uint8_t { kOff, kMetadata, kFalloc, kFull };

// qcow2's options as qcow2_measure() reads them. Only what changes the
// size is kept; qemu's measure ignores lazy_refcounts, compression_type,
// data_file, data_file_raw, backing_fmt and the legacy encryption keys.
struct Qcow2TargetOptions {
  uint64_t cluster_size = 65536;
  uint32_t refcount_bits = 16;
  uint8_t version = 3;  // compat=0.10 is 2, compat=1.1 is 3
  bool extended_l2 = false;
  Preallocation preallocation = Preallocation::kOff;
  bool has_backing_file = false;
  bool luks = false;  // encrypt.format=luks
};
// Validates in qcow2_measure()'s order, up to encrypt.format: whether
// the image gets a LUKS header is `luks` (LuksHeaderSize() checks its
// options where qcow2_measure() does).
Status ResolveQcow2Options(const ParsedMeasureOptions& options, Qcow2TargetOptions* out,
                           MeasureError* error);

// block_crypto_create_opts_init() and the dry run of
// qcrypto_block_luks_create() that qcrypto_block_calculate_payload_offset()
// makes: the LUKS options in QAPI's order (`encrypt_prefix`: qcow2's
// "encrypt." keys, else luks's own), the key secret (looked up in
// `secrets`), the cipher, then the header's size in bytes: 4 KiB of
// header and key slot descriptors, then 8 key slots of the master key
// split into 4000 stripes, each rounded up to 4 KiB. The PBKDF's timing
// changes nothing here. A 24-byte key outside XTS makes qemu-img abort
// (its key material is not whole sectors): NotSupported.
Status LuksHeaderSize(const ParsedMeasureOptions& options, bool encrypt_prefix,
                      const MeasureSecrets* secrets, const QemuVersion& compat,
                      uint64_t* header_bytes, MeasureError* error);

enum class VmdkSubformat : uint8_t {
  kMonolithicSparse,
  kMonolithicFlat,
  kTwoGbMaxExtentSparse,
  kTwoGbMaxExtentFlat,
  kStreamOptimized,
};
enum class VmdkAdapterType : uint8_t { kIde, kBuslogic, kLsilogic, kLegacyEsx };

struct VmdkTargetOptions {
  VmdkSubformat subformat = VmdkSubformat::kMonolithicSparse;
  VmdkAdapterType adapter_type = VmdkAdapterType::kIde;
  MeasureText hw_version;     // "4" unless compat6 ("6") or hwversion=
  MeasureText tools_version;  // "2147483647" unless toolsversion=
  bool zeroed_grain = false;
  bool has_backing = false;  // backing_file=, as typed in backing_file
  MeasureText backing_file;
};
// Validates as vmdk_co_create_opts()/vmdk_co_do_create() do, up to the
// backing file, which the caller opens (qemu reads the parent's CID).
Status ResolveVmdkOptions(const ParsedMeasureOptions& options, VmdkTargetOptions* out,
                          MeasureError* error);

struct VpcTargetOptions {
  bool fixed = false;
  bool force_size = false;
};
Status ResolveVpcOptions(const ParsedMeasureOptions& options, VpcTargetOptions* out,
                         MeasureError* error);

struct VhdxTargetOptions {
  uint64_t block_size = 0;  // 0: chosen from the image size
  uint64_t log_size = 1 << 20;
  bool fixed = false;
  bool block_state_zero = true;
};
// Checks what does not depend on the image size; the size-dependent checks
// happen in Measure().
Status ResolveVhdxOptions(const ParsedMeasureOptions& options, VhdxTargetOptions* out,
                          MeasureError* error);

// The persistent dirty bitmaps of a source, summed up the way
// qcow2_get_persistent_dirty_bitmap_size() needs them: each bitmap's size
// depends only on its granularity (and the source length), the bitmap
// directory on the names' lengths. Bounded whatever the bitmap count.
struct SourceBitmaps {
  // How many bitmaps have a granularity of 2^index bytes.
  uint32_t by_granularity_bits[64] = {};
  // The bitmap directory they need: the sum of ROUND_UP(24 + name length, 8).
  uint64_t directory_bytes = 0;
  uint64_t count = 0;
  bool invalid = false;  // a granularity of 2^64 or more was added

  void Add(uint32_t name_length, uint32_t granularity_bits) {
    if (granularity_bits >= 64) {
      invalid = true;
      return;
    }
    ++by_granularity_bits[granularity_bits];
    directory_bytes += (24 + uint64_t{name_length} + 7) & ~uint64_t{7};
    ++count;
  }
};

// The generic block-status call the source scan iterates over; tests may
// substitute their own.
using BlockStatusFunction = Result<BlockStatus> (*)(Image& image, uint64_t offset, uint64_t bytes,
                                                    const QemuVersion& compat);

// The image to convert, for source-image mode.
struct MeasureSource {
  Image* image = nullptr;
  // qemu's bdrv_supports_persistent_dirty_bitmap(): a qcow2 v3 source.
  bool supports_persistent_bitmaps = false;
  // The bitmaps qemu loads when it opens the source.
  SourceBitmaps bitmaps;
  BlockStatusFunction block_status = &BlockStatusAbove;
};

// Fills `source` for `image`: the image, and for a qcow2 source its
// version and the bitmaps qemu would load (Qcow2Bitmap::loaded); other
// formats have no persistent bitmaps. Reads the qcow2 bitmap directory.
Status DescribeMeasureSource(Image& image, MeasureSource* source);

struct MeasureRequest {
  const ParsedMeasureOptions* options = nullptr;  // its target is measured
  bool has_size = false;                          // --size given
  uint64_t size = 0;
  // Refuse vmdk, vpc and vhdx targets as qemu-img does ("Block driver
  // 'vmdk' does not support size measurement") instead of predicting. The
  // guest sets it unless the user gave `instar measure --instar-targets`.
  bool refuse_like_qemu = false;
  // The secrets --object made, for LUKS's key-secret (luks targets and
  // qcow2's encrypt.format=luks); null: none.
  const MeasureSecrets* secrets = nullptr;
  // vmdk flat and split subformats only: the would-be target file name,
  // whose base name goes into the descriptor (and so into its size). When
  // empty, "image.vmdk" is assumed.
  MeasureText target_name;
};

struct MeasureResult {
  uint64_t required = 0;
  uint64_t fully_allocated = 0;
  bool has_bitmaps = false;  // print "bitmaps size" / "bitmaps"
  uint64_t bitmaps = 0;
};

// `source` is null in --size mode. qemu-img prints the "bitmaps" line (and
// JSON field) in every version of the matrix (5.2 to 11.1) exactly when
// has_bitmaps is set: qcow2 target with compat 1.1, and a qcow2 v3 source.
Result<MeasureResult> Measure(const MeasureRequest& request, MeasureSource* source,
                              const QemuVersion& compat, MeasureError* error);

// --- The calculators, for callers that already hold resolved options ----

// qcow2_calc_prealloc_size(): the file size of a fully allocated image of
// `virtual_size` bytes (header, L1, L2, refcount table and blocks, data).
// OutOfRange when it would not fit int64_t, where qemu's own arithmetic
// would overflow.
Result<uint64_t> Qcow2FullyAllocatedSize(uint64_t virtual_size, uint64_t cluster_size,
                                         uint32_t refcount_bits, bool extended_l2);

// qcow2_refcount_metadata_size(): bytes of refcount blocks and table needed
// to count `clusters` clusters, found as a fixed point; the number of
// refcount blocks goes to `*refblock_count` when it is given (the qcow2
// writer lays its refcount structures out with it).
Result<uint64_t> Qcow2RefcountMetadataSize(uint64_t clusters, uint64_t cluster_size,
                                           uint32_t refcount_bits, bool generous_increase,
                                           uint64_t* refblock_count = nullptr);

// qcow2_get_persistent_dirty_bitmap_size() for bitmaps over a source of
// `source_size` bytes copied into a qcow2 of `cluster_size` clusters.
Result<uint64_t> Qcow2BitmapsSize(const SourceBitmaps& bitmaps, uint64_t source_size,
                                  uint64_t cluster_size);

}  // namespace instar

#endif  // INSTAR_ENGINE_MEASURE_H_
