// Header parsing of every corpus qcow2 image. The expected values are what
//   qemu-img info -f qcow2 --output=json cases/images/<image>.qcow2
// printed with 10.0.13 (5.2.0, 7.2.x and 11.1.x print the same fields with
// the same values, except that 5.2.0 cannot open qcow2-zstd: "qcow2: unknown
// compression type: 1").
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "instar/engine/bytes.h"
#include "qcow2/qcow2_test_util.h"

namespace instar {
namespace {

using testing::MapOpener;
using testing::MemoryDevice;

std::string Text(const Qcow2Text& text) {
  return text.present() ? std::string(text.data, text.size) : std::string("<absent>");
}

struct InfoExpectation {
  const char* image;
  const char* compat;
  uint64_t cluster_size;
  uint64_t virtual_size;
  const char* compression_type;
  bool lazy_refcounts;
  uint32_t refcount_bits;
  bool extended_l2;
  const char* backing_file;  // "<absent>" when info prints none
  const char* backing_format;
  uint32_t snapshots;
  uint32_t bitmaps;
};

// From the `qemu-img info --output=json` outputs (10.0.13); "corrupt": false
// and "dirty-flag": false for all of them, no data file, no encryption.
const InfoExpectation kInfo[] = {
    {"qcow2-backing", "1.1", 65536, 67108864, "zlib", false, 16, false, "qcow2-v3-64k.qcow2",
     "qcow2", 0, 0},
    {"qcow2-bitmap", "1.1", 65536, 33554432, "zlib", false, 16, false, "<absent>", "<absent>", 0,
     2},
    {"qcow2-compressed", "1.1", 65536, 8388608, "zlib", false, 16, false, "<absent>", "<absent>", 0,
     0},
    {"qcow2-empty", "1.1", 65536, 1073741824, "zlib", false, 16, false, "<absent>", "<absent>", 0,
     0},
    {"qcow2-extl2", "1.1", 65536, 33554432, "zlib", false, 16, true, "<absent>", "<absent>", 0, 0},
    {"qcow2-lazy-rb1", "1.1", 65536, 16777216, "zlib", true, 1, false, "<absent>", "<absent>", 0,
     0},
    {"qcow2-snapshot", "1.1", 65536, 33554432, "zlib", false, 16, false, "<absent>", "<absent>", 2,
     0},
    {"qcow2-v2", "0.10", 65536, 67108864, "zlib", false, 16, false, "<absent>", "<absent>", 0, 0},
    {"qcow2-v3-256k", "1.1", 262144, 268435456, "zlib", false, 16, false, "<absent>", "<absent>", 0,
     0},
    {"qcow2-v3-4k", "1.1", 4096, 16777216, "zlib", false, 16, false, "<absent>", "<absent>", 0, 0},
    {"qcow2-v3-512", "1.1", 512, 4194304, "zlib", false, 16, false, "<absent>", "<absent>", 0, 0},
    {"qcow2-v3-64k", "1.1", 65536, 67108864, "zlib", false, 16, false, "<absent>", "<absent>", 0,
     0},
    {"qcow2-zero", "1.1", 65536, 67108864, "zlib", false, 16, false, "<absent>", "<absent>", 0, 0},
    {"qcow2-zstd", "1.1", 65536, 8388608, "zstd", false, 16, false, "<absent>", "<absent>", 0, 0},
};

class CorpusInfoTest : public ::testing::TestWithParam<InfoExpectation> {};

TEST_P(CorpusInfoTest, AccessorsMatchQemuImgInfo) {
  const InfoExpectation& want = GetParam();
  auto opened = qcow2_testing::OpenCorpusQcow2(want.image, "10.0.13", {.no_io = true});
  ASSERT_TRUE(opened->ok()) << opened->status.message();
  Qcow2Image& image = *opened->image;
  EXPECT_STREQ(image.compat(), want.compat);
  EXPECT_EQ(image.version(), std::strcmp(want.compat, "0.10") == 0 ? 2u : 3u);
  EXPECT_EQ(image.cluster_size(), want.cluster_size);
  EXPECT_EQ(image.VirtualSize(), want.virtual_size);
  EXPECT_STREQ(image.compression_type_name(), want.compression_type);
  EXPECT_EQ(image.lazy_refcounts(), want.lazy_refcounts);
  EXPECT_EQ(image.refcount_bits(), want.refcount_bits);
  EXPECT_EQ(image.extended_l2(), want.extended_l2);
  EXPECT_FALSE(image.corrupt());
  EXPECT_FALSE(image.dirty());
  EXPECT_FALSE(image.encrypted());
  EXPECT_FALSE(image.has_external_data_file());
  EXPECT_FALSE(image.data_file_name().present());
  EXPECT_EQ(Text(image.backing_file()), want.backing_file);
  EXPECT_EQ(Text(image.backing_format()), want.backing_format);
  EXPECT_EQ(image.HasBacking(), std::string(want.backing_file) != "<absent>");
  EXPECT_EQ(image.snapshot_count(), want.snapshots);
  EXPECT_EQ(image.bitmap_count(), want.bitmaps);
  EXPECT_FALSE(image.bitmaps_extension_ignored());
  EXPECT_EQ(image.format(), ImageFormat::kQcow2);
  EXPECT_EQ(image.file().Size(), opened->device.Size());
  EXPECT_EQ(image.data_file(), &opened->device);
  EXPECT_EQ(image.first_corruption().kind, Qcow2CorruptionKind::kNone);
  // Memory stays small whatever the image: the reader's fixed cache plus names.
  EXPECT_LT(opened->arena->high_water(), 80u * 1024);
}

INSTANTIATE_TEST_SUITE_P(Corpus, CorpusInfoTest, ::testing::ValuesIn(kInfo),
                         [](const ::testing::TestParamInfo<InfoExpectation>& param_info) {
                           return qcow2_testing::ParamName(param_info.param.image);
                         });

TEST(Qcow2HeaderTest, RawHeaderFieldsOfTheV2Image) {
  auto opened = qcow2_testing::OpenCorpusQcow2("qcow2-v2");
  ASSERT_TRUE(opened->ok()) << opened->status.message();
  const Qcow2Header& h = opened->image->header();
  EXPECT_EQ(h.magic, qcow2::kMagic);
  EXPECT_EQ(h.version, 2u);
  EXPECT_EQ(h.cluster_bits, 16u);
  EXPECT_EQ(h.size, 67108864u);
  // What qemu assumes for a version 2 header.
  EXPECT_EQ(h.header_length, 72u);
  EXPECT_EQ(h.refcount_order, 4u);
  EXPECT_EQ(h.incompatible_features, 0u);
  EXPECT_EQ(h.compression_type, qcow2::kCompressionZlib);
}

// "snapshots" of `qemu-img info --output=json qcow2-snapshot.qcow2` (10.0.13):
//   {"icount": 0, "vm-clock-nsec": 0, "name": "first", "date-sec": 1795340848,
//    "date-nsec": 59292000, "vm-clock-sec": 0, "id": "1", "vm-state-size": 0},
//   {"icount": 0, "vm-clock-nsec": 0, "name": "second", "date-sec": 1795340848,
//    "date-nsec": 118726000, "vm-clock-sec": 0, "id": "2", "vm-state-size": 0}
TEST(Qcow2HeaderTest, SnapshotTable) {
  auto opened = qcow2_testing::OpenCorpusQcow2("qcow2-snapshot");
  ASSERT_TRUE(opened->ok()) << opened->status.message();
  Qcow2SnapshotCursor cursor(*opened->image);
  struct Want {
    const char* id;
    const char* name;
    uint32_t date_nsec;
  };
  const Want wants[] = {{"1", "first", 59292000}, {"2", "second", 118726000}};
  for (const Want& want : wants) {
    Qcow2Snapshot snapshot;
    ASSERT_TRUE(qcow2_testing::CursorNext(cursor, &snapshot));
    EXPECT_EQ(Text(snapshot.id), want.id);
    EXPECT_EQ(Text(snapshot.name), want.name);
    EXPECT_EQ(snapshot.date_sec, 1795340848u);
    EXPECT_EQ(snapshot.date_nsec, want.date_nsec);
    EXPECT_EQ(snapshot.vm_clock_nsec, 0u);
    EXPECT_EQ(snapshot.vm_state_size, 0u);
    EXPECT_TRUE(snapshot.has_icount);
    EXPECT_EQ(snapshot.icount, 0u);
    // The extra data records the disk size at snapshot time: the image was
    // never resized.
    EXPECT_EQ(snapshot.disk_size, opened->image->VirtualSize());
    EXPECT_EQ(snapshot.extra_data_size, 24u);
  }
  EXPECT_TRUE(qcow2_testing::CursorAtEnd<Qcow2Snapshot>(cursor));
}

// "bitmaps" of `qemu-img info --output=json qcow2-bitmap.qcow2` (10.0.13):
//   {"flags": ["auto"], "name": "b0", "granularity": 65536},
//   {"flags": [], "name": "b1", "granularity": 131072}
// and `qemu-img measure -O qcow2 qcow2-bitmap.qcow2` (10.0.13) printed
// "bitmaps size: 327680", which qcow2_get_persistent_dirty_bitmap_size()
// computes from the loaded bitmaps' name lengths and granularities.
TEST(Qcow2HeaderTest, BitmapDirectory) {
  auto opened = qcow2_testing::OpenCorpusQcow2("qcow2-bitmap");
  ASSERT_TRUE(opened->ok()) << opened->status.message();
  Qcow2Image& image = *opened->image;
  Qcow2BitmapCursor cursor(image);
  struct Want {
    const char* name;
    uint64_t granularity;
    bool auto_enabled;
  };
  const Want wants[] = {{"b0", 65536, true}, {"b1", 131072, false}};
  const uint64_t cluster = 65536;  // the measure target's default cluster size
  uint64_t bitmaps_size = 0;
  uint64_t directory_bytes = 0;
  for (const Want& want : wants) {
    Qcow2Bitmap bitmap;
    ASSERT_TRUE(qcow2_testing::CursorNext(cursor, &bitmap));
    EXPECT_EQ(Text(bitmap.name), want.name);
    EXPECT_EQ(bitmap.granularity, want.granularity);
    EXPECT_EQ(uint64_t{1} << bitmap.granularity_bits, want.granularity);
    EXPECT_EQ(bitmap.auto_enabled(), want.auto_enabled);
    EXPECT_FALSE(bitmap.in_use());
    EXPECT_TRUE(bitmap.loaded);
    EXPECT_EQ(bitmap.type, 1u);
    EXPECT_GT(bitmap.table_size, 0u);
    const uint64_t bits = DivRoundUp(image.VirtualSize(), bitmap.granularity);
    const uint64_t clusters = DivRoundUp(DivRoundUp(bits, 8), cluster);
    bitmaps_size += clusters * cluster + AlignUp(clusters * 8, cluster);
    directory_bytes += AlignUp(24 + bitmap.name.size, 8);
  }
  bitmaps_size += AlignUp(directory_bytes, cluster);
  EXPECT_EQ(bitmaps_size, 327680u);
  EXPECT_TRUE(qcow2_testing::CursorAtEnd<Qcow2Bitmap>(cursor));
}

// qemu-img 5.2.0 (Debian's build has no zstd) refuses the zstd image:
//   qemu-img: Could not open 'qcow2-zstd.qcow2': qcow2: unknown compression type: 1
TEST(Qcow2HeaderTest, ZstdNeedsAVersionThatHasIt) {
  auto old = qcow2_testing::OpenCorpusQcow2("qcow2-zstd", "5.2.0");
  ASSERT_FALSE(old->ok());
  char message[128];
  FormatStatusMessage(old->status, message, sizeof(message));
  EXPECT_STREQ(message, "qcow2: unknown compression type: 1");
  auto recent = qcow2_testing::OpenCorpusQcow2("qcow2-zstd", "7.2.22");
  EXPECT_TRUE(recent->ok());
}

TEST(Qcow2HeaderTest, FormatsCorruptionMessagesLikeQemu) {
  char text[256];
  Qcow2CorruptionEvent event;
  event.kind = Qcow2CorruptionKind::kL2TableUnaligned;
  event.a = 0x10200;
  event.b = 0;
  FormatQcow2Corruption(event, text, sizeof(text));
  EXPECT_STREQ(text, "L2 table offset 0x10200 unaligned (L1 index: 0)");
  event.kind = Qcow2CorruptionKind::kInvalidClusterEntry;
  event.a = 0x50000;
  event.b = 3;
  FormatQcow2Corruption(event, text, sizeof(text));
  EXPECT_STREQ(text, "Invalid cluster entry found  (L2 offset: 0x50000, L2 index: 0x3)");
  char tiny[8];
  EXPECT_EQ(FormatQcow2Corruption(event, tiny, sizeof(tiny)), 7u);
  EXPECT_STREQ(tiny, "Invalid");
}

}  // namespace
}  // namespace instar

namespace instar {
namespace {

// The external data file fixture (testdata/make-fixtures.sh):
// `qemu-img info --output=json datafile.qcow2` (10.0.13) prints
// "data-file": "datafile.raw" and "data-file-raw": true. 10.0.13 does not
// open the data file for info; 5.2.0 does, and so does every version when
// the image is opened for I/O.
TEST(Qcow2HeaderTest, ExternalDataFile) {
  const std::string fixtures = "engine/qcow2/testdata/fixtures/";
  MemoryDevice device = qcow2_testing::LoadSparseFixture(
      qcow2_testing::SourcePath(fixtures + "datafile.qcow2.sparse"));
  MemoryDevice data =
      qcow2_testing::LoadSparseFixture(qcow2_testing::SourcePath(fixtures + "datafile.raw.sparse"));
  MapOpener opener;
  opener.Add("datafile.raw", &data);

  auto info =
      qcow2_testing::OpenQcow2For(device, "10.0.13", opener, Qcow2OpenParams{.no_io = true});
  ASSERT_TRUE(info->ok()) << info->status.message();
  EXPECT_EQ(Text(info->image->data_file_name()), "datafile.raw");
  EXPECT_TRUE(info->image->has_external_data_file());
  EXPECT_TRUE(info->image->data_file_raw());
  EXPECT_EQ(info->image->data_file(), nullptr);
  EXPECT_EQ(opener.opened().size(), 0u);

  auto old_info =
      qcow2_testing::OpenQcow2For(device, "5.2.0", opener, Qcow2OpenParams{.no_io = true});
  ASSERT_TRUE(old_info->ok()) << old_info->status.message();
  EXPECT_EQ(old_info->image->data_file(), &data);
  EXPECT_EQ(opener.opened().size(), 1u);

  auto io = qcow2_testing::OpenQcow2For(device, "10.0.13", opener);
  ASSERT_TRUE(io->ok()) << io->status.message();
  EXPECT_EQ(io->image->data_file(), &data);
  auto status = io->image->DriverBlockStatus(true, 0, 4096);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->file, &data);

  // A data file that cannot be opened fails the open.
  MapOpener empty;
  auto missing = qcow2_testing::OpenQcow2For(device, "10.0.13", empty);
  ASSERT_FALSE(missing->ok());
  EXPECT_STREQ(missing->status.message(), "no such file");
}

// qemu writes a feature name table into every version 3 image it creates;
// `qemu-img info` does not print it, so check it against the bits qemu
// defines (block/qcow2.c qcow2_update_header: dirty, corrupt, external data
// file, compression type, extended L2 entries; lazy refcounts; bitmaps, raw
// external data).
TEST(Qcow2HeaderTest, FeatureNameTable) {
  auto opened = qcow2_testing::OpenCorpusQcow2("qcow2-v3-64k");
  ASSERT_TRUE(opened->ok());
  EXPECT_EQ(opened->image->feature_name_count(), 8u);
  Qcow2FeatureNameCursor cursor(*opened->image);
  std::vector<std::string> names;
  Qcow2FeatureName feature;
  while (*cursor.Next(&feature)) {
    names.push_back(std::to_string(feature.type) + "/" + std::to_string(feature.bit) + " " +
                    std::string(feature.name.data, feature.name.size));
  }
  const std::vector<std::string> want = {
      "0/0 dirty bit",        "0/1 corrupt bit",         "0/2 external data file",
      "0/3 compression type", "0/4 extended L2 entries", "1/0 lazy refcounts",
      "2/0 bitmaps",          "2/1 raw external data",
  };
  EXPECT_EQ(names, want);
}

}  // namespace
}  // namespace instar
