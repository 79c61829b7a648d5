// `qemu-img map`'s walk: qemu-img.c's get_block_status(), entry_mergeable()
// and the loop of img_map(), over the engine's block status.
#include "instar/engine/map.h"

namespace instar {

using namespace block_status;

Result<MapEntry> MapBlockStatus(Image& top, uint64_t offset, uint64_t bytes,
                                const QemuVersion& compat) {
  // Down the chain until an image has the run as data or zeros; each asked
  // over the run the one above left unallocated.
  uint32_t depth = 0;
  Image* image = &top;
  BlockStatus status;
  for (;;) {
    INSTAR_ASSIGN_OR_RETURN(status, LayerBlockStatus(*image, offset, bytes, compat));
    // qemu asserts progress; an image below that ends before the run does
    // (an unaligned raw backing file) would trip it.
    if (status.bytes == 0) return Status::Corruption("block status made no progress");
    bytes = status.bytes;
    if ((status.flags & (kZero | kData)) != 0) break;
    image = image->backing();
    if (image == nullptr) {
      // The bottom left it unallocated without calling it zeros (a format
      // that does not support backing files): nothing at all.
      status.flags = 0;
      break;
    }
    ++depth;
  }
  MapEntry entry;
  entry.start = offset;
  entry.length = bytes;
  entry.depth = depth;
  entry.present = (status.flags & kAllocated) != 0;
  entry.zero = (status.flags & kZero) != 0;
  entry.data = (status.flags & kData) != 0;
  entry.compressed = (status.flags & kCompressed) != 0;
  entry.has_offset = (status.flags & kOffsetValid) != 0;
  // qemu-img reads `map` whatever the flags say; it is printed only with
  // has_offset.
  entry.offset = entry.has_offset ? status.map : 0;
  entry.file = entry.has_offset ? status.file : nullptr;
  return entry;
}

bool MapEntriesMergeable(const MapEntry& current, const MapEntry& next, const MapDialect& dialect) {
  if (current.length == 0) return false;
  if (current.zero != next.zero || current.data != next.data || current.depth != next.depth ||
      current.has_offset != next.has_offset || current.file != next.file) {
    return false;
  }
  if (dialect.has_present && current.present != next.present) return false;
  if (dialect.has_compressed && current.compressed != next.compressed) return false;
  // A mapped run continues only where the last one ended in the file.
  return !current.has_offset || current.offset + current.length == next.offset;
}

Status WalkMap(Image& top, const MapRange& range, const QemuVersion& compat, MapSink& sink) {
  const MapDialect dialect = MapDialectFor(compat);
  constexpr uint64_t kInt64Max = 0x7fffffffffffffffull;
  uint64_t end = top.VirtualSize();
  bool walk = true;
  if (range.has_max_length) {
    if (range.start > kInt64Max || range.max_length > kInt64Max ||
        range.max_length > kInt64Max - range.start) {
      walk = false;  // qemu's sum wraps negative: the loop never runs
    } else if (range.start + range.max_length < end) {
      end = range.start + range.max_length;
    }
  }
  MapEntry current;
  current.start = range.start;
  while (walk && current.start + current.length < end) {
    const uint64_t offset = current.start + current.length;
    INSTAR_ASSIGN_OR_RETURN(MapEntry next, MapBlockStatus(top, offset, end - offset, compat));
    if (MapEntriesMergeable(current, next, dialect)) {
      current.length += next.length;
      continue;
    }
    if (current.length > 0) INSTAR_RETURN_IF_ERROR(sink.Extent(current));
    current = next;
  }
  // The last extent; when the walk started at or past the end, qemu-img
  // prints the empty one it started with.
  return sink.Extent(current);
}

}  // namespace instar
