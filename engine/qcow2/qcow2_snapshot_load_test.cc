// Qcow2Image::LoadSnapshotTemporarily() over the corpus's
// qcow2-snapshots3.qcow2 (cases/images/manifest.json gives its recipe:
// snapshot "one" after writing 0-64k, "two" after 0-64k and 1M+64k, "three"
// after 1M+64k again, 0-64k zeroed and 8M+192k, then 15M+64k written) and
// qcow2-snapshot.qcow2 ("first", "second").
#include <gtest/gtest.h>

#include "qcow2/qcow2_test_util.h"

namespace instar {
namespace {

using qcow2_testing::OpenCorpusQcow2;

Qcow2Text T(const char* text) { return Qcow2Text{text, std::strlen(text)}; }

// The mapping type at guest offset `offset`.
Qcow2SubclusterType TypeAt(Qcow2Image& image, uint64_t offset) {
  Result<Qcow2Mapping> mapping = image.GetHostOffset(offset, 512);
  EXPECT_TRUE(mapping.ok()) << mapping.status().message();
  return mapping.ok() ? mapping->type : Qcow2SubclusterType::kInvalid;
}

constexpr uint64_t kMiB = 1 << 20;

TEST(Qcow2SnapshotLoadTest, EachSnapshotReadsItsOwnL1) {
  auto active = OpenCorpusQcow2("qcow2-snapshots3");
  ASSERT_TRUE(active->ok()) << active->status.message();
  EXPECT_EQ(TypeAt(*active->image, 15 * kMiB), Qcow2SubclusterType::kNormal);

  auto one = OpenCorpusQcow2("qcow2-snapshots3");
  ASSERT_TRUE(one->image->LoadSnapshotTemporarily(Qcow2Text{}, T("one")).ok());
  EXPECT_EQ(TypeAt(*one->image, 0), Qcow2SubclusterType::kNormal);
  EXPECT_EQ(TypeAt(*one->image, kMiB), Qcow2SubclusterType::kUnallocatedPlain);
  EXPECT_EQ(TypeAt(*one->image, 15 * kMiB), Qcow2SubclusterType::kUnallocatedPlain);
  EXPECT_EQ(one->image->VirtualSize(), 16 * kMiB);

  auto two = OpenCorpusQcow2("qcow2-snapshots3");
  ASSERT_TRUE(two->image->LoadSnapshotTemporarily(T("2"), Qcow2Text{}).ok());
  EXPECT_EQ(TypeAt(*two->image, kMiB), Qcow2SubclusterType::kNormal);
  EXPECT_EQ(TypeAt(*two->image, 8 * kMiB), Qcow2SubclusterType::kUnallocatedPlain);

  auto three = OpenCorpusQcow2("qcow2-snapshots3");
  ASSERT_TRUE(three->image->LoadSnapshotTemporarily(T("3"), T("three")).ok());
  EXPECT_NE(TypeAt(*three->image, 0), Qcow2SubclusterType::kNormal);  // zeroed
  EXPECT_EQ(TypeAt(*three->image, 8 * kMiB), Qcow2SubclusterType::kNormal);
  EXPECT_EQ(TypeAt(*three->image, 15 * kMiB), Qcow2SubclusterType::kUnallocatedPlain);
}

TEST(Qcow2SnapshotLoadTest, NotFoundIsQemusWords) {
  auto opened = OpenCorpusQcow2("qcow2-snapshot");
  ASSERT_TRUE(opened->ok());
  // Both given: both must match the same snapshot.
  Status s = opened->image->LoadSnapshotTemporarily(T("1"), T("second"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_STREQ(s.message(), "Can't find snapshot");
  EXPECT_FALSE(opened->image->LoadSnapshotTemporarily(T("first"), Qcow2Text{}).ok());
  EXPECT_FALSE(opened->image->LoadSnapshotTemporarily(Qcow2Text{}, T("")).ok());
  EXPECT_TRUE(opened->image->LoadSnapshotTemporarily(Qcow2Text{}, T("first")).ok());
}

}  // namespace
}  // namespace instar
