#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "instar/engine/image.h"
#include "testing/corpus.h"
#include "testing/memory_device.h"

namespace instar {
namespace {

using testing::MemoryDevice;

ImageFormat Probe(const std::vector<uint8_t>& bytes, const std::string& name = "image") {
  MemoryDevice device(bytes);
  auto format = ProbeFormat(device, name.data(), name.size());
  EXPECT_TRUE(format.ok()) << format.status().message();
  return format.ok() ? *format : ImageFormat::kUnknown;
}

// `head` at offset 0 of a 4 KiB file of zeros (size 0: exactly `head`).
std::vector<uint8_t> Header(const std::string& head, size_t size = 4096) {
  std::vector<uint8_t> bytes(size == 0 ? head.size() : size);
  std::memcpy(bytes.data(), head.data(), head.size());
  return bytes;
}

std::string Le32(uint32_t v) {
  return std::string{static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 24)};
}
std::string Be32(uint32_t v) {
  return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
}
std::string Padded(const std::string& s, size_t n) { return s + std::string(n - s.size(), '\0'); }

TEST(FormatNamesTest, RoundTrip) {
  for (ImageFormat f : {ImageFormat::kRaw, ImageFormat::kQcow2, ImageFormat::kVmdk,
                        ImageFormat::kVpc, ImageFormat::kVhdx, ImageFormat::kQed, ImageFormat::kVdi,
                        ImageFormat::kQcow, ImageFormat::kLuks, ImageFormat::kBochs,
                        ImageFormat::kCloop, ImageFormat::kDmg, ImageFormat::kParallels}) {
    const char* name = ImageFormatName(f);
    EXPECT_EQ(ImageFormatFromName(name, std::strlen(name)), f) << name;
  }
  EXPECT_STREQ(ImageFormatName(ImageFormat::kUnknown), "");
  EXPECT_EQ(ImageFormatFromName("vhd", 3), ImageFormat::kVpc);
  EXPECT_EQ(ImageFormatFromName("qcow22", 6), ImageFormat::kUnknown);
  EXPECT_EQ(ImageFormatFromName("qcow2", 4), ImageFormat::kQcow);
  EXPECT_EQ(ImageFormatFromName("", 0), ImageFormat::kUnknown);
  EXPECT_TRUE(IsSupportedFormat(ImageFormat::kVhdx));
  EXPECT_FALSE(IsSupportedFormat(ImageFormat::kQed));
  EXPECT_FALSE(IsSupportedFormat(ImageFormat::kUnknown));
}

// What `qemu-img info --output=json <file>` (10.0.13 and 5.2.0) printed as
// "format" for each corpus file.
TEST(ProbeTest, CorpusImagesProbeAsQemuProbesThem) {
  const std::pair<const char*, ImageFormat> expected[] = {
      {"qcow2-backing.qcow2", ImageFormat::kQcow2},
      {"qcow2-bitmap.qcow2", ImageFormat::kQcow2},
      {"qcow2-compressed.qcow2", ImageFormat::kQcow2},
      {"qcow2-empty.qcow2", ImageFormat::kQcow2},
      {"qcow2-extl2.qcow2", ImageFormat::kQcow2},
      {"qcow2-lazy-rb1.qcow2", ImageFormat::kQcow2},
      {"qcow2-snapshot.qcow2", ImageFormat::kQcow2},
      {"qcow2-v2.qcow2", ImageFormat::kQcow2},
      {"qcow2-v3-256k.qcow2", ImageFormat::kQcow2},
      {"qcow2-v3-4k.qcow2", ImageFormat::kQcow2},
      {"qcow2-v3-512.qcow2", ImageFormat::kQcow2},
      {"qcow2-v3-64k.qcow2", ImageFormat::kQcow2},
      {"qcow2-zero.qcow2", ImageFormat::kQcow2},
      {"qcow2-zstd.qcow2", ImageFormat::kQcow2},
      {"raw-sparse.raw", ImageFormat::kRaw},
      // A flat extent is just data.
      {"vmdk-flat-flat.vmdk", ImageFormat::kRaw},
      {"vmdk-flat.vmdk", ImageFormat::kVmdk},
      {"vmdk-sparse.vmdk", ImageFormat::kVmdk},
      {"vmdk-stream.vmdk", ImageFormat::kVmdk},
      {"vpc-dynamic.vhd", ImageFormat::kVpc},
      // A fixed VHD has its footer only at the end: qemu probes it as raw
      // ("file format: raw"), although the manifest calls it vpc.
      {"vpc-fixed.vhd", ImageFormat::kRaw},
      {"vhdx-block1m.vhdx", ImageFormat::kVhdx},
      {"vhdx-dynamic.vhdx", ImageFormat::kVhdx},
      {"vhdx-fixed.vhdx", ImageFormat::kVhdx},
  };
  for (const auto& [name, format] : expected) {
    const std::vector<uint8_t>& bytes = testing::CorpusBytes(name);
    ASSERT_FALSE(bytes.empty()) << name;
    EXPECT_EQ(Probe(bytes, name), format) << name;
  }
}

// Hand-made headers, each checked with `qemu-img info <file>` (10.0.13):
// the error names the driver that was picked, or it says "file format: raw".
TEST(ProbeTest, RecognisesEveryDriverQemuProbes) {
  // "QED cluster size is invalid"
  EXPECT_EQ(Probe(Header(std::string("QED\0", 4))), ImageFormat::kQed);
  // "unsupported VDI image (version 0.0)"
  EXPECT_EQ(Probe(Header(Padded("<<< x >>>", 64) + Le32(0xbeda107f))), ImageFormat::kVdi);
  // "Image size is too small (must be at least 2 bytes)"
  EXPECT_EQ(Probe(Header("QFI\xfb" + Be32(1))), ImageFormat::kQcow);
  // "Unsupported cluster size: 2^0"
  EXPECT_EQ(Probe(Header("QFI\xfb" + Be32(3))), ImageFormat::kQcow2);
  // "LUKS payload is overlapping with the header"; LUKS2 is raw.
  EXPECT_EQ(Probe(Header(std::string("LUKS\xba\xbe\x00\x01", 8))), ImageFormat::kLuks);
  EXPECT_EQ(Probe(Header(std::string("LUKS\xba\xbe\x00\x02", 8))), ImageFormat::kRaw);
  // "Extent size must be at least 512"; only growing redologs are bochs.
  const std::string bochs = Padded("Bochs Virtual HD Image", 32) + Padded("Redolog", 16);
  EXPECT_EQ(Probe(Header(bochs + Padded("Growing", 16) + Le32(0x20000))), ImageFormat::kBochs);
  EXPECT_EQ(Probe(Header(bochs + Padded("Growing", 16) + Le32(0x10000))), ImageFormat::kBochs);
  EXPECT_EQ(Probe(Header(bochs + Padded("Undoable", 16) + Le32(0x20000))), ImageFormat::kRaw);
  // "block_size cannot be zero"
  const std::string cloop =
      "#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n";
  EXPECT_EQ(Probe(Header(cloop)), ImageFormat::kCloop);
  // "Invalid image: Zero sectors per track" for both magics; version 3 is raw.
  EXPECT_EQ(Probe(Header("WithoutFreeSpace" + Le32(2))), ImageFormat::kParallels);
  EXPECT_EQ(Probe(Header("WithouFreSpacExt" + Le32(2))), ImageFormat::kParallels);
  EXPECT_EQ(Probe(Header("WithouFreSpacExt" + Le32(3))), ImageFormat::kRaw);
  // "Could not locate UDIF trailer in dmg file": by name only.
  EXPECT_EQ(Probe(Header(""), "dir/plain.dmg"), ImageFormat::kDmg);
  EXPECT_EQ(Probe(Header(""), ".dmg"), ImageFormat::kRaw);
  EXPECT_EQ(Probe(Header(""), "plain.DMG"), ImageFormat::kRaw);
  // dmg (2) wins a tie with cloop (2): `qemu-img info c.dmg` of a cloop
  // header fails with dmg's "Could not locate UDIF trailer".
  EXPECT_EQ(Probe(Header(cloop), "c.dmg"), ImageFormat::kDmg);
  // A qcow2 named .dmg is qcow2.
  EXPECT_EQ(Probe(Header("QFI\xfb" + Be32(3)), "x.dmg"), ImageFormat::kQcow2);
  // "Incorrect header checksum" / "No valid VHDX header found"
  EXPECT_EQ(Probe(Header("conectix")), ImageFormat::kVpc);
  EXPECT_EQ(Probe(Header("conectix", 0)), ImageFormat::kVpc);
  EXPECT_EQ(Probe(Header("vhdxfile")), ImageFormat::kVhdx);
  EXPECT_EQ(Probe(Header("KDMV")), ImageFormat::kVmdk);
  EXPECT_EQ(Probe(Header("COWD")), ImageFormat::kVmdk);
}

// vmdk_probe's text rules, each checked with `qemu-img info` (10.0.13):
// "invalid VMDK image descriptor" means vmdk was picked.
TEST(ProbeTest, VmdkDescriptorText) {
  EXPECT_EQ(Probe(Header("# Disk DescriptorFile\nversion=1\n")), ImageFormat::kVmdk);
  // Blank lines must start with a space; CRLF works.
  EXPECT_EQ(Probe(Header("# c\n   \r\nversion=2\r\n")), ImageFormat::kVmdk);
  EXPECT_EQ(Probe(Header("# c\n\nversion=1\n")), ImageFormat::kRaw);
  EXPECT_EQ(Probe(Header("version=4\n")), ImageFormat::kRaw);
  EXPECT_EQ(Probe(Header("version=3\n", 0)), ImageFormat::kVmdk);
  EXPECT_EQ(Probe(Header("version=3", 0)), ImageFormat::kRaw);
  // The probe sees only the first 512 bytes.
  EXPECT_EQ(Probe(Header("#" + std::string(600, 'x') + "\nversion=1\n")), ImageFormat::kRaw);
  EXPECT_EQ(Probe(Header("#" + std::string(400, 'x') + "\nversion=1\n")), ImageFormat::kVmdk);
  // A comment running to the end of the buffer.
  EXPECT_EQ(Probe(Header("#" + std::string(4000, 'x'))), ImageFormat::kRaw);
}

// find_image_format: an empty file is raw without probing, and a short one
// is probed as if padded with zeros (`qemu-img info` of a 3-byte "QFI" file
// says "file format: raw", of an 8-byte "conectix" file
// "Incorrect header checksum").
TEST(ProbeTest, TinyFiles) {
  EXPECT_EQ(Probe({}), ImageFormat::kRaw);
  EXPECT_EQ(Probe(Header("QFI", 0)), ImageFormat::kRaw);
  EXPECT_EQ(Probe({0}), ImageFormat::kRaw);
  EXPECT_EQ(Probe(Header("", 512)), ImageFormat::kRaw);
}

TEST(ProbeTest, NameWithNulStopsThere) {
  const std::string name("a.dmg\0.img", 10);
  MemoryDevice device(Header(""));
  auto format = ProbeFormat(device, name.data(), name.size());
  ASSERT_TRUE(format.ok());
  EXPECT_EQ(*format, ImageFormat::kDmg);
  auto unnamed = ProbeFormat(device, nullptr, 0);
  ASSERT_TRUE(unnamed.ok());
  EXPECT_EQ(*unnamed, ImageFormat::kRaw);
}

}  // namespace
}  // namespace instar
