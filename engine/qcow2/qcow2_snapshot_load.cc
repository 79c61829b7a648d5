// Qcow2Image::LoadSnapshotTemporarily(): qemu's qcow2_snapshot_load_tmp()
// (block/qcow2-snapshot.c), which `qemu-img measure -l` and `convert -l`
// use to read an internal snapshot: find it (find_snapshot_by_id_and_name),
// check its L1 table as qcow2_validate_table() does, read it, and make it
// the image's L1 table. Nothing else changes: the virtual size, the L2
// tables (read through the same cache, keyed by offset) and the bitmaps
// stay the image's.
#include "instar/engine/bytes.h"
#include "instar/engine/qcow2.h"

namespace instar {

namespace {

constexpr uint64_t kMaxL1Bytes = 32ull << 20;  // QCOW_MAX_L1_SIZE

enum class Match : uint8_t { kNo, kYes, kUnknown };

// strcmp() of the snapshot's string with `wanted`. The cursor keeps the
// string cut at its first NUL and at `capacity - 1` bytes; when it was cut
// by the capacity, only a longer `wanted` or one equal to the kept part can
// tell nothing.
Match Compare(Qcow2Text kept, uint16_t stored_size, size_t capacity, Qcow2Text wanted) {
  const bool whole = kept.size < capacity - 1 || stored_size <= kept.size;
  if (whole) {
    return kept.size == wanted.size && BytesEqual(kept.data, wanted.data, kept.size) ? Match::kYes
                                                                                     : Match::kNo;
  }
  if (wanted.size < kept.size || !BytesEqual(kept.data, wanted.data, kept.size)) return Match::kNo;
  return Match::kUnknown;
}

Match Both(Match a, Match b) {
  if (a == Match::kNo || b == Match::kNo) return Match::kNo;
  if (a == Match::kUnknown || b == Match::kUnknown) return Match::kUnknown;
  return Match::kYes;
}

}  // namespace

Status Qcow2Image::LoadSnapshotTemporarily(Qcow2Text id, Qcow2Text name) {
  if (!id.present() && !name.present()) {
    return Status::InvalidArgument("snapshot_id and name are both NULL");
  }
  Qcow2SnapshotCursor cursor(*this);
  Qcow2Snapshot snapshot;
  bool found = false;
  while (!found) {
    INSTAR_ASSIGN_OR_RETURN(const bool more, cursor.Next(&snapshot));
    if (!more) break;
    Match match = Match::kYes;
    if (id.present()) match = Both(match, Compare(snapshot.id, snapshot.id_size, 128, id));
    if (name.present()) match = Both(match, Compare(snapshot.name, snapshot.name_size, 256, name));
    if (match == Match::kUnknown) {
      return Status::NotSupported(
          "instar cannot match a snapshot id longer than 127 bytes or a name longer than 255");
    }
    found = match == Match::kYes;
  }
  if (!found) return Status::InvalidArgument("Can't find snapshot");

  // qcow2_validate_table(..., L1E_SIZE, QCOW_MAX_L1_SIZE, "Snapshot L1 table").
  const uint64_t entries = snapshot.l1_size;
  if (entries > kMaxL1Bytes / 8) return Status::OutOfRange("Snapshot L1 table too large");
  const uint64_t offset = snapshot.l1_table_offset;
  if (uint64_t{INT64_MAX} - entries * 8 < offset || (offset & (cluster_size() - 1)) != 0) {
    return Status::InvalidArgument("Snapshot L1 table offset invalid");
  }
  // bdrv_pread() of the whole table: refused where the block layer refuses
  // the range; past the end of the file it reads zeros.
  if (entries > 0 && !CheckReadRange(offset, entries * 8).ok()) {
    return Status::IOError("Failed to read l1 table for snapshot");
  }
  header_.l1_table_offset = offset;
  header_.l1_size = snapshot.l1_size;
  return Status::Ok();
}

}  // namespace instar
