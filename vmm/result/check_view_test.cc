// The check view on results a broken or hostile guest could send.
#include "vmm/result/check_view.h"

#include <string>

#include <gtest/gtest.h>

#include "instar/guest/check_result.h"
#include "vmm/testing/result_stream.h"

namespace instar::vmm {
namespace {

using namespace check_result;

constexpr uint32_t kOp = static_cast<uint32_t>(abi::Operation::kCheck);

void Counters(guest::ResultWriter& w, uint64_t corruptions = 0) {
  (void)w.U64(kTagCorruptions, corruptions);
  (void)w.U64(kTagLeaks, 1);
  (void)w.U64(kTagCheckErrors, 0);
  (void)w.U64(kTagImageEndOffset, 32768);
  (void)w.U64(kTagTotalClusters, 256);
  (void)w.U64(kTagAllocatedClusters, 2);
  (void)w.U64(kTagFragmentedClusters, 0);
  (void)w.U64(kTagCompressedClusters, 0);
}

std::string Refusal(const std::function<void(guest::ResultWriter&)>& fill,
                    CheckView* view = nullptr) {
  CheckView unused;
  return testing::Refusal(ReadCheckView, kOp, fill, view != nullptr ? view : &unused);
}

TEST(CheckViewTest, ReadsCountersAndLog) {
  CheckView view;
  ASSERT_EQ(Refusal(
                [](guest::ResultWriter& w) {
                  (void)w.String(kTagFormat, "qcow2");
                  (void)w.String(kTagLog, "Leaked cluster 7 refcount=1 reference=0\n");
                  Counters(w);
                },
                &view),
            "");
  EXPECT_EQ(view.outcome, CheckView::Outcome::kChecked);
  EXPECT_EQ(view.format, "qcow2");
  EXPECT_EQ(view.log, "Leaked cluster 7 refcount=1 reference=0\n");
  EXPECT_EQ(view.counters.leaks, 1u);
  EXPECT_EQ(view.counters.image_end_offset, 32768u);
}

TEST(CheckViewTest, ReadsNotSupportedAndFailure) {
  CheckView view;
  ASSERT_EQ(Refusal(
                [](guest::ResultWriter& w) {
                  (void)w.String(kTagFormat, "raw");
                  (void)w.Bool(kTagNotSupported, true);
                },
                &view),
            "");
  EXPECT_EQ(view.outcome, CheckView::Outcome::kNotSupported);
  CheckView failed;
  ASSERT_EQ(Refusal(
                [](guest::ResultWriter& w) {
                  (void)w.String(kTagFormat, "vmdk");
                  (void)w.String(kTagFailure, "Invalid argument");
                },
                &failed),
            "");
  EXPECT_EQ(failed.outcome, CheckView::Outcome::kFailed);
  EXPECT_EQ(failed.failure, "Invalid argument");
}

TEST(CheckViewTest, RefusesHostileResults) {
  // No format.
  EXPECT_NE(Refusal([](guest::ResultWriter& w) { Counters(w); }), "");
  // Two outcomes at once.
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              (void)w.String(kTagFormat, "qcow2");
              (void)w.String(kTagFailure, "Invalid argument");
              Counters(w);
            }),
            "");
  // No outcome.
  EXPECT_NE(Refusal([](guest::ResultWriter& w) { (void)w.String(kTagFormat, "qcow2"); }), "");
  // A counter missing.
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              (void)w.String(kTagFormat, "qcow2");
              (void)w.U64(kTagCorruptions, 0);
            }),
            "");
  // A counter qemu's int64_t cannot hold.
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              (void)w.String(kTagFormat, "qcow2");
              Counters(w, UINT64_MAX);
            }),
            "");
  // A log that does not end its line, an empty or multi-line failure, a
  // false not-supported mark, a field counted twice, an unknown tag.
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              (void)w.String(kTagFormat, "qcow2");
              (void)w.String(kTagLog, "ERROR cut");
              Counters(w);
            }),
            "");
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              (void)w.String(kTagFormat, "qcow2");
              (void)w.String(kTagFailure, "");
            }),
            "");
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              (void)w.String(kTagFormat, "qcow2");
              (void)w.String(kTagFailure, "Invalid\nargument");
            }),
            "");
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              (void)w.String(kTagFormat, "raw");
              (void)w.Bool(kTagNotSupported, false);
            }),
            "");
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              (void)w.String(kTagFormat, "qcow2");
              Counters(w);
              (void)w.U64(kTagLeaks, 2);
            }),
            "");
  EXPECT_NE(Refusal([](guest::ResultWriter& w) {
              (void)w.String(kTagFormat, "qcow2");
              Counters(w);
              (void)w.U64(99, 2);
            }),
            "");
}

}  // namespace
}  // namespace instar::vmm
