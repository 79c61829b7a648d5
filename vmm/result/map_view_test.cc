// The map view on results a broken or hostile guest could send.
#include "vmm/result/map_view.h"

#include <string>

#include <gtest/gtest.h>

#include "instar/engine/bytes.h"
#include "instar/guest/map_result.h"
#include "vmm/testing/result_stream.h"

namespace instar::vmm {
namespace {

using namespace map_result;

constexpr uint32_t kOp = static_cast<uint32_t>(abi::Operation::kMap);

struct Packed {
  uint64_t start = 0;
  uint64_t length = 65536;
  uint64_t offset = 327680;
  uint32_t depth = 0;
  uint32_t device = 0;
  uint32_t flags = kExtentPresent | kExtentData | kExtentHasOffset;
};

void Write(guest::ResultWriter& w, const Packed& p, size_t size = kExtentBytes) {
  uint8_t bytes[kExtentBytes + 8] = {};
  StoreLE64(bytes, p.start);
  StoreLE64(bytes + 8, p.length);
  StoreLE64(bytes + 16, p.offset);
  StoreLE32(bytes + 24, p.depth);
  StoreLE32(bytes + 28, p.device);
  StoreLE32(bytes + 32, p.flags);
  (void)w.Bytes(kTagExtent, bytes, size);
}

std::string Refusal(const std::function<void(guest::ResultWriter&)>& fill,
                    MapView* view = nullptr) {
  MapView unused;
  return testing::Refusal(ReadMapView, kOp, fill, view != nullptr ? view : &unused);
}

TEST(MapViewTest, ReadsExtentsAndFailure) {
  MapView view;
  ASSERT_EQ(Refusal(
                [](guest::ResultWriter& w) {
                  Write(w, Packed{});
                  Packed next;
                  next.start = 65536;
                  next.device = kNoDevice;
                  next.flags = kExtentZero;
                  Write(w, next);
                  (void)w.String(kTagFailure, "qemu-img: Could not read file metadata");
                },
                &view),
            "");
  ASSERT_EQ(view.extents.size(), 2u);
  EXPECT_TRUE(view.extents[0].data && view.extents[0].present && view.extents[0].has_offset);
  EXPECT_EQ(view.extents[0].device, 0u);
  EXPECT_EQ(view.extents[0].offset, 327680u);
  EXPECT_FALSE(view.extents[1].device.has_value());
  EXPECT_TRUE(view.extents[1].zero);
  EXPECT_EQ(view.failure, "qemu-img: Could not read file metadata");
}

TEST(MapViewTest, RefusesMalformedExtents) {
  // Cut short, unknown flags, a file without an offset, a device past the
  // table, extents with a gap, an empty extent after the first.
  EXPECT_NE(Refusal([](guest::ResultWriter& w) { Write(w, Packed{}, kExtentBytes - 4); }), "");
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              Packed p;
              p.flags |= 1u << 7;
              Write(w, p);
            }),
            "");
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              Packed p;
              p.flags = kExtentData;
              Write(w, p);
            }),
            "");
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              Packed p;
              p.device = abi::kMaxDevices;
              Write(w, p);
            }),
            "");
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              Write(w, Packed{});
              Packed p;
              p.start = 65537;
              Write(w, p);
            }),
            "");
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              Write(w, Packed{});
              Packed p;
              p.start = 65536;
              p.length = 0;
              Write(w, p);
            }),
            "");
  // An extent reaching past 2^64.
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              Packed p;
              p.start = UINT64_MAX;
              Write(w, p);
            }),
            "");
  // No extent and no failure: img_map() always prints one.
  EXPECT_NE(Refusal([](guest::ResultWriter&) {}), "");
  // Unknown tags are refused, as by every view.
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              Write(w, Packed{});
              (void)w.U64(99, 1);
            }),
            "");
}

}  // namespace
}  // namespace instar::vmm
