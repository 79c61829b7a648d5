// The pieces of `qemu-img info` output, against what qemu-img printed. Each
// expected text is cited: a committed baseline or the command that printed
// it. Whole outputs are compared with every baseline in
// vmm/cli/info_baseline_test.cc.
#include "vmm/render/info_render.h"

#include <cstdlib>
#include <ctime>
#include <string>

#include <gtest/gtest.h>

namespace instar::vmm {
namespace {

constexpr QemuVersion k520{5, 2, 0};
constexpr QemuVersion k7222{7, 2, 22};
constexpr QemuVersion k10013{10, 0, 13};
constexpr QemuVersion k1113{11, 1, 3};

// The snapshot table as `version`'s dialect prints it.
std::string Header(const QemuVersion& version) {
  return SnapshotTableHeader(InfoDialectFor(version));
}
std::string Row(const SnapshotView& snapshot, const QemuVersion& version) {
  return SnapshotTableRow(snapshot, InfoDialectFor(version));
}

// Values from the baselines (virtual size, disk size, file length lines)
// and from `qemu-img-binaries/x86_64/11.1.3/qemu-img info F` of files made
// with `truncate -s N F` (the sizes near the unit switch) and of a 1T qcow2.
TEST(HumanSizeTest, MatchesQemuSizeToStr) {
  EXPECT_EQ(HumanSize(0), "0 B");
  EXPECT_EQ(HumanSize(512), "512 B");
  EXPECT_EQ(HumanSize(86016), "84 KiB");
  EXPECT_EQ(HumanSize(141312), "138 KiB");
  EXPECT_EQ(HumanSize(852480), "832 KiB");
  EXPECT_EQ(HumanSize(1089536), "1.04 MiB");
  EXPECT_EQ(HumanSize(2124288), "2.03 MiB");
  EXPECT_EQ(HumanSize(67108864), "64 MiB");
  EXPECT_EQ(HumanSize(1073741824), "1 GiB");
  EXPECT_EQ(HumanSize(1022976), "999 KiB");
  EXPECT_EQ(HumanSize(1023488), "1e+03 KiB");
  EXPECT_EQ(HumanSize(1047552), "0.999 MiB");
  EXPECT_EQ(HumanSize(1048064), "1 MiB");
  EXPECT_EQ(HumanSize(5000000000), "4.66 GiB");
  EXPECT_EQ(HumanSize(1099511627776), "1 TiB");
}

class SnapshotTableTest : public ::testing::Test {
 protected:
  // qemu prints the date in local time; the baselines were made with TZ=UTC.
  void SetUp() override {
    const char* tz = std::getenv("TZ");
    if (tz != nullptr) saved_tz_ = tz;
    had_tz_ = tz != nullptr;
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
  void TearDown() override {
    if (had_tz_) {
      ::setenv("TZ", saved_tz_.c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

  static SnapshotView Snapshot(const char* id, const char* name, uint64_t date_sec) {
    SnapshotView s;
    s.id = id;
    s.name = name;
    s.date_sec = date_sec;
    s.icount = 0;
    return s;
  }

 private:
  std::string saved_tz_;
  bool had_tz_ = false;
};

// baselines/info-human/qcow2/{5.2.0,7.2.22,10.0.13,11.1.3}/qcow2-snapshot.stdout.txt;
// date 1795340848 from the matching info-json baseline.
TEST_F(SnapshotTableTest, EachFamilyPrintsItsOwnTable) {
  const SnapshotView first = Snapshot("1", "first", 1795340848);
  EXPECT_EQ(Header(k520),
            "ID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT");
  EXPECT_EQ(Row(first, k520),
            "1         first                 0 B 2026-11-22 09:47:28 00:00:00.000          0");
  EXPECT_EQ(Header(k7222), Header(k520));
  EXPECT_EQ(Row(first, k7222), Row(first, k520));
  for (const QemuVersion& v : {k10013, k1113}) {
    EXPECT_EQ(Header(v),
              "ID      TAG               VM_SIZE                DATE        VM_CLOCK     ICOUNT");
    EXPECT_EQ(Row(first, v),
              "1       first                 0 B 2026-11-22 09:47:28  0000:00:00.000          0");
  }
}

// `TZ=UTC qemu-img-binaries/x86_64/{5.2.0,7.2.22,10.0.13}/qemu-img info F`
// where F was made by qemu-img 7.2.22 with `qemu-img create -f qcow2 F 16M`
// and `qemu-img snapshot -c NAME F` (dates from --output=json): names of
// 16 and 17 bytes and longer, where 5.2's and 7.2's column widths differ.
TEST_F(SnapshotTableTest, LongNamesShiftTheColumnsPerFamily) {
  const SnapshotView longest = Snapshot("1", "a-very-long-snapshot-name-here", 1795346601);
  const SnapshotView seventeen = Snapshot("2", "seventeen-chars-x", 1795346601);
  const SnapshotView sixteen = Snapshot("3", "sixteen-chars-xy", 1795346601);
  const struct {
    const SnapshotView& snapshot;
    QemuVersion version;
    const char* row;
  } cases[] = {
      {longest, k520,
       "1         a-very-long-snapshot-name-here     0 B 2026-11-22 11:23:21 00:00:00.000"
       "          0"},
      {seventeen, k520,
       "2         seventeen-chars-x     0 B 2026-11-22 11:23:21 00:00:00.000          0"},
      {sixteen, k520,
       "3         sixteen-chars-xy      0 B 2026-11-22 11:23:21 00:00:00.000          0"},
      {longest, k7222,
       "1         a-very-long-snapshot-name-here      0 B 2026-11-22 11:23:21 00:00:00.000"
       "          0"},
      {seventeen, k7222,
       "2         seventeen-chars-x      0 B 2026-11-22 11:23:21 00:00:00.000          0"},
      {sixteen, k7222,
       "3         sixteen-chars-xy      0 B 2026-11-22 11:23:21 00:00:00.000          0"},
      {longest, k10013,
       "1       a-very-long-snapshot-name-here      0 B 2026-11-22 11:23:21  0000:00:00.000"
       "          0"},
      {seventeen, k10013,
       "2       seventeen-chars-x      0 B 2026-11-22 11:23:21  0000:00:00.000          0"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Row(c.snapshot, c.version), c.row) << c.snapshot.name << " " << c.version.major;
  }
}

// `TZ=UTC qemu-img-binaries/x86_64/{5.2.0,7.2.22,11.1.3}/qemu-img info -f
// qcow2 F` where F is cases/images/qcow2-empty.qcow2 with nb_snapshots set
// to 65536 and snapshots_offset to 2^56 (vmm/sandbox/hostile_qcow2_test.cc's
// "snapshots-past-eof"): every entry reads as zeros, so no id, no name, and
// no icount, which 10.0 prints as "--" and older versions as nothing.
TEST_F(SnapshotTableTest, AMissingIcountPrintsPerFamily) {
  SnapshotView empty;
  EXPECT_EQ(Row(empty, k520),
            "                                0 B 1970-01-01 00:00:00 00:00:00.000           ");
  EXPECT_EQ(Row(empty, k7222), Row(empty, k520));
  EXPECT_EQ(Row(empty, k1113),
            "                              0 B 1970-01-01 00:00:00  0000:00:00.000         --");
}

// baselines/info-human/qcow2/*/qcow2-backing.stdout.txt and the relative
// names of `qemu-img info --backing-chain qcow2-backing.qcow2` run in the
// corpus directory (qemu-img-binaries/x86_64/5.2.0 and 11.1.3), which print
// no "(actual path: ...)"; and `qemu-img-binaries/x86_64/11.1.3/qemu-img
// info a/b.qcow2` of images made with `qemu-img create -f qcow2 -u -b B`
// for B = /abs/c.qcow2 and nbd:host:10809, which print "backing file: B"
// with no actual path either.
TEST(FullBackingFilenameTest, ResolvesLikeQemu) {
  EXPECT_EQ(FullBackingFilename("$TESTDATA_ROOT/qcow2-backing.qcow2", "qcow2-v3-64k.qcow2"),
            "$TESTDATA_ROOT/qcow2-v3-64k.qcow2");
  EXPECT_EQ(FullBackingFilename("qcow2-backing.qcow2", "qcow2-v3-64k.qcow2"), "qcow2-v3-64k.qcow2");
  EXPECT_EQ(FullBackingFilename("./qcow2-backing.qcow2", "qcow2-v3-64k.qcow2"),
            "./qcow2-v3-64k.qcow2");
  EXPECT_EQ(FullBackingFilename("a/b.qcow2", "/abs/c.qcow2"), "/abs/c.qcow2");
  EXPECT_EQ(FullBackingFilename("a/b.qcow2", "nbd:host:10809"), "nbd:host:10809");
}

}  // namespace
}  // namespace instar::vmm
