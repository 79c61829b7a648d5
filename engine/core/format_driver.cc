// The driver table, and the format names and lookups built on it.
#include "instar/engine/format_driver.h"

#include "core/formats.h"
#include "instar/engine/bytes.h"

namespace instar {

namespace {

// In the order ProbeFormat() asks the probes: on equal scores the earlier
// driver wins. Only dmg (by name) and cloop can tie (2 each); qemu picks
// dmg. raw scores 1 and so wins only when nothing else matches.
constexpr const FormatDriver* kDrivers[] = {
    &kQcow2Driver, &kQcowDriver,  &kVmdkDriver, &kVpcDriver,   &kVhdxDriver,
    &kQedDriver,   &kVdiDriver,   &kLuksDriver, &kBochsDriver, &kParallelsDriver,
    &kDmgDriver,   &kCloopDriver, &kRawDriver,
};

}  // namespace

const FormatDriver* const* FormatDrivers(size_t* count) {
  *count = sizeof(kDrivers) / sizeof(kDrivers[0]);
  return kDrivers;
}

const FormatDriver* FindFormatDriver(ImageFormat format) {
  for (const FormatDriver* driver : kDrivers) {
    if (driver->format == format) return driver;
  }
  return nullptr;
}

const FormatDriver* FindFormatDriverByName(const char* name, size_t length) {
  if (name == nullptr) return nullptr;
  for (const FormatDriver* driver : kDrivers) {
    if (CStringEquals(driver->name, name, length)) return driver;
  }
  return nullptr;
}

const char* ImageFormatName(ImageFormat format) {
  const FormatDriver* driver = FindFormatDriver(format);
  return driver != nullptr ? driver->name : "";
}

ImageFormat ImageFormatFromDriverName(const char* name, size_t length) {
  const FormatDriver* driver = FindFormatDriverByName(name, length);
  return driver != nullptr ? driver->format : ImageFormat::kUnknown;
}

ImageFormat ImageFormatFromName(const char* name, size_t length) {
  // qemu-img has no "vhd" driver, but users say vhd for vpc images.
  if (name != nullptr && length == 3 && BytesEqual(name, "vhd", 3)) return kVpcDriver.format;
  return ImageFormatFromDriverName(name, length);
}

bool IsSupportedFormat(ImageFormat format) {
  const FormatDriver* driver = FindFormatDriver(format);
  return driver != nullptr && driver->open != nullptr;
}

}  // namespace instar
