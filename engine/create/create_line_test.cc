// The Formatting line's options for the formats whose writers are not in
// instar yet (raw's is held to live qemu-img by vmm/cli/create_cli_test.cc).
// Each expected text is what qemu-img-binaries/x86_64/{5.2.0,7.2.22,
// 10.0.13,11.1.3}/qemu-img create printed after "fmt=F " for the same
// options, identical in the four.
#include "instar/engine/create_line.h"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace instar {
namespace {

std::string Line(ImageFormat format, const char* options, uint64_t size,
                 QemuVersion compat = {11, 1, 3}) {
  std::vector<uint8_t> arena_bytes(1 << 16);
  Arena arena(arena_bytes.data(), arena_bytes.size());
  ParsedMeasureOptions parsed;
  MeasureError error;
  const Status s =
      ParseMeasureOptions(format, options, std::strlen(options), compat, arena, &parsed, &error);
  EXPECT_TRUE(s.ok()) << s.message();
  MeasureOptionValue& value = parsed.values[static_cast<size_t>(MeasureOptionKey::kSize)];
  if (!value.present) {
    value.present = true;
    value.number = size;
  }
  std::vector<char> buffer(FormatCreateOptions(parsed, compat, nullptr, 0) + 1);
  FormatCreateOptions(parsed, compat, buffer.data(), buffer.size());
  return std::string(buffer.data());
}

TEST(CreateLineTest, DefaultsInTheDriversOrder) {
  for (QemuVersion compat : {QemuVersion{5, 2, 0}, QemuVersion{7, 2, 22}, QemuVersion{11, 1, 3}}) {
    EXPECT_EQ(Line(ImageFormat::kQcow2, "", 1 << 20, compat),
              "cluster_size=65536 extended_l2=off compression_type=zlib size=1048576 "
              "lazy_refcounts=off refcount_bits=16");
    EXPECT_EQ(Line(ImageFormat::kVmdk, "", 1 << 20, compat),
              "size=1048576 compat6=off hwversion=undefined");
    EXPECT_EQ(Line(ImageFormat::kVpc, "", 1 << 20, compat), "size=1048576");
    EXPECT_EQ(Line(ImageFormat::kVhdx, "", 1 << 20, compat),
              "size=1048576 log_size=1048576 block_size=0");
    EXPECT_EQ(Line(ImageFormat::kRaw, "", 1 << 20, compat), "size=1048576");
  }
}

// Numbers and sizes print parsed; the file protocol's options come after
// the driver's, in their own order.
TEST(CreateLineTest, SetValues) {
  EXPECT_EQ(Line(ImageFormat::kQcow2, "cluster_size=0x1000,refcount_bits=0x10", 1 << 20),
            "cluster_size=4096 extended_l2=off compression_type=zlib size=1048576 "
            "lazy_refcounts=off refcount_bits=16");
  EXPECT_EQ(Line(ImageFormat::kQcow2,
                 "cluster_size=4k,lazy_refcounts=on,compat=0.10,backing_file=q.qcow2,"
                 "backing_fmt=qcow2",
                 1 << 20),
            "cluster_size=4096 extended_l2=off compression_type=zlib size=1048576 compat=0.10 "
            "backing_file=q.qcow2 backing_fmt=qcow2 lazy_refcounts=on refcount_bits=16");
  EXPECT_EQ(Line(ImageFormat::kRaw, "preallocation=falloc,nocow=on", 1 << 20),
            "size=1048576 nocow=on preallocation=falloc");
  EXPECT_EQ(Line(ImageFormat::kRaw, "preallocation=full,extent_size_hint=0x10", 1 << 20),
            "size=1048576 preallocation=full extent_size_hint=16");
}

}  // namespace
}  // namespace instar
