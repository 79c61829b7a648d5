// `qemu-img info` of one image: the facts qemu's bdrv_query_image_info()
// collects from the format driver (block/qapi.c), read through the engine's
// accessors and written as info_result.h records. The image is opened as
// qemu-img info opens it: BDRV_O_NO_BACKING (the backing file is named, not
// opened) and BDRV_O_NO_IO (no key for an encrypted qcow2, and no external
// data file where the compat version skips it).
#include "instar/engine/format_driver.h"
#include "instar/engine/info_dialect.h"
#include "instar/engine/qcow2.h"
#include "instar/engine/vmdk.h"
#include "instar/guest/info_result.h"
#include "instar/guest/transport_device.h"
#include "ops/operation.h"

namespace instar::guest {

namespace {

using namespace info_result;

// BDRV_MAX_ALIGNMENT; see InfoOpenDialect for the versions that refuse
// a cluster size above it.
constexpr uint64_t kMaxAlignment = uint64_t{1} << 30;

// Every device the guest holds is a TransportDevice: device 0 is made by
// OpenUserImage(), every other one by TransportDeviceOpener.
uint32_t DeviceNumber(BlockDevice* device) {
  return static_cast<TransportDevice*>(device)->device();
}

Status Text(ResultWriter& writer, uint16_t tag, const char* data, size_t length) {
  return writer.Bytes(tag, data, length);
}

Status Text(ResultWriter& writer, uint16_t tag, const Qcow2Text& text) {
  return writer.Bytes(tag, text.data, text.size);
}

Status Child(ResultWriter& writer, const char* name, size_t name_length, uint32_t device) {
  INSTAR_RETURN_IF_ERROR(writer.Begin(kTagChild));
  INSTAR_RETURN_IF_ERROR(writer.Bytes(kTagChildName, name, name_length));
  INSTAR_RETURN_IF_ERROR(writer.U64(kTagChildDevice, device));
  return writer.End();
}

// What the format driver tells info (its describe hook), with what the
// version's generic layer holds back (InfoOpenDialect).
ImageDescription Describe(Image& image, const QemuVersion& compat) {
  const InfoOpenDialect dialect = InfoOpenDialectFor(compat);
  ImageDescription description;
  const FormatDriver* driver = FindFormatDriver(image.format());
  if (driver != nullptr && driver->describe != nullptr) {
    driver->describe(image, &description);
  }
  if (!dialect.reports_dirty_flag) description.dirty = false;
  if (dialect.refuses_cluster_above_max_alignment && description.cluster_size > kMaxAlignment) {
    description.has_driver_info = false;
  }
  return description;
}

// One snapshot packed as info_result.h lays it out, with a run length.
class PackedSnapshot {
 public:
  void Pack(const Qcow2Snapshot& s) {
    const size_t id = s.id.size < kSnapshotMaxIdBytes ? s.id.size : kSnapshotMaxIdBytes;
    const size_t name = s.name.size < kSnapshotMaxNameBytes ? s.name.size : kSnapshotMaxNameBytes;
    StoreLE64(bytes_, s.vm_state_size);
    StoreLE64(bytes_ + 8, s.date_sec);
    StoreLE64(bytes_ + 16, s.date_nsec);
    StoreLE64(bytes_ + 24, s.vm_clock_nsec);
    StoreLE64(bytes_ + 32, s.has_icount ? s.icount : UINT64_MAX);
    StoreLE32(bytes_ + 40, 1);
    bytes_[44] = static_cast<uint8_t>(id);
    bytes_[45] = static_cast<uint8_t>(name);
    if (id > 0) CopyBytes(bytes_ + kSnapshotFixedBytes, s.id.data, id);
    if (name > 0) CopyBytes(bytes_ + kSnapshotFixedBytes + id, s.name.data, name);
    size_ = kSnapshotFixedBytes + id + name;
  }
  // Whether `other` describes the same snapshot (the run length aside).
  bool SameAs(const PackedSnapshot& other) const {
    return size_ == other.size_ && BytesEqual(bytes_, other.bytes_, 40) &&
           BytesEqual(bytes_ + 44, other.bytes_ + 44, size_ - 44);
  }
  uint32_t repeat() const { return LoadLE32(bytes_ + 40); }
  void set_repeat(uint32_t repeat) { StoreLE32(bytes_ + 40, repeat); }
  Status Write(ResultWriter& writer) const { return writer.Bytes(kTagSnapshot, bytes_, size_); }

 private:
  uint8_t bytes_[kSnapshotFixedBytes + kSnapshotMaxIdBytes + kSnapshotMaxNameBytes];
  size_t size_ = 0;
};

Status WriteSnapshots(ResultWriter& writer, Qcow2Image& image) {
  // qcow2_snapshot_list() refuses (-ENOTSUP, so none are listed) when the
  // image has an external data file.
  if (image.has_external_data_file()) return Status::Ok();
  Qcow2SnapshotCursor cursor(image);
  PackedSnapshot pending;
  PackedSnapshot next;
  bool have_pending = false;
  for (;;) {
    Qcow2Snapshot snapshot;
    INSTAR_ASSIGN_OR_RETURN(const bool more, cursor.Next(&snapshot));
    if (!more) break;
    next.Pack(snapshot);
    if (have_pending && pending.SameAs(next) && pending.repeat() < UINT32_MAX) {
      pending.set_repeat(pending.repeat() + 1);
      continue;
    }
    if (have_pending) INSTAR_RETURN_IF_ERROR(pending.Write(writer));
    pending = next;
    have_pending = true;
  }
  return have_pending ? pending.Write(writer) : Status::Ok();
}

Status WriteBitmaps(ResultWriter& writer, Qcow2Image& image) {
  if (image.bitmap_count() == 0) return Status::Ok();
  Qcow2BitmapCursor cursor(image);
  for (;;) {
    Qcow2Bitmap bitmap;
    INSTAR_ASSIGN_OR_RETURN(const bool more, cursor.Next(&bitmap));
    if (!more) return Status::Ok();
    INSTAR_RETURN_IF_ERROR(writer.Begin(kTagQcow2Bitmap));
    INSTAR_RETURN_IF_ERROR(Text(writer, kTagBitmapName, bitmap.name));
    INSTAR_RETURN_IF_ERROR(writer.U64(kTagBitmapGranularity, bitmap.granularity));
    INSTAR_RETURN_IF_ERROR(
        writer.U64(kTagBitmapFlags, bitmap.flags & (qcow2::kBitmapInUse | qcow2::kBitmapAuto)));
    INSTAR_RETURN_IF_ERROR(writer.End());
  }
}

Status WriteQcow2(OperationContext& ctx, Qcow2Image& image) {
  ResultWriter& writer = ctx.writer;
  if (image.encryption_method() == qcow2::kCryptLuks) {
    // qemu prints the LUKS header (cipher, hash, key slots ...) here, which
    // the engine does not read: refuse rather than print less than qemu.
    ctx.error.Clear();
    ctx.error.Append("qemu-img: '")
        .Append(ctx.config.filename)
        .Append("': instar cannot describe a LUKS-encrypted qcow2 image yet");
    return Status::NotSupported("LUKS-encrypted qcow2 images are not supported by info");
  }
  INSTAR_RETURN_IF_ERROR(writer.Begin(kTagQcow2));
  INSTAR_RETURN_IF_ERROR(writer.String(kTagQcow2Compat, image.compat()));
  if (image.version() >= 3) {
    INSTAR_RETURN_IF_ERROR(writer.Bool(kTagQcow2LazyRefcounts, image.lazy_refcounts()));
    INSTAR_RETURN_IF_ERROR(writer.Bool(kTagQcow2Corrupt, image.corrupt()));
    INSTAR_RETURN_IF_ERROR(writer.Bool(kTagQcow2ExtendedL2, image.extended_l2()));
    const Qcow2Text data_file = image.data_file_name();
    if (data_file.present()) INSTAR_RETURN_IF_ERROR(Text(writer, kTagQcow2DataFile, data_file));
    if (image.has_external_data_file()) {
      INSTAR_RETURN_IF_ERROR(writer.Bool(kTagQcow2DataFileRaw, image.data_file_raw()));
    }
    INSTAR_RETURN_IF_ERROR(WriteBitmaps(writer, image));
  }
  INSTAR_RETURN_IF_ERROR(writer.U64(kTagQcow2RefcountBits, image.refcount_bits()));
  INSTAR_RETURN_IF_ERROR(writer.String(kTagQcow2CompressionType, image.compression_type_name()));
  if (image.encryption_method() == qcow2::kCryptAes) {
    INSTAR_RETURN_IF_ERROR(writer.String(kTagQcow2EncryptFormat, "aes"));
  }
  return writer.End();
}

Status WriteVmdk(ResultWriter& writer, VmdkImage& image) {
  INSTAR_RETURN_IF_ERROR(writer.Begin(kTagVmdk));
  INSTAR_RETURN_IF_ERROR(
      Text(writer, kTagVmdkCreateType, image.create_type(), image.create_type_length()));
  INSTAR_RETURN_IF_ERROR(writer.U64(kTagVmdkCid, image.cid()));
  INSTAR_RETURN_IF_ERROR(writer.U64(kTagVmdkParentCid, image.parent_cid()));
  for (size_t i = 0; i < image.extent_count(); ++i) {
    const VmdkExtent& extent = image.extent(i);
    INSTAR_RETURN_IF_ERROR(writer.Begin(kTagVmdkExtent));
    INSTAR_RETURN_IF_ERROR(writer.U64(kTagExtentDevice, DeviceNumber(extent.file)));
    INSTAR_RETURN_IF_ERROR(Text(writer, kTagExtentFormat, extent.type, extent.type_length));
    INSTAR_RETURN_IF_ERROR(writer.U64(kTagExtentVirtualSize, extent.virtual_size()));
    if (extent.has_cluster_size()) {
      INSTAR_RETURN_IF_ERROR(writer.U64(kTagExtentClusterSize, extent.cluster_size()));
    }
    if (extent.compressed) INSTAR_RETURN_IF_ERROR(writer.Bool(kTagExtentCompressed, true));
    INSTAR_RETURN_IF_ERROR(writer.End());
  }
  return writer.End();
}

// The node's children as qemu attaches them: the image file, then (vmdk)
// one "extents.N" child per extent that lives in a file of its own.
Status WriteChildren(ResultWriter& writer, const VmdkImage* vmdk, BlockDevice* file) {
  INSTAR_RETURN_IF_ERROR(Child(writer, "file", 4, DeviceNumber(file)));
  if (vmdk == nullptr) return Status::Ok();
  for (size_t i = 0; i < vmdk->extent_count(); ++i) {
    const VmdkExtent& extent = vmdk->extent(i);
    if (extent.in_image_file || extent.file == file) continue;
    char name[32];
    TextBuilder text(name, sizeof(name));
    text.Append("extents.").AppendDecimal(i);
    INSTAR_RETURN_IF_ERROR(Child(writer, text.c_str(), text.length(), DeviceNumber(extent.file)));
  }
  return Status::Ok();
}

Status WriteBacking(ResultWriter& writer, const ImageDescription& description) {
  if (description.backing_name_length == 0) return Status::Ok();
  INSTAR_RETURN_IF_ERROR(
      Text(writer, kTagBackingFilename, description.backing_name, description.backing_name_length));
  if (description.backing_format_length == 0) return Status::Ok();
  return Text(writer, kTagBackingFormat, description.backing_format,
              description.backing_format_length);
}

}  // namespace

Status InfoOperation(OperationContext& ctx) {
  INSTAR_ASSIGN_OR_RETURN(OpenedImage opened,
                          OpenUserImage(ctx, ImageOpenFlags{BackingChain::kSkip, true}));
  Image* image = opened.image;
  // bdrv_query_image_info() asks for the length first.
  if (const QemuLength length = image->Length(); !length.ok) {
    ctx.error.Clear();
    ctx.error.Append("qemu-img: Can't get image size '").Append(ctx.config.filename).Append('\'');
    if (length.error_number != 0) {
      ctx.error.Append(": ");
      AppendStrError(ctx.error, length.error_number);
    }
    return Status::OutOfRange("the image has no length qemu can give");
  }
  BlockDevice* file = &image->file();
  ResultWriter& writer = ctx.writer;
  const ImageDescription description = Describe(*image, ctx.compat);

  INSTAR_RETURN_IF_ERROR(writer.String(kTagFormat, ImageFormatName(image->format())));
  INSTAR_RETURN_IF_ERROR(writer.U64(kTagVirtualSize, image->VirtualSize()));
  if (description.has_driver_info) {
    if (description.cluster_size != 0) {
      INSTAR_RETURN_IF_ERROR(writer.U64(kTagClusterSize, description.cluster_size));
    }
    INSTAR_RETURN_IF_ERROR(writer.Bool(kTagDirtyFlag, description.dirty));
  }
  if (description.encrypted) INSTAR_RETURN_IF_ERROR(writer.Bool(kTagEncrypted, true));
  INSTAR_RETURN_IF_ERROR(WriteBacking(writer, description));
  // The format-specific part (qemu's ImageInfoSpecific) of whichever
  // driver has one.
  if (description.qcow2 != nullptr) {
    INSTAR_RETURN_IF_ERROR(WriteSnapshots(writer, *description.qcow2));
    INSTAR_RETURN_IF_ERROR(WriteQcow2(ctx, *description.qcow2));
  }
  if (description.vmdk != nullptr) INSTAR_RETURN_IF_ERROR(WriteVmdk(writer, *description.vmdk));
  return WriteChildren(writer, description.vmdk, file);
}

}  // namespace instar::guest
