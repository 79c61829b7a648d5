// Helpers shared by the qcow2 and block-status tests (test code only), in
// their own namespace so they never collide with engine/testing/.
#ifndef INSTAR_ENGINE_QCOW2_QCOW2_TEST_UTIL_H_
#define INSTAR_ENGINE_QCOW2_QCOW2_TEST_UTIL_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "instar/engine/image.h"
#include "instar/engine/qcow2.h"
#include "testing/corpus.h"
#include "testing/memory_device.h"

namespace instar::qcow2_testing {

using testing::MapOpener;
using testing::MemoryDevice;

inline std::string SourcePath(const std::string& relative) {
  return std::string(INSTAR_SOURCE_ROOT) + "/" + relative;
}

inline std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline QemuVersion Version(const char* text) {
  auto v = ParseQemuVersion(text, std::strlen(text));
  return v.ok() ? *v : QemuVersion{};
}

// Loads a fixture stored by testdata/make-fixtures.sh: "ISPARSE1", the size
// (u64 LE), then (offset u64 LE, up to 4096 bytes) for every non-zero block.
inline MemoryDevice LoadSparseFixture(const std::string& path) {
  const std::string packed = ReadTextFile(path);
  std::vector<uint8_t> bytes;
  if (packed.size() < 16 || packed.compare(0, 8, "ISPARSE1") != 0) return MemoryDevice(bytes);
  auto u64 = [&](size_t at) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(packed[at + i]);
    return v;
  };
  const uint64_t size = u64(8);
  bytes.assign(size, 0);
  size_t at = 16;
  while (at + 8 <= packed.size()) {
    const uint64_t offset = u64(at);
    const size_t length = static_cast<size_t>(std::min<uint64_t>(4096, size - offset));
    std::memcpy(bytes.data() + offset, packed.data() + at + 8, length);
    at += 8 + length;
  }
  return MemoryDevice(std::move(bytes));
}

// `name` as a gtest parameter name: '-' and '.' become '_'.
inline std::string ParamName(std::string name) {
  for (char& c : name) {
    if (c == '-' || c == '.') c = '_';
  }
  return name;
}

// An arena over a heap buffer, and the image opened in it.
struct OpenedQcow2 {
  // The image's file and opener when OpenCorpusQcow2() made them.
  MemoryDevice device;
  MapOpener opener;
  std::vector<uint8_t> memory;
  std::unique_ptr<Arena> arena;
  Status status;
  Qcow2Image* image = nullptr;

  bool ok() const { return image != nullptr; }
};

// Opens `device` into `opened` with a fresh arena of `arena_bytes`.
inline void OpenQcow2Into(OpenedQcow2& opened, MemoryDevice& device, const char* compat,
                          DeviceOpener& opener, Qcow2OpenParams params, size_t arena_bytes) {
  opened.memory.resize(arena_bytes);
  opened.arena = std::make_unique<Arena>(opened.memory.data(), opened.memory.size());
  OpenOptions options;
  options.compat = Version(compat);
  Result<Qcow2Image*> image = OpenQcow2(device, opener, *opened.arena, options, params);
  if (image.ok()) {
    opened.image = *image;
  } else {
    opened.status = image.status();
  }
}

inline std::unique_ptr<OpenedQcow2> OpenQcow2For(MemoryDevice& device, const char* compat,
                                                 DeviceOpener& opener, Qcow2OpenParams params = {},
                                                 size_t arena_bytes = 1 << 20) {
  auto opened = std::make_unique<OpenedQcow2>();
  OpenQcow2Into(*opened, device, compat, opener, params, arena_bytes);
  return opened;
}

// Opens cases/images/<name>.qcow2 as `compat`'s qemu-img would; the result
// owns the file (`device`) and an empty opener.
inline std::unique_ptr<OpenedQcow2> OpenCorpusQcow2(const std::string& name,
                                                    const char* compat = "10.0.13",
                                                    Qcow2OpenParams params = {}) {
  auto opened = std::make_unique<OpenedQcow2>();
  opened->device = MemoryDevice::LoadFile(SourcePath("cases/images/" + name + ".qcow2"));
  OpenQcow2Into(*opened, opened->device, compat, opened->opener, params, 1 << 20);
  return opened;
}

// Whether cursor.Next() (of a Qcow2SnapshotCursor ...) filled *entry.
template <typename Cursor, typename Entry>
::testing::AssertionResult CursorNext(Cursor& cursor, Entry* entry) {
  auto more = cursor.Next(entry);
  if (!more.ok()) return ::testing::AssertionFailure() << more.status().message();
  if (!*more) return ::testing::AssertionFailure() << "the cursor has no more entries";
  return ::testing::AssertionSuccess();
}

// Whether `cursor` has nothing more to give.
template <typename Entry, typename Cursor>
::testing::AssertionResult CursorAtEnd(Cursor& cursor) {
  Entry entry;
  auto more = cursor.Next(&entry);
  if (!more.ok()) return ::testing::AssertionFailure() << more.status().message();
  if (*more) return ::testing::AssertionFailure() << "the cursor has another entry";
  return ::testing::AssertionSuccess();
}

// One line of `qemu-img map --output=json`; fields a version does not print
// are absent (has_* false).
struct MapEntry {
  uint64_t start = 0;
  uint64_t length = 0;
  bool has_present = false;
  bool present = false;
  bool zero = false;
  bool data = false;
  bool has_compressed = false;
  bool compressed = false;
  bool has_offset = false;
  uint64_t offset = 0;
};

inline bool JsonBool(const std::string& object, const std::string& key, bool* value) {
  const std::string needle = "\"" + key + "\": ";
  size_t at = object.find(needle);
  if (at == std::string::npos) return false;
  *value = object.compare(at + needle.size(), 4, "true") == 0;
  return true;
}

inline bool JsonNumber(const std::string& object, const std::string& key, uint64_t* value) {
  const std::string needle = "\"" + key + "\": ";
  size_t at = object.find(needle);
  if (at == std::string::npos) return false;
  *value = std::stoull(object.substr(at + needle.size()));
  return true;
}

// Parses the flat list qemu-img map prints (one object per line).
inline std::vector<MapEntry> ParseMapJson(const std::string& text) {
  std::vector<MapEntry> entries;
  size_t at = 0;
  while ((at = text.find('{', at)) != std::string::npos) {
    size_t end = text.find('}', at);
    std::string object = text.substr(at, end - at);
    MapEntry e;
    JsonNumber(object, "start", &e.start);
    JsonNumber(object, "length", &e.length);
    e.has_present = JsonBool(object, "present", &e.present);
    JsonBool(object, "zero", &e.zero);
    JsonBool(object, "data", &e.data);
    e.has_compressed = JsonBool(object, "compressed", &e.compressed);
    e.has_offset = JsonNumber(object, "offset", &e.offset);
    entries.push_back(e);
    at = end;
  }
  return entries;
}

// What qemu-img map's loop builds from block status: one entry per answer,
// merged with its predecessor when entry_mergeable() allows (5.2's does not
// look at "present", which it does not print).
inline Result<std::vector<MapEntry>> WalkMap(Image& image, const QemuVersion& compat) {
  const bool merge_on_present = compat.AtLeast(6, 0);
  std::vector<MapEntry> entries;
  const uint64_t length = image.VirtualSize();
  uint64_t offset = 0;
  while (offset < length) {
    Result<BlockStatus> status = BlockStatusAbove(image, offset, length - offset, compat);
    if (!status.ok()) return status.status();
    if (status->bytes == 0) return Status::Corruption("block status made no progress");
    MapEntry next;
    next.start = offset;
    next.length = status->bytes;
    next.present = (status->flags & block_status::kAllocated) != 0;
    next.zero = (status->flags & block_status::kZero) != 0;
    next.data = (status->flags & block_status::kData) != 0;
    next.compressed = (status->flags & block_status::kCompressed) != 0;
    next.has_offset = (status->flags & block_status::kOffsetValid) != 0;
    next.offset = next.has_offset ? status->map : 0;
    offset += status->bytes;
    if (!entries.empty()) {
      MapEntry& current = entries.back();
      if (current.zero == next.zero && current.data == next.data &&
          current.compressed == next.compressed &&
          (!merge_on_present || current.present == next.present) &&
          current.has_offset == next.has_offset &&
          (!current.has_offset || current.offset + current.length == next.offset)) {
        current.length += next.length;
        continue;
      }
    }
    entries.push_back(next);
  }
  return entries;
}

inline std::string Describe(const MapEntry& e) {
  std::ostringstream out;
  out << "{start " << e.start << " length " << e.length << " present " << e.present << " zero "
      << e.zero << " data " << e.data << " compressed " << e.compressed;
  if (e.has_offset) out << " offset " << e.offset;
  out << "}";
  return out.str();
}

}  // namespace instar::qcow2_testing

#endif  // INSTAR_ENGINE_QCOW2_QCOW2_TEST_UTIL_H_
