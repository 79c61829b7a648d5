// The qcow2 amend hook: qcow2_amend_options() (block/qcow2.c) as
// `qemu-img amend -o` calls it, writing what qemu writes in place.
//
// The options are taken in the order of qemu's qcow2_amend_opts (the
// encrypt.* keys, size, compat, backing_file, backing_fmt, data_file,
// data_file_raw, lazy_refcounts, refcount_bits), each refused where qemu
// refuses it; then, as qemu: the upgrade to compat=1.1, the refcount width
// (qcow2_change_refcount_order(): new refcount blocks and table allocated
// through the old structures until they stop moving, written, the header
// pointed at them, the old ones freed through the new), the header
// rewritten (qcow2_update_header(), whose bytes this file builds from the
// image's state: fields, the backing format, the feature table, unknown
// extensions kept, the backing file name), the backing file check, lazy
// refcounts, the size (qcow2_co_truncate(), qcow2_resize.cc) and last the
// downgrade to compat=0.10 (qcow2_downgrade()). A refusal part-way leaves
// what qemu's steps before it wrote.
//
// A key only `qemu-img create` takes is refused as qemu-img does ("Invalid
// parameter"); with several, qemu names the first in the -o text, instar
// the first in the driver's option table (the parsed options keep no
// order).
#include "core/reader_util.h"
#include "instar/engine/bytes.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/qcow2.h"
#include "instar/engine/text_builder.h"
#include "qcow2/qcow2_allocator.h"
#include "qcow2/qcow2_in_place.h"
#include "qcow2/qcow2_internal.h"

namespace instar::qcow2_internal {

namespace {

using K = MeasureOptionKey;

constexpr uint64_t kReftableOffsetMask = 0xfffffffffffffe00ull;
constexpr uint64_t kMaxReftableEntries = 1 << 20;
constexpr size_t kMaxUnknownExtensions = 32;
constexpr uint32_t kV3HeaderBytes = 112;  // sizeof(QCowHeader)

bool TextIs(MeasureText text, const char* literal) {
  size_t i = 0;
  for (; i < text.length; ++i) {
    if (literal[i] == '\0' || literal[i] != text.data[i]) return false;
  }
  return literal[i] == '\0';
}

bool SameText(MeasureText a, Qcow2Text b) {
  if (!b.present()) return false;
  if (a.length != b.size) return false;
  for (size_t i = 0; i < a.length; ++i) {
    if (a.data[i] != b.data[i]) return false;
  }
  return true;
}

// What qcow2_update_header() writes, as qemu holds it in BDRVQcow2State.
struct HeaderState {
  uint32_t version = 3;
  uint32_t cluster_bits = 16;
  uint32_t crypt_method = 0;
  uint32_t nb_snapshots = 0;
  uint64_t snapshots_offset = 0;
  uint64_t incompatible = 0;
  uint64_t compatible = 0;
  uint64_t autoclear = 0;
  uint8_t compression_type = 0;
  Qcow2LiveFields live;
  // The header cluster as read: unknown header fields and extensions are
  // copied from it.
  const uint8_t* original = nullptr;
  uint32_t unknown_fields_at = 0;
  uint32_t unknown_fields_size = 0;
  uint32_t unknown_extensions[kMaxUnknownExtensions] = {};  // offsets in `original`
  size_t unknown_extension_count = 0;
  MeasureText backing_file;  // data null: none
  MeasureText backing_format;
};

// qcow2_update_header(): the header cluster built in `out` and written.
Status WriteHeader(const HeaderState& s, WritableDevice& device, uint8_t* out) {
  const uint64_t cluster_size = uint64_t{1} << s.cluster_bits;
  for (uint64_t i = 0; i < cluster_size; ++i) out[i] = 0;
  StoreBE32(out + 0, qcow2::kMagic);
  StoreBE32(out + 4, s.version);
  StoreBE32(out + 20, s.cluster_bits);
  StoreBE64(out + 24, s.live.size & ~uint64_t{511});
  StoreBE32(out + 32, s.crypt_method);
  StoreBE32(out + 36, static_cast<uint32_t>(s.live.l1_size));
  StoreBE64(out + 40, s.live.l1_offset);
  StoreBE64(out + 48, s.live.reftable_offset);
  StoreBE32(out + 56, static_cast<uint32_t>(s.live.reftable_clusters));
  StoreBE32(out + 60, s.nb_snapshots);
  StoreBE64(out + 64, s.snapshots_offset);
  size_t used = 72;
  if (s.version >= 3) {
    StoreBE64(out + 72, s.incompatible);
    StoreBE64(out + 80, s.compatible);
    StoreBE64(out + 88, s.autoclear);
    StoreBE32(out + 96, s.live.refcount_order);
    StoreBE32(out + 100, kV3HeaderBytes + s.unknown_fields_size);
    out[104] = s.compression_type;
    used = kV3HeaderBytes;
    if (s.unknown_fields_size > cluster_size - used)
      return Status::NoSpace("No space left on device");
    for (uint32_t i = 0; i < s.unknown_fields_size; ++i) {
      out[used + i] = s.original[s.unknown_fields_at + i];
    }
    used += s.unknown_fields_size;
  }
  const auto add = [&](uint32_t magic, const uint8_t* data, size_t length) {
    const size_t n = AddHeaderExtension(out + used, cluster_size - used, magic, data, length);
    used += n;
    return n != 0;
  };
  if (s.backing_format.data != nullptr &&
      !add(qcow2::kExtBackingFormat, reinterpret_cast<const uint8_t*>(s.backing_format.data),
           s.backing_format.length)) {
    return Status::NoSpace("No space left on device");
  }
  if (s.version >= 3 && cluster_size > 4096) {
    uint8_t table[kFeatureNameTableSize];
    FillFeatureNameTable(table);
    if (!add(qcow2::kExtFeatureTable, table, sizeof(table))) {
      return Status::NoSpace("No space left on device");
    }
  }
  // qemu keeps unknown extensions on a list it builds head-first: they
  // come back in the reverse of the order they were read.
  for (size_t i = s.unknown_extension_count; i-- > 0;) {
    const uint8_t* ext = s.original + s.unknown_extensions[i];
    if (!add(LoadBE32(ext), ext + 8, LoadBE32(ext + 4))) {
      return Status::NoSpace("No space left on device");
    }
  }
  if (!add(qcow2::kExtEnd, nullptr, 0)) return Status::NoSpace("No space left on device");
  if (s.backing_file.data != nullptr) {
    if (s.backing_file.length > cluster_size - used)
      return Status::NoSpace("No space left on device");
    for (size_t i = 0; i < s.backing_file.length; ++i) {
      out[used + i] = static_cast<uint8_t>(s.backing_file.data[i]);
    }
    StoreBE64(out + 8, used);
    StoreBE32(out + 16, static_cast<uint32_t>(s.backing_file.length));
  }
  return device.Write(0, out, cluster_size);
}

// The state qcow2_open() leaves, from the reader's parse and the header
// cluster in `original`.
Status LoadHeaderState(Qcow2Image& image, const uint8_t* original, HeaderState* s) {
  const Qcow2Header& header = image.header();
  s->version = header.version;
  s->cluster_bits = header.cluster_bits;
  s->crypt_method = header.crypt_method;
  s->nb_snapshots = header.nb_snapshots;
  s->snapshots_offset = header.snapshots_offset;
  s->incompatible = header.incompatible_features;
  s->compatible = header.compatible_features;
  s->autoclear = header.autoclear_features;
  s->compression_type = header.compression_type;
  s->live = LiveFieldsOf(image);
  s->original = original;
  const uint64_t cluster_size = image.cluster_size();
  uint64_t extensions_at = 72;
  if (header.version >= 3) {
    extensions_at = header.header_length;
    if (header.header_length > kV3HeaderBytes) {
      s->unknown_fields_at = kV3HeaderBytes;
      s->unknown_fields_size = header.header_length - kV3HeaderBytes;
    }
  }
  const uint64_t extensions_end =
      header.backing_file_offset != 0 ? header.backing_file_offset : cluster_size;
  uint64_t at = extensions_at;
  while (at + 8 <= extensions_end && at + 8 <= cluster_size) {
    const uint32_t magic = LoadBE32(original + at);
    const uint32_t length = LoadBE32(original + at + 4);
    if (magic == qcow2::kExtEnd) break;
    if (length > extensions_end - at - 8) break;  // the reader refused this already
    const bool known = magic == qcow2::kExtBackingFormat || magic == qcow2::kExtFeatureTable ||
                       magic == qcow2::kExtCryptoHeader || magic == qcow2::kExtBitmaps ||
                       magic == qcow2::kExtDataFile;
    if (!known) {
      if (s->unknown_extension_count == kMaxUnknownExtensions) {
        return Status::NotSupported(
            "instar cannot amend a qcow2 image with this many header extensions");
      }
      s->unknown_extensions[s->unknown_extension_count++] = static_cast<uint32_t>(at);
    }
    at += 8 + ((uint64_t{length} + 7) & ~uint64_t{7});
  }
  const Qcow2Text backing = image.backing_file();
  if (backing.present()) s->backing_file = MeasureText{backing.data, backing.size};
  const Qcow2Text format = image.backing_format();
  if (format.present()) s->backing_format = MeasureText{format.data, format.size};
  return Status::Ok();
}

// Scans every L2 table the active L1 table names: whether any entry is a
// zero cluster (`zero`) or compressed (`compressed`). The L1 table is read
// in chunks, as qemu reads it whole: a read per entry is a call to the
// host each, and the 2^21 entries of a 1 EiB image with 2 MiB clusters
// took past the sandbox's watchdog that way (qemu-img: 0.2 s).
Status ScanL2Tables(WritableDevice& device, const HeaderState& s, bool extended, uint8_t* buffer,
                    Arena& arena, bool* zero, bool* compressed) {
  *zero = false;
  *compressed = false;
  const uint64_t cluster_size = uint64_t{1} << s.cluster_bits;
  const uint64_t entry_size = extended ? 16 : 8;
  constexpr uint64_t kChunkEntries = 8192;
  ArenaRewind rewind(arena);
  uint8_t* chunk = arena.AllocateArray<uint8_t>(kChunkEntries * 8);
  if (chunk == nullptr) return Status::NoSpace("qcow2 L1 table chunk");
  for (uint64_t i = 0; i < s.live.l1_size; ++i) {
    if (i % kChunkEntries == 0) {
      const uint64_t n = s.live.l1_size - i < kChunkEntries ? s.live.l1_size - i : kChunkEntries;
      INSTAR_RETURN_IF_ERROR(device.Read(s.live.l1_offset + i * 8, chunk, n * 8));
    }
    const uint64_t l2 = LoadBE64(chunk + (i % kChunkEntries) * 8) & kL1OffsetMask;
    if (l2 == 0) continue;
    INSTAR_RETURN_IF_ERROR(device.Read(l2, buffer, cluster_size));
    for (uint64_t j = 0; j < cluster_size / entry_size; ++j) {
      const uint64_t entry = LoadBE64(buffer + j * entry_size);
      if ((entry & kL2Compressed) != 0) {
        *compressed = true;
      } else if ((entry & kL2Zero) != 0) {
        *zero = true;
      }
    }
  }
  return Status::Ok();
}

// qcow2_change_refcount_order(): see the file comment.
Status ChangeRefcountOrder(Qcow2Image& image, WritableDevice& device, HeaderState* s,
                           uint32_t new_order, Arena& arena, uint8_t* header_buffer) {
  ArenaRewind rewind(arena);
  Qcow2InPlace in_place(image, device);
  INSTAR_RETURN_IF_ERROR(in_place.Open(arena, 64, s->live));
  Qcow2Allocator& old = in_place.allocator();
  const uint32_t cluster_bits = s->cluster_bits;
  const uint64_t cluster_size = uint64_t{1} << cluster_bits;
  const uint64_t old_block = uint64_t{1} << (cluster_bits + 3 - s->live.refcount_order);
  const uint64_t new_block = uint64_t{1} << (cluster_bits + 3 - new_order);
  const uint64_t new_max = new_order == 6 ? ~uint64_t{0} : (uint64_t{1} << (1u << new_order)) - 1;

  // The new table: entries for the refcount blocks of every cluster the
  // file can come to hold, whole table clusters.
  const uint64_t file_clusters = DivRoundUp(device.Size(), cluster_size) + 1024;
  const uint64_t capacity = AlignUp(DivRoundUp(2 * file_clusters, new_block) + 2, cluster_size / 8);
  if (capacity > kMaxReftableEntries) {
    return Status::NotSupported(
        "instar cannot change the refcount width of a qcow2 image this large");
  }
  auto* table = arena.AllocateArray<uint64_t>(capacity);
  uint8_t* block = arena.AllocateArray<uint8_t>(cluster_size);
  if (table == nullptr || block == nullptr) {
    return Status::NoSpace("out of memory changing the refcount width");
  }
  for (uint64_t i = 0; i < capacity; ++i) table[i] = 0;
  uint64_t table_size = 0;

  // Whether the new block `j` counts anything, its refcounts checked for
  // the new width (walk_over_reftable()); into `out` when not null.
  const auto visit = [&](uint64_t j, uint8_t* out, bool* empty) -> Status {
    *empty = true;
    if (out != nullptr) {
      for (uint64_t i = 0; i < cluster_size; ++i) out[i] = 0;
    }
    const uint64_t first = j * new_block;
    for (uint64_t cluster = first; cluster < first + new_block;) {
      const uint64_t table_index = cluster / old_block;
      if (table_index >= old.reftable_size()) break;
      if ((old.reftable_entry(table_index) & kReftableOffsetMask) == 0) {
        cluster = (table_index + 1) * old_block;
        continue;
      }
      INSTAR_ASSIGN_OR_RETURN(const uint64_t refcount, old.GetRefcount(cluster));
      if (refcount > new_max) {
        char line[200];
        TextBuilder text(line, sizeof(line));
        text.Append("Cannot decrease refcount entry width to ")
            .AppendDecimal(uint64_t{1} << new_order)
            .Append(" bits: Cluster at offset ")
            .AppendHex(cluster << cluster_bits)
            .Append(" has a refcount of ")
            .AppendDecimal(refcount);
        return Status::InvalidArgument("{s}").WithTextCopy(text.c_str(), text.length());
      }
      if (refcount != 0) *empty = false;
      if (out != nullptr && refcount != 0) {
        const uint64_t index = cluster - first;
        switch (new_order) {
          case 0:
          case 1:
          case 2: {
            const uint32_t width = 1u << new_order;
            const uint64_t bit = index * width;
            out[bit / 8] = static_cast<uint8_t>(out[bit / 8] | (refcount << (bit % 8)));
            break;
          }
          case 3:
            out[index] = static_cast<uint8_t>(refcount);
            break;
          case 4:
            StoreBE16(out + index * 2, static_cast<uint16_t>(refcount));
            break;
          case 5:
            StoreBE32(out + index * 4, static_cast<uint32_t>(refcount));
            break;
          default:
            StoreBE64(out + index * 8, refcount);
            break;
        }
      }
      ++cluster;
    }
    return Status::Ok();
  };

  // Allocation walks until nothing new is allocated; each allocation of
  // blocks is followed by a new table, the previous one freed.
  uint64_t table_offset = 0;
  uint64_t allocated_table_size = 0;
  for (;;) {
    bool allocated = false;
    for (uint64_t j = 0; j < DivRoundUp(old.reftable_size() * old_block, new_block); ++j) {
      bool empty = true;
      INSTAR_RETURN_IF_ERROR(visit(j, nullptr, &empty));
      if (empty) continue;
      if (j >= table_size) {
        table_size = AlignUp(j + 1, cluster_size / 8);
        if (table_size > capacity) {
          return Status::NotSupported(
              "instar cannot change the refcount width of a qcow2 image this large");
        }
      }
      if (table[j] == 0) {
        INSTAR_ASSIGN_OR_RETURN(table[j], old.AllocClusters(cluster_size));
        allocated = true;
      }
    }
    if (!allocated) break;
    if (table_offset != 0) {
      INSTAR_RETURN_IF_ERROR(old.FreeClusters(table_offset, allocated_table_size * 8));
    }
    INSTAR_ASSIGN_OR_RETURN(table_offset, old.AllocClusters(table_size * 8));
    allocated_table_size = table_size;
  }
  // The blocks, then the table.
  for (uint64_t j = 0; j < DivRoundUp(old.reftable_size() * old_block, new_block); ++j) {
    if (j >= table_size || table[j] == 0) continue;
    bool empty = true;
    INSTAR_RETURN_IF_ERROR(visit(j, block, &empty));
    INSTAR_RETURN_IF_ERROR(device.Write(table[j], block, cluster_size));
  }
  for (uint64_t first = 0; first < table_size; first += cluster_size / 8) {
    const uint64_t n =
        table_size - first < cluster_size / 8 ? table_size - first : cluster_size / 8;
    for (uint64_t i = 0; i < n; ++i) StoreBE64(block + i * 8, table[first + i]);
    INSTAR_RETURN_IF_ERROR(device.Write(table_offset + first * 8, block, n * 8));
  }
  INSTAR_RETURN_IF_ERROR(old.FlushBlocks());

  const Qcow2LiveFields before = s->live;
  s->live.refcount_order = new_order;
  s->live.reftable_offset = table_offset;
  s->live.reftable_clusters = table_size * 8 / cluster_size;
  INSTAR_RETURN_IF_ERROR(WriteHeader(*s, device, header_buffer));

  // The old blocks and table freed through the new structures.
  Qcow2InPlace after(image, device);
  INSTAR_RETURN_IF_ERROR(after.Open(arena, 64, s->live));
  for (uint64_t i = 0; i < old.reftable_size(); ++i) {
    const uint64_t offset = old.reftable_entry(i) & kReftableOffsetMask;
    if (offset != 0) INSTAR_RETURN_IF_ERROR(after.allocator().FreeClusters(offset, cluster_size));
  }
  INSTAR_RETURN_IF_ERROR(after.allocator().FreeClusters(before.reftable_offset,
                                                        before.reftable_clusters * cluster_size));
  return after.allocator().FlushBlocks();
}

// The keys only qemu-img create takes, in the driver's option order.
constexpr K kCreateOnlyKeys[] = {
    K::kEncryption,        K::kEncryptFormat,   K::kEncryptKeySecret,    K::kEncryptCipherAlg,
    K::kEncryptCipherMode, K::kEncryptIvgenAlg, K::kEncryptIvgenHashAlg, K::kEncryptHashAlg,
    K::kClusterSize,       K::kExtendedL2,      K::kPreallocation,       K::kCompressionType,
};
constexpr const char* kCreateOnlyNames[] = {
    "encryption",          "encrypt.format",    "encrypt.key-secret",     "encrypt.cipher-alg",
    "encrypt.cipher-mode", "encrypt.ivgen-alg", "encrypt.ivgen-hash-alg", "encrypt.hash-alg",
    "cluster_size",        "extended_l2",       "preallocation",          "compression_type",
};

// Releases before 6.0 let amend change the backing file (with a
// deprecation warning); later ones refuse.
bool AmendRefusesBackingChange(const QemuVersion& compat) { return compat.major >= 6; }

}  // namespace

Status AmendQcow2(Image& image_base, WritableDevice& device, const AmendRequest& request,
                  const QemuVersion& compat, Arena& arena) {
  auto& image = static_cast<Qcow2Image&>(image_base);
  const ParsedMeasureOptions& options = *request.options;
  // qemu-img amend parses -o against the driver's amend options.
  for (size_t i = 0; i < sizeof(kCreateOnlyKeys) / sizeof(kCreateOnlyKeys[0]); ++i) {
    if (options.Get(kCreateOnlyKeys[i]).present) {
      const char* name = kCreateOnlyNames[i];
      size_t length = 0;
      while (name[length] != '\0') ++length;
      return Status::InvalidArgument(
                 "Invalid parameter '{s}'\nThis option is only supported for image creation")
          .WithText(name, length);
    }
  }
  for (const auto& [key, name] :
       {std::pair{K::kNocow, "nocow"}, std::pair{K::kExtentSizeHint, "extent_size_hint"}}) {
    if (options.Get(key).present) {
      size_t length = 0;
      while (name[length] != '\0') ++length;
      return Status::InvalidArgument("Invalid parameter '{s}'").WithText(name, length);
    }
  }

  // The visit, in qcow2_amend_opts' order.
  const uint32_t old_version = image.version();
  uint32_t new_version = old_version;
  if (options.Get(K::kEncryptIterTime).present) {
    if (!image.encrypted()) {
      return Status::InvalidArgument("Can't amend encryption options - encryption not present");
    }
    if (image.encryption_method() != qcow2::kCryptLuks) {
      return Status::NotSupported("Only LUKS encryption options can be amended");
    }
    return Status::NotSupported("instar cannot amend encryption options");
  }
  const MeasureOptionValue& size_option = options.Get(K::kSize);
  const uint64_t new_size = size_option.present ? size_option.number : 0;
  const MeasureOptionValue& compat_option = options.Get(K::kCompat);
  if (compat_option.present) {
    if (TextIs(compat_option.text, "0.10") || TextIs(compat_option.text, "v2")) {
      new_version = 2;
    } else if (TextIs(compat_option.text, "1.1") || TextIs(compat_option.text, "v3")) {
      new_version = 3;
    } else {
      return Status::InvalidArgument("Unknown compatibility level {s}")
          .WithTextCopy(compat_option.text.data, compat_option.text.length);
    }
  }
  const MeasureOptionValue& backing_file = options.Get(K::kBackingFile);
  const MeasureOptionValue& backing_fmt = options.Get(K::kBackingFmt);
  const MeasureOptionValue& data_file = options.Get(K::kDataFile);
  if (data_file.present && !image.has_external_data_file()) {
    return Status::InvalidArgument(
        "data-file can only be set for images that use an external data file");
  }
  const MeasureOptionValue& data_file_raw = options.Get(K::kDataFileRaw);
  if (data_file_raw.present && data_file_raw.boolean && !image.data_file_raw()) {
    return Status::InvalidArgument("data-file-raw cannot be set on existing images");
  }
  const MeasureOptionValue& lazy_option = options.Get(K::kLazyRefcounts);
  const bool lazy_refcounts = lazy_option.present ? lazy_option.boolean : image.lazy_refcounts();
  const MeasureOptionValue& refcount_option = options.Get(K::kRefcountBits);
  const uint64_t refcount_bits =
      refcount_option.present ? refcount_option.number : image.refcount_bits();
  if (refcount_bits == 0 || refcount_bits > 64 || !IsPowerOfTwo(refcount_bits)) {
    return Status::InvalidArgument(
        "Refcount width must be a power of two and may not exceed 64 bits");
  }

  // What instar does not change yet: nothing is written for them.
  if (image.has_external_data_file() || image.encrypted() || image.bitmap_count() > 0 ||
      image.bitmaps_extension_ignored()) {
    return Status::NotSupported(
        "instar cannot amend a qcow2 image with an external data file, encryption or bitmaps yet");
  }
  if (image.dirty() || image.corrupt()) {
    return Status::NotSupported("instar cannot amend a dirty or corrupt qcow2 image yet");
  }
  if (image.snapshot_count() > 0 && new_version != old_version) {
    return Status::NotSupported(
        "instar cannot change the version of a qcow2 image with internal snapshots yet");
  }

  ArenaRewind rewind(arena);
  const uint64_t cluster_size = image.cluster_size();
  uint8_t* original = arena.AllocateArray<uint8_t>(cluster_size);
  uint8_t* header_buffer = arena.AllocateArray<uint8_t>(cluster_size);
  if (original == nullptr || header_buffer == nullptr) {
    return Status::NoSpace("out of memory amending a qcow2 image");
  }
  INSTAR_RETURN_IF_ERROR(device.Read(0, original, cluster_size));
  HeaderState state;
  INSTAR_RETURN_IF_ERROR(LoadHeaderState(image, original, &state));

  // Upgrade first (qcow2_upgrade()).
  if (new_version > old_version) {
    state.version = new_version;
    INSTAR_RETURN_IF_ERROR(WriteHeader(state, device, header_buffer));
  }
  if (refcount_bits != image.refcount_bits()) {
    if (new_version < 3 && refcount_bits != 16) {
      return Status::InvalidArgument(
          "Refcount widths other than 16 bits require compatibility level 1.1 or above (use "
          "compat=1.1 or greater)");
    }
    INSTAR_RETURN_IF_ERROR(ChangeRefcountOrder(
        image, device, &state, static_cast<uint32_t>(CountTrailingZeros(refcount_bits)), arena,
        header_buffer));
  }
  if (data_file_raw.present && data_file_raw.boolean) {
    state.autoclear |= qcow2::kAutoclearDataFileRaw;
  } else {
    state.autoclear &= ~qcow2::kAutoclearDataFileRaw;
  }
  INSTAR_RETURN_IF_ERROR(WriteHeader(state, device, header_buffer));

  if (backing_file.present || backing_fmt.present) {
    const bool file_differs = !backing_file.present
                                  ? image.backing_file().present()
                                  : !SameText(backing_file.text, image.backing_file());
    const bool format_differs = !backing_fmt.present
                                    ? image.backing_format().present()
                                    : !SameText(backing_fmt.text, image.backing_format());
    if (AmendRefusesBackingChange(compat)) {
      if (file_differs || format_differs) {
        return Status::InvalidArgument(
            "Cannot amend the backing file\nYou can use 'qemu-img rebase' instead.");
      }
    } else {
      // qcow2_change_backing_file() with what is given, the rest kept.
      if (backing_file.present) state.backing_file = backing_file.text;
      if (backing_fmt.present) state.backing_format = backing_fmt.text;
      if (state.backing_file.data != nullptr && state.backing_file.length > 1023) {
        return Status::InvalidArgument("Invalid argument");
      }
      INSTAR_RETURN_IF_ERROR(WriteHeader(state, device, header_buffer));
    }
  }

  if (image.lazy_refcounts() != lazy_refcounts) {
    if (lazy_refcounts) {
      if (new_version < 3) {
        return Status::InvalidArgument(
            "Lazy refcounts only supported with compatibility level 1.1 and above (use "
            "compat=1.1 or greater)");
      }
      state.compatible |= qcow2::kCompatLazyRefcounts;
    } else {
      state.compatible &= ~qcow2::kCompatLazyRefcounts;
    }
    INSTAR_RETURN_IF_ERROR(WriteHeader(state, device, header_buffer));
  }

  if (new_size != 0) {
    INSTAR_RETURN_IF_ERROR(
        TruncateQcow2(image, device, new_size, Preallocation::kOff, true, arena, &state.live));
  }

  // Downgrade last (qcow2_downgrade()).
  if (new_version < old_version) {
    if (state.live.refcount_order != 4) {
      return Status::NotSupported("compat=0.10 requires refcount_bits=16");
    }
    const uint64_t left = state.incompatible & ~qcow2::kIncompatCompression;
    if (left != 0) {
      return Status::NotSupported("Cannot downgrade an image with incompatible features 0x{x} set")
          .With(left);
    }
    state.compatible = 0;
    state.autoclear = 0;
    bool zero = false;
    bool compressed = false;
    INSTAR_RETURN_IF_ERROR(
        ScanL2Tables(device, state, image.extended_l2(), header_buffer, arena, &zero, &compressed));
    if (zero) {
      return Status::NotSupported("instar cannot downgrade a qcow2 image with zero clusters yet");
    }
    if ((state.incompatible & qcow2::kIncompatCompression) != 0) {
      if (compressed) {
        return Status::NotSupported(
            "Cannot downgrade an image with zstd compression type and existing compressed "
            "clusters");
      }
      state.incompatible &= ~qcow2::kIncompatCompression;
      state.compression_type = qcow2::kCompressionZlib;
    }
    state.version = 2;
    INSTAR_RETURN_IF_ERROR(WriteHeader(state, device, header_buffer));
  }
  return device.Flush();
}

}  // namespace instar::qcow2_internal
