// The meaning of the parsed -o options per target, checked in the order the
// target's qemu code reads them (qcow2_measure for qcow2; the create paths
// of vmdk, vpc and vhdx for instar's predictions).
#include "instar/engine/bytes.h"
#include "instar/engine/measure.h"
#include "measure/measure_internal.h"

namespace instar {

namespace {

using K = MeasureOptionKey;
using measure_internal::MeasureFailure;
using measure_internal::NotSupportedFailure;

bool TextIs(MeasureText text, const char* literal) {
  size_t i = 0;
  for (; i < text.length; ++i) {
    if (literal[i] == '\0' || literal[i] != text.data[i]) return false;
  }
  return literal[i] == '\0';
}

// The index of `text` among `names`, or -1: qemu's qapi_enum_parse().
template <size_t N>
int EnumIndex(MeasureText text, const char* const (&names)[N]) {
  for (size_t i = 0; i < N; ++i) {
    if (TextIs(text, names[i])) return static_cast<int>(i);
  }
  return -1;
}

MeasureText Literal(const char* text) {
  size_t n = 0;
  while (text[n] != '\0') ++n;
  return MeasureText{text, n};
}

Status ParsePreallocation(const MeasureOptionValue& value, Preallocation* out,
                          MeasureError* error) {
  *out = Preallocation::kOff;
  if (!value.present) return Status::Ok();
  static constexpr const char* kNames[] = {"off", "metadata", "falloc", "full"};
  if (const int i = EnumIndex(value.text, kNames); i >= 0) {
    *out = static_cast<Preallocation>(i);
    return Status::Ok();
  }
  error->value = value.text;
  return MeasureFailure(error, MeasureErrorKind::kInvalidEnumValue, "invalid preallocation mode");
}

// The subformat of vpc and vhdx: "dynamic" (the default) or "fixed".
Status ParseFixedSubformat(const ParsedMeasureOptions& options, const char* failure, bool* fixed,
                           MeasureError* error) {
  const MeasureOptionValue& subformat = options.Get(K::kSubformat);
  static constexpr const char* kNames[] = {"dynamic", "fixed"};
  const int i = subformat.present ? EnumIndex(subformat.text, kNames) : 0;
  if (i < 0) {
    error->subject = Literal("subformat");
    error->value = subformat.text;
    return MeasureFailure(error, MeasureErrorKind::kEnumNotAccepted, failure);
  }
  *fixed = i == 1;
  return Status::Ok();
}

}  // namespace

Status ResolveQcow2Options(const ParsedMeasureOptions& options, Qcow2TargetOptions* out,
                           MeasureError* error) {
  *out = Qcow2TargetOptions();
  error->target = ImageFormat::kQcow2;
  out->extended_l2 = options.Get(K::kExtendedL2).present && options.Get(K::kExtendedL2).boolean;

  const MeasureOptionValue& cluster = options.Get(K::kClusterSize);
  const uint64_t cluster_size = cluster.present ? cluster.number : 65536;
  // validate_cluster_size() looks at the low 32 bits' trailing zeros first.
  const int bits = CountTrailingZeros(static_cast<uint32_t>(cluster_size));
  if (bits < 9 || bits > 21 || (uint64_t{1} << bits) != cluster_size) {
    return MeasureFailure(error, MeasureErrorKind::kClusterSize, "bad qcow2 cluster size");
  }
  if (out->extended_l2 && cluster_size < 16384) {
    return MeasureFailure(error, MeasureErrorKind::kExtendedL2ClusterSize,
                          "extended L2 needs 16k clusters or larger");
  }
  out->cluster_size = cluster_size;

  const MeasureOptionValue& compat = options.Get(K::kCompat);
  if (compat.present) {
    if (TextIs(compat.text, "0.10")) {
      out->version = 2;
    } else if (TextIs(compat.text, "1.1")) {
      out->version = 3;
    } else {
      error->value = compat.text;
      return MeasureFailure(error, MeasureErrorKind::kCompatLevel, "bad qcow2 compat level");
    }
  }

  const MeasureOptionValue& refcount = options.Get(K::kRefcountBits);
  const uint64_t refcount_bits = refcount.present ? refcount.number : 16;
  if (refcount_bits > 64 || !IsPowerOfTwo(refcount_bits)) {
    return MeasureFailure(error, MeasureErrorKind::kRefcountWidth, "bad refcount width");
  }
  if (out->version < 3 && refcount_bits != 16) {
    return MeasureFailure(error, MeasureErrorKind::kRefcountNeedsV3,
                          "refcount width needs compat 1.1");
  }
  out->refcount_bits = static_cast<uint32_t>(refcount_bits);

  INSTAR_RETURN_IF_ERROR(
      ParsePreallocation(options.Get(K::kPreallocation), &out->preallocation, error));
  out->has_backing_file = options.Get(K::kBackingFile).present;

  // qcow2_measure() only asks whether the format is "luks" (the legacy
  // "encryption" and encrypt.format=aes add nothing to the size).
  const MeasureOptionValue& encrypt = options.Get(K::kEncryptFormat);
  out->luks = encrypt.present && TextIs(encrypt.text, "luks");
  return Status::Ok();
}

Status ResolveVmdkOptions(const ParsedMeasureOptions& options, VmdkTargetOptions* out,
                          MeasureError* error) {
  *out = VmdkTargetOptions();
  error->target = ImageFormat::kVmdk;
  const MeasureOptionValue& backing_fmt = options.Get(K::kBackingFmt);
  if (backing_fmt.present && !TextIs(backing_fmt.text, "vmdk")) {
    return MeasureFailure(error, MeasureErrorKind::kVmdkBackingFormat,
                          "vmdk backing file must be vmdk");
  }
  const MeasureOptionValue& adapter = options.Get(K::kAdapterType);
  const MeasureOptionValue& hw_version = options.Get(K::kHwVersion);
  const MeasureOptionValue& tools_version = options.Get(K::kToolsVersion);
  const bool compat6 = options.Get(K::kCompat6).present && options.Get(K::kCompat6).boolean;
  const bool has_hw_version = hw_version.present && !TextIs(hw_version.text, "undefined");
  const MeasureOptionValue& subformat = options.Get(K::kSubformat);
  out->zeroed_grain = options.Get(K::kZeroedGrain).present && options.Get(K::kZeroedGrain).boolean;

  if (adapter.present) {
    static constexpr const char* kAdapters[] = {"ide", "buslogic", "lsilogic", "legacyESX"};
    const int i = EnumIndex(adapter.text, kAdapters);
    if (i >= 0) {
      out->adapter_type = static_cast<VmdkAdapterType>(i);
    } else {
      error->value = adapter.text;
      return MeasureFailure(error, MeasureErrorKind::kInvalidEnumValue, "bad vmdk adapter type");
    }
  }
  if (subformat.present) {
    static constexpr const char* kSubformats[] = {"monolithicSparse", "monolithicFlat",
                                                  "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
                                                  "streamOptimized"};
    const int i = EnumIndex(subformat.text, kSubformats);
    if (i >= 0) {
      out->subformat = static_cast<VmdkSubformat>(i);
    } else {
      error->value = subformat.text;
      return MeasureFailure(error, MeasureErrorKind::kInvalidEnumValue, "bad vmdk subformat");
    }
  }
  if (compat6 && has_hw_version) {
    return MeasureFailure(error, MeasureErrorKind::kVmdkCompat6HwVersion,
                          "compat6 conflicts with hwversion");
  }
  out->hw_version = compat6 ? Literal("6") : has_hw_version ? hw_version.text : Literal("4");
  out->tools_version = tools_version.present ? tools_version.text : Literal("2147483647");

  const bool flat = out->subformat == VmdkSubformat::kMonolithicFlat ||
                    out->subformat == VmdkSubformat::kTwoGbMaxExtentFlat;
  const bool has_backing = options.Get(K::kBackingFile).present;
  if (flat && has_backing) {
    return MeasureFailure(error, MeasureErrorKind::kVmdkFlatBacking, "flat vmdk with backing file");
  }
  if (flat && out->zeroed_grain) {
    return MeasureFailure(error, MeasureErrorKind::kVmdkFlatZeroedGrain,
                          "flat vmdk with zeroed grain");
  }
  out->has_backing = has_backing;
  if (has_backing) out->backing_file = options.Get(K::kBackingFile).text;
  return Status::Ok();
}

Status ResolveVpcOptions(const ParsedMeasureOptions& options, VpcTargetOptions* out,
                         MeasureError* error) {
  *out = VpcTargetOptions();
  error->target = ImageFormat::kVpc;
  INSTAR_RETURN_IF_ERROR(ParseFixedSubformat(options, "bad vpc subformat", &out->fixed, error));
  out->force_size = options.Get(K::kForceSize).present && options.Get(K::kForceSize).boolean;
  return Status::Ok();
}

namespace measure_internal {

// vhdx_co_create_opts() then vhdx_co_create(): the subformat (QAPI), the
// rounding of the sizes, the image size limit, then log and block size.
Status ResolveVhdxOptionsForSize(const ParsedMeasureOptions& options, uint64_t image_size,
                                 VhdxTargetOptions* out, MeasureError* error) {
  constexpr uint64_t kMiB = 1 << 20;
  *out = VhdxTargetOptions();
  error->target = ImageFormat::kVhdx;
  INSTAR_RETURN_IF_ERROR(ParseFixedSubformat(options, "bad vhdx subformat", &out->fixed, error));
  const MeasureOptionValue& zero = options.Get(K::kBlockStateZero);
  out->block_state_zero = zero.present ? zero.boolean : true;
  // ROUND_UP in uint64_t, wrapping as qemu's does for absurd values.
  const MeasureOptionValue& log = options.Get(K::kLogSize);
  const MeasureOptionValue& block = options.Get(K::kBlockSize);
  out->log_size = log.present ? ((log.number + kMiB - 1) & ~(kMiB - 1)) : kMiB;
  out->block_size = 0;
  if (block.present) {
    uint64_t rounded = (block.number + kMiB - 1) & ~(kMiB - 1);
    if (rounded > 256 * kMiB) rounded = 256 * kMiB;
    out->block_size = rounded;
  }

  if (image_size > (uint64_t{64} << 40)) {
    return MeasureFailure(error, MeasureErrorKind::kVhdxImageTooLarge, "vhdx image too large");
  }
  if (out->log_size > UINT32_MAX) {
    return MeasureFailure(error, MeasureErrorKind::kVhdxLogSizeTooLarge, "vhdx log too large");
  }
  if (out->log_size < kMiB || out->log_size % kMiB != 0) {
    return MeasureFailure(error, MeasureErrorKind::kVhdxLogSizeMultiple, "bad vhdx log size");
  }
  if (out->block_size == 0) {
    if (image_size > (uint64_t{32} << 40)) {
      out->block_size = 64 * kMiB;
    } else if (image_size > (uint64_t{100} << 30)) {
      out->block_size = 32 * kMiB;
    } else if (image_size > (uint64_t{1} << 30)) {
      out->block_size = 16 * kMiB;
    } else {
      out->block_size = 8 * kMiB;
    }
  }
  if (out->block_size < kMiB || out->block_size % kMiB != 0) {
    return MeasureFailure(error, MeasureErrorKind::kVhdxBlockSizeMultiple, "bad vhdx block size");
  }
  if (!IsPowerOfTwo(out->block_size)) {
    return MeasureFailure(error, MeasureErrorKind::kVhdxBlockSizePowerOfTwo,
                          "vhdx block size not a power of two");
  }
  return Status::Ok();
}

}  // namespace measure_internal

Status ResolveVhdxOptions(const ParsedMeasureOptions& options, VhdxTargetOptions* out,
                          MeasureError* error) {
  INSTAR_RETURN_IF_ERROR(measure_internal::ResolveVhdxOptionsForSize(options, 0, out, error));
  // Without an image size the automatic block size is not chosen yet.
  const MeasureOptionValue& block = options.Get(K::kBlockSize);
  constexpr uint64_t kMiB = 1 << 20;
  if (!block.present || ((block.number + kMiB - 1) & ~(kMiB - 1)) == 0) out->block_size = 0;
  return Status::Ok();
}

}  // namespace instar
