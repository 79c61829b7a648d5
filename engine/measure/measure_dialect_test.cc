// Where each of measure's version rules turns. What the rules produce is
// held to the baselines of every version by conform (cases/measure.json);
// this pins the boundaries between the versions of the matrix, which the
// baselines cannot name, and that the option tables agree with the dialect.
#include "instar/engine/measure_dialect.h"

#include <gtest/gtest.h>

#include <cstring>

#include "instar/engine/format_driver.h"

namespace instar {
namespace {

TEST(MeasureDialectTest, SizeSyntaxPerGeneration) {
  EXPECT_EQ(MeasureDialectFor({5, 2, 0}).size_syntax, MeasureSizeSyntax::kStrtod);
  EXPECT_EQ(MeasureDialectFor({6, 0, 0}).size_syntax, MeasureSizeSyntax::kFixedPoint);
  EXPECT_EQ(MeasureDialectFor({7, 2, 22}).size_syntax, MeasureSizeSyntax::kFixedPoint);
  EXPECT_EQ(MeasureDialectFor({8, 0, 0}).size_syntax, MeasureSizeSyntax::kStrictFixedPoint);
  EXPECT_EQ(MeasureDialectFor({11, 1, 3}).size_syntax, MeasureSizeSyntax::kStrictFixedPoint);
}

TEST(MeasureDialectTest, ImageSizeErrorWording) {
  EXPECT_EQ(MeasureDialectFor({5, 2, 0}).image_size_error, ImageSizeErrorWording::kSuffixList);
  EXPECT_EQ(MeasureDialectFor({7, 2, 18}).image_size_error, ImageSizeErrorWording::kSuffixList);
  EXPECT_EQ(MeasureDialectFor({8, 0, 0}).image_size_error,
            ImageSizeErrorWording::kQuotedWithPeriod);
  EXPECT_EQ(MeasureDialectFor({10, 0, 13}).image_size_error,
            ImageSizeErrorWording::kQuotedWithPeriod);
  EXPECT_EQ(MeasureDialectFor({10, 1, 0}).image_size_error, ImageSizeErrorWording::kQuoted);
  EXPECT_EQ(MeasureDialectFor({11, 1, 2}).image_size_error, ImageSizeErrorWording::kQuoted);
}

TEST(MeasureDialectTest, DetachedHeaderFromNine) {
  EXPECT_FALSE(MeasureDialectFor({7, 2, 22}).luks_refuses_detached_header);
  EXPECT_FALSE(MeasureDialectFor({8, 2, 6}).luks_refuses_detached_header);
  EXPECT_TRUE(MeasureDialectFor({9, 0, 0}).luks_refuses_detached_header);
  EXPECT_TRUE(MeasureDialectFor({10, 0, 2}).luks_refuses_detached_header);
}

TEST(MeasureDialectTest, VmdkToolsVersionFromSixOne) {
  EXPECT_FALSE(MeasureDialectFor({5, 2, 0}).vmdk_descriptor_has_tools_version);
  EXPECT_FALSE(MeasureDialectFor({6, 0, 9}).vmdk_descriptor_has_tools_version);
  EXPECT_TRUE(MeasureDialectFor({6, 1, 0}).vmdk_descriptor_has_tools_version);
  EXPECT_TRUE(MeasureDialectFor({7, 2, 18}).vmdk_descriptor_has_tools_version);
}

TEST(MeasureDialectTest, ObjectsFromSixAreKeyvalMadeAtOnce) {
  EXPECT_EQ(MeasureDialectFor({5, 2, 0}).object_syntax, ObjectSyntax::kQemuOpts);
  EXPECT_EQ(MeasureDialectFor({6, 0, 0}).object_syntax, ObjectSyntax::kKeyval);
  EXPECT_EQ(MeasureDialectFor({7, 2, 18}).object_syntax, ObjectSyntax::kKeyval);
  EXPECT_EQ(MeasureDialectFor({5, 2, 0}).secret_loaded, SecretLoadedProperty::kWritable);
  EXPECT_EQ(MeasureDialectFor({7, 2, 22}).secret_loaded, SecretLoadedProperty::kReadOnly);
  EXPECT_EQ(MeasureDialectFor({10, 0, 2}).secret_loaded, SecretLoadedProperty::kAbsent);
  EXPECT_EQ(MeasureDialectFor({5, 2, 0}).object_types, ObjectTypeList::kV5_2);
  EXPECT_EQ(MeasureDialectFor({7, 2, 22}).object_types, ObjectTypeList::kV7_2);
  EXPECT_EQ(MeasureDialectFor({11, 1, 3}).object_types, ObjectTypeList::kV10_0);
  EXPECT_FALSE(MeasureDialectFor({5, 2, 0}).enum_error_names_parameter);
  EXPECT_TRUE(MeasureDialectFor({7, 2, 18}).enum_error_names_parameter);
  EXPECT_FALSE(MeasureDialectFor({5, 2, 0}).warns_short_form_booleans);
  EXPECT_TRUE(MeasureDialectFor({6, 0, 0}).warns_short_form_booleans);
}

TEST(MeasureDialectTest, CryptoNames) {
  EXPECT_TRUE(MeasureDialectFor({5, 2, 0}).cipher_des_is_des_rfb);
  EXPECT_FALSE(MeasureDialectFor({7, 2, 22}).cipher_des_is_des_rfb);
  EXPECT_FALSE(MeasureDialectFor({7, 2, 22}).has_sm4_cipher);
  EXPECT_TRUE(MeasureDialectFor({10, 0, 2}).has_sm4_cipher);
  EXPECT_FALSE(MeasureDialectFor({10, 0, 2}).luks_has_sm4);
  EXPECT_TRUE(MeasureDialectFor({10, 0, 13}).luks_has_sm4);
  EXPECT_TRUE(MeasureDialectFor({11, 1, 2}).luks_has_sm4);
  EXPECT_FALSE(MeasureDialectFor({7, 2, 22}).has_sm3_hash);
  EXPECT_TRUE(MeasureDialectFor({10, 0, 2}).has_sm3_hash);
}

TEST(MeasureDialectTest, TableRulesCompareTheRelease) {
  const MeasureDialect five = MeasureDialectFor({5, 2, 0});
  const MeasureDialect seven = MeasureDialectFor({7, 2, 22});
  EXPECT_TRUE(five.HasOptionSince(0, 0));
  EXPECT_TRUE(five.HasDriverSince(0));
  EXPECT_FALSE(five.HasDriverSince(6));
  EXPECT_TRUE(seven.HasDriverSince(6));
  EXPECT_FALSE(seven.HasOptionSince(9, 0));
  EXPECT_TRUE(MeasureDialectFor({9, 0, 0}).HasOptionSince(9, 0));
}

// vmdk's option table and the dialect name the same release for
// toolsversion: the option and its descriptor line come together.
TEST(MeasureDialectTest, VmdkTableAgreesOnToolsVersion) {
  const FormatDriver* vmdk = FindFormatDriver(ImageFormat::kVmdk);
  ASSERT_NE(vmdk, nullptr);
  bool found = false;
  for (size_t i = 0; i < vmdk->create_options.count; ++i) {
    const CreateOption& option = vmdk->create_options.options[i];
    if (std::strcmp(option.name, "toolsversion") != 0) continue;
    found = true;
    EXPECT_EQ(option.since_major, kVmdkToolsVersionSince.major);
    EXPECT_EQ(option.since_minor, kVmdkToolsVersionSince.minor);
  }
  EXPECT_TRUE(found);
  for (const QemuVersion& v : {QemuVersion{5, 2, 0}, QemuVersion{6, 1, 0}, QemuVersion{7, 2, 22}}) {
    const MeasureDialect d = MeasureDialectFor(v);
    EXPECT_EQ(d.HasOptionSince(kVmdkToolsVersionSince.major, kVmdkToolsVersionSince.minor),
              d.vmdk_descriptor_has_tools_version);
  }
}

// The dialect is constexpr so the freestanding guest can use it.
static_assert(MeasureDialectFor(QemuVersion{5, 2, 0}).size_syntax == MeasureSizeSyntax::kStrtod);
static_assert(!MeasureDialectFor(QemuVersion{8, 2, 0}).luks_refuses_detached_header);

}  // namespace
}  // namespace instar
