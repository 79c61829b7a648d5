#include "instar/engine/format_driver.h"

#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace instar {
namespace {

constexpr ImageFormat kFirst = ImageFormat::kRaw;
constexpr ImageFormat kLast = ImageFormat::kParallels;

std::string HookSet(const FormatDriver& driver) {
  std::string hooks;
  if (driver.open != nullptr) hooks += "open ";
  if (driver.describe != nullptr) hooks += "describe ";
  if (driver.create_options.options != nullptr) hooks += "create ";
  if (driver.measure != nullptr) hooks += "measure ";
  if (driver.predict_size != nullptr) hooks += "predict ";
  return hooks;
}

// One driver per format, found by its format and by its name.
TEST(FormatDriverTest, EveryFormatHasOneDriver) {
  size_t count = 0;
  const FormatDriver* const* drivers = FormatDrivers(&count);
  EXPECT_EQ(count, static_cast<size_t>(kLast) - static_cast<size_t>(kFirst) + 1);
  for (auto f = static_cast<uint8_t>(kFirst); f <= static_cast<uint8_t>(kLast); ++f) {
    const ImageFormat format = static_cast<ImageFormat>(f);
    const FormatDriver* driver = FindFormatDriver(format);
    ASSERT_NE(driver, nullptr) << int{f};
    EXPECT_EQ(driver->format, format);
    EXPECT_EQ(FindFormatDriverByName(driver->name, std::strlen(driver->name)), driver);
    // A prefix or an extension of the name is another name ("qcow" is a
    // driver of its own).
    EXPECT_NE(FindFormatDriverByName(driver->name, std::strlen(driver->name) - 1), driver);
    const std::string longer = std::string(driver->name) + "x";
    EXPECT_EQ(FindFormatDriverByName(longer.data(), longer.size()), nullptr);
    EXPECT_NE(driver->probe, nullptr) << driver->name;
  }
  EXPECT_EQ(FindFormatDriver(ImageFormat::kUnknown), nullptr);
  EXPECT_EQ(FindFormatDriverByName("vhd", 3), nullptr);  // a user's name, not qemu's
  // raw, the fallback of probing, is asked last.
  EXPECT_EQ(drivers[count - 1]->format, ImageFormat::kRaw);
}

// Which hooks each format has decides which commands refuse it, with
// qemu-img's "does not support" words.
TEST(FormatDriverTest, HooksMatchWhatQemuImgDoes) {
  EXPECT_EQ(HookSet(*FindFormatDriver(ImageFormat::kRaw)), "open create measure ");
  EXPECT_EQ(HookSet(*FindFormatDriver(ImageFormat::kQcow2)), "open describe create measure ");
  EXPECT_EQ(HookSet(*FindFormatDriver(ImageFormat::kVmdk)), "open describe create predict ");
  EXPECT_EQ(HookSet(*FindFormatDriver(ImageFormat::kVpc)), "open describe create predict ");
  EXPECT_EQ(HookSet(*FindFormatDriver(ImageFormat::kVhdx)), "open describe create predict ");
  EXPECT_EQ(HookSet(*FindFormatDriver(ImageFormat::kLuks)), "create measure ");
  EXPECT_EQ(HookSet(*FindFormatDriver(ImageFormat::kQed)), "create ");
  EXPECT_EQ(HookSet(*FindFormatDriver(ImageFormat::kBochs)), "");
  EXPECT_EQ(HookSet(*FindFormatDriver(ImageFormat::kCloop)), "");
  EXPECT_EQ(HookSet(*FindFormatDriver(ImageFormat::kDmg)), "");
}

}  // namespace
}  // namespace instar
