// -l's snapshot, loaded into the opened source: qemu-img measure calls
// bdrv_snapshot_load_tmp() (snapshot.id/snapshot.name) or
// bdrv_snapshot_load_tmp_by_id_or_name() (a plain -l) right after opening
// the source, and reports a failure as "Failed to load snapshot: ...".
#include "instar/engine/format_driver.h"
#include "instar/engine/measure.h"
#include "instar/engine/qcow2.h"
#include "instar/engine/text_builder.h"
#include "measure/measure_internal.h"

namespace instar {

namespace {

Qcow2Text AsQcow2Text(MeasureText text) { return Qcow2Text{text.data, text.length}; }

Status LoadFailure(MeasureError* error, const Status& status) {
  error->kind = status.code() == StatusCode::kNotSupported ? MeasureErrorKind::kNotSupported
                                                           : MeasureErrorKind::kSnapshotLoad;
  error->detail = status.message();
  return status;
}

}  // namespace

Status LoadMeasureSnapshot(Image& image, const MeasureSnapshot& snapshot, MeasureError* error) {
  if (snapshot.kind == MeasureSnapshotKind::kNone) return Status::Ok();
  // qcow2 is the only driver of the matrix with bdrv_snapshot_load_tmp;
  // bdrv_snapshot_load_tmp() words the refusal with the driver's name.
  if (image.format() != ImageFormat::kQcow2) {
    const FormatDriver* driver = FindFormatDriver(image.format());
    const char* name = driver != nullptr ? driver->name : "";
    error->subject = MeasureText{name, BoundedLength(name, 32)};
    error->kind = MeasureErrorKind::kSnapshotUnsupported;
    return Status::NotSupported("the format cannot load internal snapshots");
  }
  auto& qcow2 = static_cast<Qcow2Image&>(image);
  Status status;
  if (snapshot.kind == MeasureSnapshotKind::kIdAndName) {
    status = qcow2.LoadSnapshotTemporarily(AsQcow2Text(snapshot.id), AsQcow2Text(snapshot.name));
  } else {
    // By id first; ENOENT or EINVAL (InvalidArgument) tries it as a name.
    status = qcow2.LoadSnapshotTemporarily(AsQcow2Text(snapshot.name), Qcow2Text{});
    if (status.code() == StatusCode::kInvalidArgument) {
      status = qcow2.LoadSnapshotTemporarily(Qcow2Text{}, AsQcow2Text(snapshot.name));
    }
  }
  if (!status.ok()) return LoadFailure(error, status);
  return Status::Ok();
}

}  // namespace instar
