// The measure view on results a broken or hostile guest could send.
#include "vmm/result/measure_view.h"

#include <string>

#include <gtest/gtest.h>

#include "instar/guest/measure_result.h"
#include "vmm/testing/result_stream.h"

namespace instar::vmm {
namespace {

using namespace measure_result;

constexpr uint32_t kOp = static_cast<uint32_t>(abi::Operation::kMeasure);

// The two sizes every measure result has.
void Sizes(guest::ResultWriter& w) {
  (void)w.U64(kTagRequired, 393216);
  (void)w.U64(kTagFullyAllocated, 1074135040);
}

// Why ReadMeasureView refuses the stream `fill` writes; "" when it reads.
std::string Refusal(void (*fill)(guest::ResultWriter&), MeasureView* view = nullptr) {
  MeasureView unused;
  return testing::Refusal(ReadMeasureView, kOp, fill, view != nullptr ? view : &unused);
}

TEST(MeasureViewTest, ReadsTheFields) {
  MeasureView view;
  ASSERT_EQ(Refusal(Sizes, &view), "");
  EXPECT_EQ(view.required, 393216u);
  EXPECT_EQ(view.fully_allocated, 1074135040u);
  EXPECT_FALSE(view.bitmaps.has_value());
  const auto with_bitmaps = [](guest::ResultWriter& w) {
    Sizes(w);
    (void)w.U64(kTagBitmaps, 0);
  };
  ASSERT_EQ(Refusal(with_bitmaps, &view), "");
  EXPECT_EQ(view.bitmaps, 0u);
  EXPECT_FALSE(view.warnings.has_value());
  const auto with_warnings = [](guest::ResultWriter& w) {
    (void)w.Bytes(kTagWarnings, "qemu-img: warning: w\n", 21);
    Sizes(w);
  };
  ASSERT_EQ(Refusal(with_warnings, &view), "");
  EXPECT_EQ(view.warnings, "qemu-img: warning: w\n");
}

TEST(MeasureViewTest, RejectsMissingMistypedOrRepeatedFields) {
  EXPECT_EQ(Refusal([](guest::ResultWriter& w) { (void)w.U64(kTagRequired, 1); }),
            "the result has no fully allocated size");
  EXPECT_EQ(Refusal([](guest::ResultWriter& w) {
              (void)w.String(kTagRequired, "1");
              (void)w.U64(kTagFullyAllocated, 1);
            }),
            "the result has a malformed required size");
  EXPECT_EQ(Refusal([](guest::ResultWriter& w) {
              Sizes(w);
              (void)w.U64(kTagRequired, 2);
            }),
            "the result has a malformed required size");
  EXPECT_EQ(Refusal([](guest::ResultWriter& w) {
              Sizes(w);
              (void)w.Bool(kTagBitmaps, true);
            }),
            "the result has a malformed bitmaps size");
}

// A field the host does not know is refused, a number or an object: the
// host never prints half of what the guest meant.
TEST(MeasureViewTest, RejectsUnknownFields) {
  EXPECT_EQ(Refusal([](guest::ResultWriter& w) {
              Sizes(w);
              (void)w.U64(kTagWarnings + 1, 1);
            }),
            "the result has an unknown field 20");
  EXPECT_EQ(Refusal([](guest::ResultWriter& w) {
              Sizes(w);
              (void)w.U64(kTagWarnings, 1);
            }),
            "the result has a malformed warnings");
  EXPECT_EQ(Refusal([](guest::ResultWriter& w) {
              Sizes(w);
              (void)w.Begin(40);
              (void)w.End();
            }),
            "the result has an unknown field 40");
}

}  // namespace
}  // namespace instar::vmm
