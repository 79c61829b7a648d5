// The lists a qcow2 image carries: the snapshot table (qcow2-snapshot.c
// qcow2_do_read_snapshots()), the bitmap directory (qcow2-bitmap.c
// bitmap_list_load()) and the feature name table extension.
#include "instar/engine/bytes.h"
#include "instar/engine/qcow2.h"
#include "qcow2/qcow2_internal.h"

namespace instar {

namespace {

// Reads up to `capacity - 1` bytes of a `size`-byte string at `offset` into
// `buffer`, cut at the first NUL as qemu's pstrcpy()/g_strndup() cut it.
Status ReadCutString(Qcow2Image& image, Status (Qcow2Image::*read)(uint64_t, void*, size_t),
                     uint64_t offset, uint64_t size, char* buffer, size_t capacity,
                     Qcow2Text* out) {
  size_t wanted = size < capacity - 1 ? static_cast<size_t>(size) : capacity - 1;
  INSTAR_RETURN_IF_ERROR((image.*read)(offset, buffer, wanted));
  size_t length = 0;
  while (length < wanted && buffer[length] != '\0') ++length;
  buffer[length] = '\0';
  out->data = buffer;
  out->size = length;
  return Status::Ok();
}

}  // namespace

Status Qcow2Image::ReadSnapshotEntry(uint64_t* offset, Qcow2Snapshot* out, char* id_buffer,
                                     char* name_buffer) {
  uint64_t at = AlignUp(*offset, 8);
  uint8_t header[40];
  if (!ReadMetadata(at, header, sizeof(header)).ok()) {
    return Status::IOError("Failed to read snapshot table: Input/output error");
  }
  at += sizeof(header);
  out->l1_table_offset = LoadBE64(header);
  out->l1_size = LoadBE32(header + 8);
  out->id_size = LoadBE16(header + 12);
  out->name_size = LoadBE16(header + 14);
  out->date_sec = LoadBE32(header + 16);
  out->date_nsec = LoadBE32(header + 20);
  out->vm_clock_nsec = LoadBE64(header + 24);
  out->vm_state_size = LoadBE32(header + 32);
  out->extra_data_size = LoadBE32(header + 36);
  if (out->extra_data_size > qcow2_internal::kMaxSnapshotExtraData) {
    return Status::OutOfRange(
        "Too much extra metadata in snapshot table entry {}\n"
        "You can force-remove this extra metadata with qemu-img check -r all");
  }

  // The known part of the extra data: 64-bit VM state size, disk size, icount.
  uint8_t extra[24];
  FillBytes(extra, 0, sizeof(extra));
  const uint32_t known = out->extra_data_size < 24 ? out->extra_data_size : 24;
  if (!ReadMetadata(at, extra, known).ok())
    return Status::IOError("Failed to read snapshot table: Input/output error");
  at += known;
  if (out->extra_data_size >= 8) out->vm_state_size = LoadBE64(extra);
  out->disk_size = out->extra_data_size >= 16 ? LoadBE64(extra + 8) : virtual_size_;
  out->has_icount = false;
  out->icount = UINT64_MAX;
  if (out->extra_data_size >= 24) {
    out->icount = LoadBE64(extra + 16);
    out->has_icount = out->icount != UINT64_MAX;
  }
  if (out->extra_data_size > 24) {
    const uint64_t unknown = out->extra_data_size - 24;
    if (!CheckReadRange(at, unknown).ok())
      return Status::IOError("Failed to read snapshot table: Input/output error");
    at += unknown;
  }

  // QEMUSnapshotInfo holds the id in 128 bytes and the name in 256.
  if (!CheckReadRange(at, out->id_size).ok()) {
    return Status::IOError("Failed to read snapshot table: Input/output error");
  }
  INSTAR_RETURN_IF_ERROR(
      ReadCutString(*this, &Qcow2Image::ReadMetadata, at, out->id_size, id_buffer, 128, &out->id));
  at += out->id_size;
  if (!CheckReadRange(at, out->name_size).ok()) {
    return Status::IOError("Failed to read snapshot table: Input/output error");
  }
  INSTAR_RETURN_IF_ERROR(ReadCutString(*this, &Qcow2Image::ReadMetadata, at, out->name_size,
                                       name_buffer, 256, &out->name));
  at += out->name_size;
  *offset = at;
  return Status::Ok();
}

Status Qcow2Image::ReadBitmapEntry(uint64_t position, Qcow2Bitmap* out, char* name_buffer,
                                   uint64_t* next_position) {
  const uint64_t at = bitmap_directory_offset_ + position;
  uint8_t raw[24];
  INSTAR_RETURN_IF_ERROR(ReadMetadata(at, raw, sizeof(raw)));
  out->table_offset = LoadBE64(raw);
  out->table_size = LoadBE32(raw + 8);
  out->flags = LoadBE32(raw + 12);
  out->type = raw[16];
  out->granularity_bits = raw[17];
  out->name_size = LoadBE16(raw + 18);
  const uint32_t extra_size = LoadBE32(raw + 20);
  out->granularity = out->granularity_bits < 64 ? uint64_t{1} << out->granularity_bits : 0;
  INSTAR_RETURN_IF_ERROR(ReadCutString(*this, &Qcow2Image::ReadMetadata,
                                       at + sizeof(raw) + extra_size, out->name_size, name_buffer,
                                       1024, &out->name));
  out->loaded = true;
  *next_position = position + AlignUp(sizeof(raw) + uint64_t{out->name_size} + extra_size, 8);
  return Status::Ok();
}

Qcow2SnapshotCursor::Qcow2SnapshotCursor(Qcow2Image& image)
    : image_(&image), offset_(image.header_.snapshots_offset) {
  id_[0] = '\0';
  name_[0] = '\0';
}

Result<bool> Qcow2SnapshotCursor::Next(Qcow2Snapshot* out) {
  if (index_ >= image_->snapshot_count_) return false;
  INSTAR_RETURN_IF_ERROR(image_->ReadSnapshotEntry(&offset_, out, id_, name_));
  ++index_;
  return true;
}

Qcow2BitmapCursor::Qcow2BitmapCursor(Qcow2Image& image) : image_(&image) { name_[0] = '\0'; }

Result<bool> Qcow2BitmapCursor::Next(Qcow2Bitmap* out) {
  if (index_ >= image_->bitmap_count_) return false;
  uint64_t next = 0;
  INSTAR_RETURN_IF_ERROR(image_->ReadBitmapEntry(offset_, out, name_, &next));
  if (image_->bitmap_skipped_ != nullptr &&
      (image_->bitmap_skipped_[index_ / 8] & (1u << (index_ % 8))) != 0) {
    out->loaded = false;
  }
  offset_ = next;
  ++index_;
  return true;
}

Qcow2FeatureNameCursor::Qcow2FeatureNameCursor(Qcow2Image& image) : image_(&image) {
  name_[0] = '\0';
}

Result<bool> Qcow2FeatureNameCursor::Next(Qcow2FeatureName* out) {
  if (index_ >= image_->feature_name_count_) return false;
  uint8_t raw[48];
  INSTAR_RETURN_IF_ERROR(
      image_->ReadMetadata(image_->feature_table_offset_ + uint64_t{index_} * 48, raw, 48));
  out->type = raw[0];
  out->bit = raw[1];
  size_t length = 0;
  while (length < 46 && raw[2 + length] != 0) {
    name_[length] = static_cast<char>(raw[2 + length]);
    ++length;
  }
  name_[length] = '\0';
  out->name.data = name_;
  out->name.size = length;
  ++index_;
  return true;
}

}  // namespace instar
