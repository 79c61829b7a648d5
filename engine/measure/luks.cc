// The LUKS header qemu-img measure adds: for a luks target
// (block/crypto.c block_crypto_measure) and for qcow2's encrypt.format=luks
// (qcow2_measure). Both turn the LUKS options into QAPI's
// QCryptoBlockCreateOptions (block_crypto_create_opts_init) and then make a
// LUKS header in memory to learn its length
// (qcrypto_block_calculate_payload_offset, which runs
// crypto/block-luks.c qcrypto_block_luks_create in full). This file checks
// what that dry run checks, in its order, and computes the length it finds.
//
// The length depends on the master key's length only: a 4 KiB header with
// the key slot descriptors, then 8 key slots, each holding the master key
// split into 4000 stripes, in whole 512-byte sectors rounded up to 4 KiB.
// The secret, the salt, the random master key and the PBKDF iteration
// count (which qemu times on the machine) change nothing in it.
#include "instar/engine/bytes.h"
#include "instar/engine/measure.h"
#include "instar/engine/measure_dialect.h"
#include "instar/engine/text_builder.h"
#include "measure/measure_internal.h"
#include "measure/qemu_numbers.h"

namespace instar {

namespace {

using K = MeasureOptionKey;
using measure_internal::MeasureFailure;
using measure_internal::NotSupportedFailure;

constexpr uint64_t kLuksSectorSize = 512;
constexpr uint64_t kLuksKeySlotOffset = 4096;  // QCRYPTO_BLOCK_LUKS_KEY_SLOT_OFFSET
constexpr uint64_t kLuksKeySlots = 8;
constexpr uint64_t kLuksStripes = 4000;

// LUKS's cipher families (qcrypto_block_luks_cipher_name_map).
enum class LuksFamily : uint8_t { kNone, kAes, kCast5, kSerpent, kTwofish, kSm4 };

// QCryptoCipherAlgorithm, in QAPI's order.
struct CipherInfo {
  const char* name;
  uint8_t key_bytes;  // qcrypto_cipher_get_key_len()
  LuksFamily family;
};
constexpr CipherInfo kCiphers[] = {
    {"aes-128", 16, LuksFamily::kAes},
    {"aes-192", 24, LuksFamily::kAes},
    {"aes-256", 32, LuksFamily::kAes},
    {"des", 8, LuksFamily::kNone},
    {"3des", 24, LuksFamily::kNone},
    {"cast5-128", 16, LuksFamily::kCast5},
    {"serpent-128", 16, LuksFamily::kSerpent},
    {"serpent-192", 24, LuksFamily::kSerpent},
    {"serpent-256", 32, LuksFamily::kSerpent},
    {"twofish-128", 16, LuksFamily::kTwofish},
    {"twofish-192", 24, LuksFamily::kTwofish},
    {"twofish-256", 32, LuksFamily::kTwofish},
    {"sm4", 16, LuksFamily::kSm4},
};
constexpr size_t kDesIndex = 3;
constexpr size_t kSm4Index = 12;
constexpr size_t kAes256Index = 2;

enum CipherMode : uint8_t { kEcb, kCbc, kXts, kCtr };
constexpr const char* kCipherModes[] = {"ecb", "cbc", "xts", "ctr"};

enum IvGen : uint8_t { kPlain, kPlain64, kEssiv };
constexpr const char* kIvGens[] = {"plain", "plain64", "essiv"};

// QCryptoHashAlgorithm, in QAPI's order, with each digest's length.
struct HashInfo {
  const char* name;
  uint8_t digest_bytes;
};
constexpr HashInfo kHashes[] = {
    {"md5", 16},    {"sha1", 20},   {"sha224", 28},    {"sha256", 32},
    {"sha384", 48}, {"sha512", 64}, {"ripemd160", 20}, {"sm3", 32},
};
constexpr size_t kSm3Index = 7;
constexpr size_t kSha256Index = 3;

bool TextIs(MeasureText text, const char* literal) {
  return CStringEquals(literal, text.data, text.length);
}

// The cipher name a release knows: 5.2 spells single DES "des-rfb", sm4
// is new in 10.0.
const char* CipherName(size_t index, const MeasureDialect& dialect) {
  if (index == kDesIndex && dialect.cipher_des_is_des_rfb) return "des-rfb";
  return kCiphers[index].name;
}

bool CipherKnown(size_t index, const MeasureDialect& dialect) {
  return index != kSm4Index || dialect.has_sm4_cipher;
}

bool HashKnown(size_t index, const MeasureDialect& dialect) {
  return index != kSm3Index || dialect.has_sm3_hash;
}

// A QAPI enum member the value does not name: the release's words.
Status EnumFailure(MeasureError* error, const char* name, MeasureText value) {
  size_t n = 0;
  while (name[n] != '\0') ++n;
  error->subject = MeasureText{name, n};
  error->value = value;
  return MeasureFailure(error, MeasureErrorKind::kObjectEnumValue, "invalid LUKS option value");
}

// The LUKS options as block_crypto_create_opts_init() visits them.
struct LuksOptions {
  MeasureText key_secret;
  bool has_key_secret = false;
  size_t cipher = kAes256Index;
  CipherMode mode = kXts;
  IvGen ivgen = kPlain64;
  bool has_ivgen_hash = false;
  size_t ivgen_hash = kSha256Index;
  size_t hash = kSha256Index;
  int64_t iter_time = 2000;
};

struct LuksKeys {
  K key_secret, cipher_alg, cipher_mode, ivgen_alg, ivgen_hash_alg, hash_alg, iter_time;
};
constexpr LuksKeys kLuksKeys = {K::kKeySecret,    K::kCipherAlg, K::kCipherMode, K::kIvgenAlg,
                                K::kIvgenHashAlg, K::kHashAlg,   K::kIterTime};
constexpr LuksKeys kQcow2Keys = {
    K::kEncryptKeySecret,    K::kEncryptCipherAlg, K::kEncryptCipherMode, K::kEncryptIvgenAlg,
    K::kEncryptIvgenHashAlg, K::kEncryptHashAlg,   K::kEncryptIterTime};

// qemu_strtoi64(text, NULL, 0): the whole string, strtoll()'s range.
bool ParseInt64(MeasureText text, int64_t* out) {
  size_t i = 0;
  while (i < text.length &&
         (text.data[i] == ' ' || (text.data[i] >= '\t' && text.data[i] <= '\r'))) {
    ++i;
  }
  bool negative = false;
  if (i < text.length && (text.data[i] == '+' || text.data[i] == '-')) {
    negative = text.data[i] == '-';
    ++i;
  }
  // strtoll() takes one sign, before the digits.
  if (i >= text.length || !((text.data[i] >= '0' && text.data[i] <= '9'))) return false;
  uint64_t magnitude = 0;
  size_t consumed = 0;
  bool overflow = false;
  measure_internal::StrToULL(text.data + i, text.length - i, 0, &magnitude, &consumed, &overflow);
  if (consumed == 0 || i + consumed != text.length || overflow) return false;
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (magnitude > limit) return false;
  *out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  return true;
}

// block_crypto_create_opts_init(): the keyval visit of the options, in
// QAPI's member order, then the check for keys it does not have.
Status VisitLuksOptions(const ParsedMeasureOptions& options, const LuksKeys& keys,
                        const MeasureDialect& dialect, LuksOptions* out, MeasureError* error) {
  const MeasureOptionValue& secret = options.Get(keys.key_secret);
  out->has_key_secret = secret.present;
  out->key_secret = secret.text;

  if (const MeasureOptionValue& v = options.Get(keys.cipher_alg); v.present) {
    bool found = false;
    for (size_t i = 0; i < sizeof(kCiphers) / sizeof(kCiphers[0]) && !found; ++i) {
      if (CipherKnown(i, dialect) && TextIs(v.text, CipherName(i, dialect))) {
        out->cipher = i;
        found = true;
      }
    }
    if (!found) return EnumFailure(error, "cipher-alg", v.text);
  }
  if (const MeasureOptionValue& v = options.Get(keys.cipher_mode); v.present) {
    bool found = false;
    for (uint8_t i = 0; i < 4 && !found; ++i) {
      if (TextIs(v.text, kCipherModes[i])) {
        out->mode = static_cast<CipherMode>(i);
        found = true;
      }
    }
    if (!found) return EnumFailure(error, "cipher-mode", v.text);
  }
  if (const MeasureOptionValue& v = options.Get(keys.ivgen_alg); v.present) {
    bool found = false;
    for (uint8_t i = 0; i < 3 && !found; ++i) {
      if (TextIs(v.text, kIvGens[i])) {
        out->ivgen = static_cast<IvGen>(i);
        found = true;
      }
    }
    if (!found) return EnumFailure(error, "ivgen-alg", v.text);
  }
  auto hash = [&](K key, const char* name, size_t* index, bool* present) -> Status {
    const MeasureOptionValue& v = options.Get(key);
    if (!v.present) return Status::Ok();
    for (size_t i = 0; i < sizeof(kHashes) / sizeof(kHashes[0]); ++i) {
      if (HashKnown(i, dialect) && TextIs(v.text, kHashes[i].name)) {
        *index = i;
        if (present != nullptr) *present = true;
        return Status::Ok();
      }
    }
    return EnumFailure(error, name, v.text);
  };
  INSTAR_RETURN_IF_ERROR(
      hash(keys.ivgen_hash_alg, "ivgen-hash-alg", &out->ivgen_hash, &out->has_ivgen_hash));
  INSTAR_RETURN_IF_ERROR(hash(keys.hash_alg, "hash-alg", &out->hash, nullptr));
  if (const MeasureOptionValue& v = options.Get(keys.iter_time); v.present) {
    if (!ParseInt64(v.text, &out->iter_time)) {
      error->subject = MeasureText{"iter-time", 9};
      return MeasureFailure(error, MeasureErrorKind::kLuksExpectsInteger,
                            "iter-time not an integer");
    }
  }
  // luks's "detached-header" (9.0+) is blockdev-create's, not
  // QCryptoBlockCreateOptions': the visit leaves it over.
  if (dialect.luks_refuses_detached_header && options.Get(K::kDetachedHeader).present) {
    error->subject = MeasureText{"detached-header", 15};
    return MeasureFailure(error, MeasureErrorKind::kUnexpectedParameter,
                          "detached-header is not a measure option");
  }
  return Status::Ok();
}

// qcrypto_block_luks_essiv_cipher(): the cipher ESSIV encrypts the IV
// with, keyed by a hash of the master key.
Status EssivCipher(const LuksOptions& luks, MeasureError* error) {
  const CipherInfo& cipher = kCiphers[luks.cipher];
  const uint64_t digest = kHashes[luks.ivgen_hash].digest_bytes;
  if (digest == cipher.key_bytes) return Status::Ok();
  const char* family = nullptr;
  switch (cipher.family) {
    case LuksFamily::kAes:
      family = "AES";
      break;
    case LuksFamily::kSerpent:
      family = "Serpent";
      break;
    case LuksFamily::kTwofish:
      family = "Twofish";
      break;
    default:
      error->value = MeasureText{cipher.name, BoundedLength(cipher.name, 16)};
      error->detail = "";
      return MeasureFailure(error, MeasureErrorKind::kLuksEssiv, "no ESSIV cipher");
  }
  // Each of these families has 16, 24 and 32-byte keys.
  if (digest == 16 || digest == 24 || digest == 32) return Status::Ok();
  error->detail = family;
  error->number = digest;
  return MeasureFailure(error, MeasureErrorKind::kLuksEssiv, "no ESSIV cipher for the digest");
}

}  // namespace

Status LuksHeaderSize(const ParsedMeasureOptions& options, bool encrypt_prefix,
                      const MeasureSecrets* secrets, const QemuVersion& compat,
                      uint64_t* header_bytes, MeasureError* error) {
  const MeasureDialect dialect = MeasureDialectFor(compat);
  error->version = compat;
  LuksOptions luks;
  INSTAR_RETURN_IF_ERROR(
      VisitLuksOptions(options, encrypt_prefix ? kQcow2Keys : kLuksKeys, dialect, &luks, error));

  // qcrypto_block_luks_create(): the defaults, then the key secret.
  if (luks.ivgen == kEssiv && !luks.has_ivgen_hash) luks.ivgen_hash = kSha256Index;
  if (!luks.has_key_secret) {
    error->subject = encrypt_prefix ? MeasureText{"encrypt.", 8} : MeasureText{"", 0};
    return MeasureFailure(error, MeasureErrorKind::kKeySecretRequired, "LUKS needs a key secret");
  }
  const MeasureSecret* secret = secrets != nullptr ? secrets->Find(luks.key_secret) : nullptr;
  error->value = luks.key_secret;
  if (secret == nullptr) {
    return MeasureFailure(error, MeasureErrorKind::kNoSecret, "no secret object with that id");
  }
  if (!secret->valid_utf8) {
    return MeasureFailure(error, MeasureErrorKind::kSecretNotUtf8, "the secret is not UTF-8");
  }

  // The header's cipher name (qcrypto_block_luks_cipher_alg_lookup()).
  const CipherInfo& cipher = kCiphers[luks.cipher];
  if (cipher.family == LuksFamily::kNone ||
      (cipher.family == LuksFamily::kSm4 && !dialect.luks_has_sm4)) {
    const char* name = CipherName(luks.cipher, dialect);
    error->value = MeasureText{name, BoundedLength(name, 16)};
    return MeasureFailure(error, MeasureErrorKind::kLuksAlgorithm, "cipher not in LUKS");
  }
  if (luks.ivgen == kEssiv) INSTAR_RETURN_IF_ERROR(EssivCipher(luks, error));

  // The payload cipher (qcrypto_cipher_new() of the Debian builds' crypto
  // library): CAST5 has no XTS, SM4 nothing but ECB.
  if ((cipher.family == LuksFamily::kCast5 && luks.mode == kXts) ||
      (cipher.family == LuksFamily::kSm4 && luks.mode != kEcb)) {
    const char* mode = kCipherModes[luks.mode];
    error->value = MeasureText{mode, 3};
    return MeasureFailure(error, MeasureErrorKind::kLuksCipherMode, "mode not for this cipher");
  }

  // qcrypto_pbkdf2_count_iters() times the PBKDF on the machine, then the
  // count is scaled by iter-time; a negative iter-time always overflows.
  // (A very large one overflows too, at a point that depends on the
  // machine's speed: instar takes it.)
  if (luks.iter_time < 0) {
    return MeasureFailure(error, MeasureErrorKind::kLuksIterations, "iter-time out of range");
  }

  const uint64_t master_key = uint64_t{cipher.key_bytes} * (luks.mode == kXts ? 2 : 1);
  const uint64_t split_key = master_key * kLuksStripes;
  if (split_key % kLuksSectorSize != 0) {
    // qemu-img encrypts the split key sector by sector and asserts that it
    // is whole sectors: it aborts (SIGABRT) for every 24-byte key but XTS's.
    return NotSupportedFailure(error,
                               "qemu-img aborts here (a 24-byte LUKS key outside XTS is not whole "
                               "sectors of key material)");
  }
  const uint64_t slot_sectors =
      AlignUp(DivRoundUp(split_key, kLuksSectorSize), kLuksKeySlotOffset / kLuksSectorSize);
  *header_bytes = kLuksKeySlotOffset + kLuksKeySlots * slot_sectors * kLuksSectorSize;
  return Status::Ok();
}

const MeasureSecret* MeasureSecrets::Find(MeasureText id) const {
  for (size_t i = 0; i < count; ++i) {
    if (entries[i].id.length == id.length && BytesEqual(entries[i].id.data, id.data, id.length)) {
      return &entries[i];
    }
  }
  return nullptr;
}

}  // namespace instar
