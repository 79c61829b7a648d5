// The compare view on results a broken or hostile guest could send, and
// the renderer on what the view lets through.
#include "vmm/result/compare_view.h"

#include <string>

#include <gtest/gtest.h>

#include "instar/guest/compare_result.h"
#include "vmm/render/compare_render.h"
#include "vmm/testing/result_stream.h"

namespace instar::vmm {
namespace {

using namespace compare_result;

constexpr uint32_t kOp = static_cast<uint32_t>(abi::Operation::kCompare);

std::string Refusal(const std::function<void(guest::ResultWriter&)>& fill,
                    CompareView* view = nullptr) {
  CompareView unused;
  return testing::Refusal(ReadCompareView, kOp, fill, view != nullptr ? view : &unused);
}

TEST(CompareViewTest, ReadsVerdictsAndRendersThemAsQemuImg) {
  CompareView view;
  ASSERT_EQ(Refusal(
                [](guest::ResultWriter& w) {
                  (void)w.Bool(kTagSizeWarning, true);
                  (void)w.U64(kTagVerdict, kContentMismatch);
                  (void)w.U64(kTagOffset, 512);
                },
                &view),
            "");
  CompareOutput out = RenderCompare(view, false);
  // baselines/compare-human/raw/*/empty-raw-vs-odd-raw.stdout.txt
  EXPECT_EQ(out.out, "Warning: Image size mismatch!\nContent mismatch at offset 512!\n");
  EXPECT_EQ(out.exit_code, 1);
  // -q: nothing on stdout, the same exit status.
  out = RenderCompare(view, true);
  EXPECT_EQ(out.out, "");
  EXPECT_EQ(out.exit_code, 1);

  view = CompareView{};
  ASSERT_EQ(Refusal([](guest::ResultWriter& w) { (void)w.U64(kTagVerdict, kIdentical); }, &view),
            "");
  EXPECT_EQ(RenderCompare(view, false).out, "Images are identical.\n");
  EXPECT_EQ(RenderCompare(view, false).exit_code, 0);

  view = CompareView{};
  ASSERT_EQ(Refusal(
                [](guest::ResultWriter& w) {
                  (void)w.U64(kTagVerdict, kStrictStatusMismatch);
                  (void)w.U64(kTagOffset, 0);
                },
                &view),
            "");
  // baselines/compare-human/qcow2/*/snapshots-vs-flattened-strict.stdout.txt
  EXPECT_EQ(RenderCompare(view, false).out, "Strict mode: Offset 0 block status mismatch!\n");

  view = CompareView{};
  ASSERT_EQ(Refusal(
                [](guest::ResultWriter& w) {
                  (void)w.String(kTagFailure, "qemu-img: Sector allocation test failed for a");
                  (void)w.U64(kTagFailureExit, 3);
                },
                &view),
            "");
  out = RenderCompare(view, false);
  EXPECT_EQ(out.out, "");
  EXPECT_EQ(out.err, "qemu-img: Sector allocation test failed for a");
  EXPECT_EQ(out.exit_code, 3);
}

TEST(CompareViewTest, RefusesMalformedResults) {
  // Neither a verdict nor a failure; both.
  EXPECT_NE(Refusal([](guest::ResultWriter&) {}), "");
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              (void)w.U64(kTagVerdict, kIdentical);
              (void)w.String(kTagFailure, "qemu-img: x");
              (void)w.U64(kTagFailureExit, 4);
            }),
            "");
  // An unknown verdict.
  EXPECT_NE(Refusal([](guest::ResultWriter& w) { (void)w.U64(kTagVerdict, 4); }), "");
  EXPECT_NE(Refusal([](guest::ResultWriter& w) { (void)w.U64(kTagVerdict, UINT64_MAX); }), "");
  // A mismatch without its offset; an offset a verdict does not name.
  EXPECT_NE(Refusal([](guest::ResultWriter& w) { (void)w.U64(kTagVerdict, kContentMismatch); }),
            "");
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              (void)w.U64(kTagVerdict, kIdentical);
              (void)w.U64(kTagOffset, 0);
            }),
            "");
  // An offset past INT64_MAX.
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              (void)w.U64(kTagVerdict, kContentMismatch);
              (void)w.U64(kTagOffset, 1ull << 63);
            }),
            "");
  // A repeated verdict; a mistyped one.
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              (void)w.U64(kTagVerdict, kIdentical);
              (void)w.U64(kTagVerdict, kIdentical);
            }),
            "");
  EXPECT_NE(Refusal([](guest::ResultWriter& w) { (void)w.String(kTagVerdict, "identical"); }), "");
  // A failure without its exit status, or with one qemu-img never uses here.
  EXPECT_NE(Refusal([](guest::ResultWriter& w) { (void)w.String(kTagFailure, "qemu-img: x"); }),
            "");
  for (uint64_t exit : {0ull, 1ull, 2ull, 5ull, 70ull}) {
    EXPECT_NE(Refusal([&](guest::ResultWriter& w) {
                (void)w.String(kTagFailure, "qemu-img: x");
                (void)w.U64(kTagFailureExit, exit);
              }),
              "")
        << exit;
  }
  // An exit status without a failure; a warning where strict mode stopped.
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              (void)w.U64(kTagVerdict, kIdentical);
              (void)w.U64(kTagFailureExit, 3);
            }),
            "");
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              (void)w.Bool(kTagSizeWarning, true);
              (void)w.U64(kTagVerdict, kStrictSizeMismatch);
            }),
            "");
  // A tag compare does not have.
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              (void)w.U64(kTagVerdict, kIdentical);
              (void)w.U64(99, 1);
            }),
            "");
}

}  // namespace
}  // namespace instar::vmm
