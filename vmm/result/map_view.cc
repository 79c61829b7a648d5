// The map view over a decoded result (map_result.h), read like every other
// view through FieldReader.
#include "vmm/result/map_view.h"

#include "instar/engine/bytes.h"
#include "instar/guest/map_result.h"
#include "vmm/result/field_reader.h"

namespace instar::vmm {

namespace {

using namespace map_result;

bool ReadExtent(const std::string& b, MapExtentView* out) {
  if (b.size() != kExtentBytes) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(b.data());
  out->start = LoadLE64(p);
  out->length = LoadLE64(p + 8);
  out->offset = LoadLE64(p + 16);
  out->depth = LoadLE32(p + 24);
  const uint32_t device = LoadLE32(p + 28);
  const uint32_t flags = LoadLE32(p + 32);
  if ((flags & ~kExtentKnownFlags) != 0) return false;
  out->present = (flags & kExtentPresent) != 0;
  out->zero = (flags & kExtentZero) != 0;
  out->data = (flags & kExtentData) != 0;
  out->compressed = (flags & kExtentCompressed) != 0;
  out->has_offset = (flags & kExtentHasOffset) != 0;
  if (device != kNoDevice) {
    if (!out->has_offset || device >= abi::kMaxDevices) return false;
    out->device = device;
  }
  // Deeper than any chain the guest opens (kMaxBackingDepth) is malformed.
  return out->depth <= 64;
}

}  // namespace

bool ReadMapView(const DecodedResult& result, MapView* out, std::string* error) {
  FieldReader f(result.records, "result", error);
  const std::vector<const ResultRecord*> extents =
      f.All(kTagExtent, abi::RecordType::kBytes, "extent");
  f.Text(kTagFailure, "failure", &out->failure);
  if (!f.Done()) return false;
  if (extents.size() > kMaxExtents) {
    *error = "the result has more extents than a map may";
    return false;
  }
  for (const ResultRecord* record : extents) {
    MapExtentView extent;
    if (!ReadExtent(record->bytes, &extent)) {
      *error = "the result has a malformed extent";
      return false;
    }
    uint64_t end;
    if (__builtin_add_overflow(extent.start, extent.length, &end)) {
      *error = "the result has an extent past the end of any image";
      return false;
    }
    if (!out->extents.empty()) {
      const MapExtentView& last = out->extents.back();
      if (last.start + last.length != extent.start || extent.length == 0) {
        *error = "the result has extents that do not follow each other";
        return false;
      }
    }
    out->extents.push_back(extent);
  }
  if (out->extents.empty() && !out->failure) {
    // img_map() prints at least the extent it started with.
    *error = "the result has no extent";
    return false;
  }
  return true;
}

bool DevicesWithin(const MapView& view, size_t count) {
  for (const MapExtentView& extent : view.extents) {
    if (extent.device && *extent.device >= count) return false;
  }
  return true;
}

}  // namespace instar::vmm
