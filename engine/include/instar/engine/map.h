// Map: the extents `qemu-img map` prints, walked as qemu-img.c's img_map()
// walks them (get_block_status() per run, entry_mergeable() to coalesce).
//
// Contract:
//  * MapBlockStatus() asks the top image and, where it leaves a run
//    unallocated, each image below it in the opened backing chain
//    (Image::backing()), one LayerBlockStatus() each; the depth is the
//    number of images it went down.
//  * WalkMap() hands the sink each merged extent as soon as qemu-img would
//    print it, i.e. when the next run does not merge with it, and the last
//    one when the walk is over. On a failure it returns the Status without
//    handing over the extent still being merged: qemu-img printed the
//    extents before it, then its error.
//  * Merging follows the JSON output's rules. The human output coalesces
//    more (it treats every run it does not print as zero), but only among
//    the runs it does not print: the printed ones (data, not zero) are the
//    same extents either way, so the host renders both outputs from this
//    one walk (docs/instar.md, "map").
//  * Nothing is allocated; memory is what the image readers hold.
#ifndef INSTAR_ENGINE_MAP_H_
#define INSTAR_ENGINE_MAP_H_

#include <cstdint>

#include "instar/engine/device.h"
#include "instar/engine/image.h"
#include "instar/engine/map_dialect.h"
#include "instar/engine/status.h"
#include "instar/engine/version.h"

namespace instar {

// qemu-img.c's MapEntry.
struct MapEntry {
  uint64_t start = 0;
  uint64_t length = 0;
  uint64_t offset = 0;  // in `file`, when has_offset
  uint32_t depth = 0;   // images below the top that the run comes from
  bool present = false;
  bool zero = false;
  bool data = false;
  bool compressed = false;
  bool has_offset = false;
  // The file whose name qemu prints (its "filename"): set only together
  // with has_offset, and only when the layer named one.
  BlockDevice* file = nullptr;
};

// get_block_status(): the run at `offset`, at most `bytes` long, of `top`
// and its backing chain. `offset` < top.VirtualSize(), `bytes` > 0.
Result<MapEntry> MapBlockStatus(Image& top, uint64_t offset, uint64_t bytes,
                                const QemuVersion& compat);

// entry_mergeable(): whether `next` continues `current`.
bool MapEntriesMergeable(const MapEntry& current, const MapEntry& next, const MapDialect& dialect);

// Where WalkMap() hands the extents.
class MapSink {
 public:
  // An extent qemu-img prints now. A failure stops the walk and is
  // returned by WalkMap().
  virtual Status Extent(const MapEntry& entry) = 0;

 protected:
  ~MapSink() = default;
};

// What img_map() walks: from `start` (--start-offset) to the end of the
// image, or to `start` + `max_length` (--max-length) when that is sooner.
struct MapRange {
  uint64_t start = 0;
  bool has_max_length = false;
  uint64_t max_length = 0;
};

// img_map()'s loop. Both numbers are at most INT64_MAX (qemu-img's
// cvtnum()); when their sum is not, qemu's int64_t wraps negative and
// nothing is walked, as there.
Status WalkMap(Image& top, const MapRange& range, const QemuVersion& compat, MapSink& sink);

}  // namespace instar

#endif  // INSTAR_ENGINE_MAP_H_
