// The map result, read from a decoded stream (map_result.h).
#ifndef INSTAR_VMM_RESULT_MAP_VIEW_H_
#define INSTAR_VMM_RESULT_MAP_VIEW_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vmm/result/result_decoder.h"

namespace instar::vmm {

struct MapExtentView {
  uint64_t start = 0;
  uint64_t length = 0;
  uint64_t offset = 0;  // meaningful with has_offset
  uint32_t depth = 0;
  std::optional<uint32_t> device;  // the file qemu names; only with has_offset
  bool present = false;
  bool zero = false;
  bool data = false;
  bool compressed = false;
  bool has_offset = false;
};

struct MapView {
  std::vector<MapExtentView> extents;
  // The walk stopped: what qemu-img printed on stderr there.
  std::optional<std::string> failure;
};

// False, with *error set, when a field is missing, repeated or mistyped,
// an extent is malformed (unknown flags, a device without an offset) or
// the extents do not follow each other (each starts where the one before
// ended), or there are more than map_result::kMaxExtents.
bool ReadMapView(const DecodedResult& result, MapView* out, std::string* error);

// Whether every device an extent names is below `count`, the number of
// files the run had open; the view is malformed otherwise.
bool DevicesWithin(const MapView& view, size_t count);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RESULT_MAP_VIEW_H_
