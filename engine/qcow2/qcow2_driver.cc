// The qcow2 driver (qemu's bdrv_qcow2).
#include "check/check_internal.h"
#include "core/formats.h"
#include "core/reader_util.h"
#include "instar/engine/bytes.h"
#include "instar/engine/inflate.h"
#include "instar/engine/qcow2.h"
#include "instar/engine/text_builder.h"
#include "instar/engine/zstd.h"
#include "measure/measure_internal.h"
#include "qcow2/qcow2_internal.h"
#include "qcow2/qcow2_write.h"

namespace instar {

namespace {

using K = MeasureOptionKey;
using T = CreateOptionType;

// qcow2_probe: the magic and a version of 2 or more (1 is qcow).
int ProbeQcow2(const uint8_t* buffer, size_t, const char*, size_t) {
  return LoadBE32(buffer) == 0x514649fb && LoadBE32(buffer + 4) >= 2 ? 100 : 0;
}

// qcow2_get_info() and qcow2_get_specific_info().
void DescribeQcow2(Image& image, ImageDescription* description) {
  auto& qcow2 = static_cast<Qcow2Image&>(image);
  description->cluster_size = qcow2.cluster_size();
  // Whether a version reports it is the info dialect's rule
  // (InfoOpenDialect::reports_dirty_flag).
  description->dirty = qcow2.dirty();
  description->encrypted = qcow2.encrypted();
  const Qcow2Text name = qcow2.backing_file();
  if (name.present() && name.size > 0) {
    description->backing_name = name.data;
    description->backing_name_length = name.size;
    // qemu keeps the backing format extension's text as it is, known
    // driver or not.
    const Qcow2Text format = qcow2.backing_format();
    if (format.present() && format.size > 0) {
      description->backing_format = format.data;
      description->backing_format_length = format.size;
    }
  }
  description->qcow2 = &qcow2;
}

// qcow2_signal_corruption() of an image opened read-only: the first event
// only, never fatal.
size_t ReportQcow2Corruption(Image& image, char* out, size_t capacity) {
  const Qcow2CorruptionEvent& event = static_cast<Qcow2Image&>(image).first_corruption();
  if (event.kind == Qcow2CorruptionKind::kNone) return 0;
  char text[256];
  FormatQcow2Corruption(event, text, sizeof(text));
  TextBuilder line(out, capacity);
  line.Append("qcow2: Image is corrupt: ")
      .Append(text)
      .Append("; further non-fatal corruption events will be suppressed");
  return line.length();
}

// block/qcow2.c qcow2_create_opts (the same in 5.2, 7.2 and 10.0).
constexpr CreateOption kQcow2Options[] = {
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

}  // namespace

namespace {

// qcow2_co_preadv_compressed(): a compressed cluster is read whole from the
// image file, where its L2 entry says and as many 512-byte sectors as it
// says, and decompressed into one cluster by the image's compression type:
// as qcow2_zlib_decompress(), only a cluster that inflates whole is read;
// as qcow2_zstd_decompress(), zstd frames are decoded until the cluster is
// full at a frame's end, and the sector padding after them is not looked
// at. Either failing is qemu's EIO. The bytes asked for are copied out of
// the cluster.
Result<uint64_t> ReadQcow2Data(Image& image, uint64_t offset, uint64_t bytes, uint8_t* out,
                               Arena& scratch) {
  auto& qcow2 = static_cast<Qcow2Image&>(image);
  INSTAR_ASSIGN_OR_RETURN(const Qcow2Mapping mapping, qcow2.GetHostOffset(offset, bytes));
  if (mapping.type != Qcow2SubclusterType::kCompressed) {
    return Status::NotSupported("instar cannot read this data yet (encrypted)");
  }
  const uint32_t cluster_bits = qcow2.header().cluster_bits;
  const uint64_t cluster_size = qcow2.cluster_size();
  const uint32_t csize_shift = 62 - (cluster_bits - 8);
  const uint64_t csize_mask = (uint64_t{1} << (cluster_bits - 8)) - 1;
  const uint64_t entry = mapping.host_offset;
  const uint64_t coffset = entry & ((uint64_t{1} << csize_shift) - 1);
  const uint64_t sectors = ((entry >> csize_shift) & csize_mask) + 1;
  const uint64_t csize = sectors * 512 - (coffset & 511);

  ArenaRewind rewind(scratch);
  uint8_t* compressed = scratch.AllocateArray<uint8_t>(csize);
  uint8_t* cluster = scratch.AllocateArray<uint8_t>(cluster_size);
  if (compressed == nullptr || cluster == nullptr) {
    return Status::NoSpace("out of memory reading a compressed cluster");
  }
  INSTAR_RETURN_IF_ERROR(qcow2.file().Read(coffset, compressed, csize));
  const Result<size_t> decompressed =
      qcow2.compression_type() == qcow2::kCompressionZlib
          ? Inflate(compressed, csize, cluster, cluster_size)
          : ZstdDecompressCluster(compressed, csize, cluster, cluster_size, scratch);
  if (!decompressed.ok() || *decompressed != cluster_size) {
    return Status::IOError("qcow2: a compressed cluster does not decompress");
  }
  const uint64_t within = offset & (cluster_size - 1);
  const uint64_t count = bytes < cluster_size - within ? bytes : cluster_size - within;
  for (uint64_t i = 0; i < count; ++i) out[i] = cluster[within + i];
  return count;
}

}  // namespace

const FormatDriver kQcow2Driver = {
    .format = ImageFormat::kQcow2,
    .name = "qcow2",
    .probe = ProbeQcow2,
    .open = OpenQcow2Image,
    .supports_backing = true,
    .corruption_report = ReportQcow2Corruption,
    .check = CheckQcow2,
    .read_data = ReadQcow2Data,
    .describe = DescribeQcow2,
    .create_options = CreateOptions(kQcow2Options),
    .describe_measure_source = measure_internal::DescribeQcow2MeasureSource,
    .measure = measure_internal::MeasureQcow2,
    .create = qcow2_internal::CreateQcow2Image,
    .resize = qcow2_internal::ResizeQcow2,
    .amend = qcow2_internal::AmendQcow2,
    .open_writer = qcow2_internal::OpenQcow2Writer,
    .compressed_writes = true,
};

}  // namespace instar
