// `qemu-img map`: the extents of the image the user named, with their depth
// in its backing chain, walked as img_map() walks them (instar/engine/map.h)
// and written as map_result.h records. The image is opened as qemu-img map
// opens it: with its backing chain and its data file. How each version
// prints the extents is the host's business (vmm/render/map_render.h).
#include "instar/engine/format_driver.h"
#include "instar/engine/map.h"
#include "instar/guest/map_result.h"
#include "instar/guest/transport_device.h"
#include "ops/operation.h"

namespace instar::guest {

namespace {

using namespace map_result;

// Writes each extent the walk hands over, up to kMaxExtents.
class ExtentWriter final : public MapSink {
 public:
  explicit ExtentWriter(ResultWriter& writer) : writer_(writer) {}

  Status Extent(const MapEntry& entry) override {
    if (count_ == kMaxExtents) {
      stopped_at_ = entry.start;
      return Status::OutOfRange("too many extents");
    }
    uint8_t packed[kExtentBytes];
    StoreLE64(packed, entry.start);
    StoreLE64(packed + 8, entry.length);
    StoreLE64(packed + 16, entry.offset);
    StoreLE32(packed + 24, entry.depth);
    // Every device the guest holds is a TransportDevice (OpenUserImage(),
    // TransportDeviceOpener).
    StoreLE32(packed + 28, entry.file != nullptr
                               ? static_cast<TransportDevice*>(entry.file)->device()
                               : kNoDevice);
    uint32_t flags = 0;
    if (entry.present) flags |= kExtentPresent;
    if (entry.zero) flags |= kExtentZero;
    if (entry.data) flags |= kExtentData;
    if (entry.compressed) flags |= kExtentCompressed;
    if (entry.has_offset) flags |= kExtentHasOffset;
    StoreLE32(packed + 32, flags);
    INSTAR_RETURN_IF_ERROR(writer_.Bytes(kTagExtent, packed, sizeof(packed)));
    ++count_;
    return Status::Ok();
  }

  // Where the walk was when the cap stopped it; only after a kOutOfRange.
  bool capped() const { return count_ == kMaxExtents && stopped_at_ != kNotStopped; }
  uint64_t stopped_at() const { return stopped_at_; }

 private:
  static constexpr uint64_t kNotStopped = UINT64_MAX;
  ResultWriter& writer_;
  uint64_t count_ = 0;
  uint64_t stopped_at_ = kNotStopped;
};

// qemu's strerror() of the errno a failed block status returns: -EIO for
// everything the readers report as an I/O error (corruption included);
// instar's own words otherwise.
void AppendReason(TextBuilder& text, const Status& status) {
  if (status.code() == StatusCode::kIOError) {
    text.Append("Input/output error");
  } else {
    text.Append(status.message());
  }
}

}  // namespace

Status MapOperation(OperationContext& ctx) {
  INSTAR_ASSIGN_OR_RETURN(OpenedImage opened,
                          OpenUserImage(ctx, ImageOpenFlags{BackingChain::kOpen, false}));
  const abi::MapConfig& m = ctx.config.map;
  MapRange range;
  range.start = m.start_offset;
  range.has_max_length = m.has_max_length != 0;
  range.max_length = m.max_length;

  // img_map() prints its head, then asks for the length.
  if (!opened.image->Length().ok) {
    char text[640];
    TextBuilder failure(text, sizeof(text));
    failure.Append("qemu-img: Failed to get size for '").Append(ctx.config.filename).Append('\'');
    return ctx.writer.Bytes(kTagFailure, failure.c_str(), failure.length());
  }
  ExtentWriter extents(ctx.writer);
  const Status walked = WalkMap(*opened.image, range, ctx.compat, extents);
  if (walked.ok()) return Status::Ok();
  if (!ctx.writer.status().ok()) return ctx.writer.status();

  char text[2048];
  TextBuilder failure(text, sizeof(text));
  if (extents.capped()) {
    failure.Append("qemu-img: the map has more than ")
        .AppendDecimal(kMaxExtents)
        .Append(" extents, more than instar returns at once; map the rest with --start-offset ")
        .AppendDecimal(extents.stopped_at());
  } else {
    AppendCorruptionReports(failure, *opened.image);
    failure.Append("qemu-img: Could not read file metadata: ");
    AppendReason(failure, walked);
  }
  return ctx.writer.Bytes(kTagFailure, failure.c_str(), failure.length());
}

}  // namespace instar::guest
