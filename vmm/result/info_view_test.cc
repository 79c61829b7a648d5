// The info view on results a broken or hostile guest could send.
#include "vmm/result/info_view.h"

#include <string>

#include <gtest/gtest.h>

#include "instar/guest/info_result.h"
#include "vmm/testing/result_stream.h"

namespace instar::vmm {
namespace {

using namespace info_result;

constexpr uint32_t kOp = static_cast<uint32_t>(abi::Operation::kInfo);
// A tag no list of the info result defines.
constexpr uint16_t kUnknownTag = 200;

// Where a stream gets one record of kUnknownTag.
enum class Extra { kNone, kTop, kChild, kQcow2, kBitmap, kVmdk, kExtent };

void UnknownIf(guest::ResultWriter& w, bool here) {
  if (here) (void)w.U64(kUnknownTag, 1);
}

// A qcow2 image with one bitmap, as the guest writes it.
DecodedResult Qcow2Info(Extra extra) {
  return testing::DecodeWritten(kOp, [extra](guest::ResultWriter& w) {
    (void)w.String(kTagFormat, "qcow2");
    (void)w.U64(kTagVirtualSize, 1 << 20);
    (void)w.U64(kTagClusterSize, 65536);
    (void)w.Bool(kTagDirtyFlag, false);
    (void)w.Begin(kTagChild);
    (void)w.String(kTagChildName, "file");
    (void)w.U64(kTagChildDevice, 0);
    UnknownIf(w, extra == Extra::kChild);
    (void)w.End();
    (void)w.Begin(kTagQcow2);
    (void)w.String(kTagQcow2Compat, "1.1");
    (void)w.U64(kTagQcow2RefcountBits, 16);
    (void)w.String(kTagQcow2CompressionType, "zlib");
    (void)w.Begin(kTagQcow2Bitmap);
    (void)w.String(kTagBitmapName, "b0");
    (void)w.U64(kTagBitmapGranularity, 65536);
    (void)w.U64(kTagBitmapFlags, 0);
    UnknownIf(w, extra == Extra::kBitmap);
    (void)w.End();
    UnknownIf(w, extra == Extra::kQcow2);
    (void)w.End();
    UnknownIf(w, extra == Extra::kTop);
  });
}

// A vmdk image with one sparse extent.
DecodedResult VmdkInfo(Extra extra) {
  return testing::DecodeWritten(kOp, [extra](guest::ResultWriter& w) {
    (void)w.String(kTagFormat, "vmdk");
    (void)w.U64(kTagVirtualSize, 1 << 20);
    (void)w.Begin(kTagChild);
    (void)w.String(kTagChildName, "file");
    (void)w.U64(kTagChildDevice, 0);
    (void)w.End();
    (void)w.Begin(kTagVmdk);
    (void)w.String(kTagVmdkCreateType, "monolithicSparse");
    (void)w.U64(kTagVmdkCid, 1);
    (void)w.U64(kTagVmdkParentCid, 0xffffffff);
    (void)w.Begin(kTagVmdkExtent);
    (void)w.U64(kTagExtentDevice, 0);
    (void)w.String(kTagExtentFormat, "SPARSE");
    (void)w.U64(kTagExtentVirtualSize, 1 << 20);
    (void)w.U64(kTagExtentClusterSize, 65536);
    UnknownIf(w, extra == Extra::kExtent);
    (void)w.End();
    UnknownIf(w, extra == Extra::kVmdk);
    (void)w.End();
  });
}

TEST(InfoViewTest, ReadsWhatTheGuestWrites) {
  InfoView view;
  std::string error;
  ASSERT_TRUE(ReadInfoView(Qcow2Info(Extra::kNone), &view, &error)) << error;
  EXPECT_EQ(view.format, "qcow2");
  EXPECT_EQ(view.cluster_size, 65536u);
  ASSERT_EQ(view.children.size(), 1u);
  EXPECT_EQ(view.children[0].name, "file");
  ASSERT_TRUE(view.qcow2.has_value());
  ASSERT_EQ(view.qcow2->bitmaps.size(), 1u);
  EXPECT_EQ(view.qcow2->bitmaps[0].name, "b0");

  InfoView vmdk;
  ASSERT_TRUE(ReadInfoView(VmdkInfo(Extra::kNone), &vmdk, &error)) << error;
  ASSERT_TRUE(vmdk.vmdk.has_value());
  ASSERT_EQ(vmdk.vmdk->extents.size(), 1u);
  EXPECT_EQ(vmdk.vmdk->extents[0].format, "SPARSE");
}

// A field the host does not know is refused at every level of the result.
TEST(InfoViewTest, RejectsUnknownFieldsAtEveryLevel) {
  const struct {
    Extra extra;
    const char* error;
  } cases[] = {
      {Extra::kTop, "the result has an unknown field 200"},
      {Extra::kChild, "the child has an unknown field 200"},
      {Extra::kQcow2, "the qcow2 information has an unknown field 200"},
      {Extra::kBitmap, "the bitmap has an unknown field 200"},
      {Extra::kVmdk, "the vmdk information has an unknown field 200"},
      {Extra::kExtent, "the extent has an unknown field 200"},
  };
  for (const auto& c : cases) {
    const bool vmdk = c.extra == Extra::kVmdk || c.extra == Extra::kExtent;
    InfoView view;
    std::string error;
    EXPECT_FALSE(ReadInfoView(vmdk ? VmdkInfo(c.extra) : Qcow2Info(c.extra), &view, &error))
        << c.error;
    EXPECT_EQ(error, c.error);
  }
}

// Why ReadInfoView refuses the stream `fill` writes; "" when it reads.
std::string Refusal(void (*fill)(guest::ResultWriter&)) {
  InfoView view;
  return testing::Refusal(ReadInfoView, kOp, fill, &view);
}

TEST(InfoViewTest, RejectsRepeatedMistypedOrMissingFields) {
  EXPECT_EQ(Refusal([](guest::ResultWriter& w) {
              (void)w.String(kTagFormat, "raw");
              (void)w.String(kTagFormat, "raw");
            }),
            "the result has a malformed format");
  EXPECT_EQ(Refusal([](guest::ResultWriter& w) {
              (void)w.String(kTagFormat, "raw");
              (void)w.Bool(kTagVirtualSize, true);
            }),
            "the result has a malformed virtual size");
  EXPECT_EQ(Refusal([](guest::ResultWriter& w) {
              (void)w.String(kTagFormat, "raw");
              (void)w.U64(kTagVirtualSize, 512);
            }),
            "the result has no file child");
  EXPECT_EQ(Refusal([](guest::ResultWriter& w) {
              (void)w.Bytes(kTagFormat, "r\0w", 3);
              (void)w.U64(kTagVirtualSize, 512);
            }),
            "the result has a malformed format");
}

}  // namespace
}  // namespace instar::vmm
