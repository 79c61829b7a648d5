// QObject ordering and printing against what qemu-img printed. Each
// expected text is cited: a committed baseline (baselines/...) or the
// command that printed it.
#include "vmm/render/qobject.h"

#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

namespace instar::vmm {
namespace {

std::vector<std::string> KeysInOrder(const QDict& dict) {
  std::vector<std::string> keys;
  for (size_t i : dict.IterationOrder()) keys.push_back(dict.key(i));
  return keys;
}

// baselines/info-json/qcow2/10.0.13/qcow2-backing.stdout.txt: the keys of
// BlockGraphInfo, put in QAPI member order, come out in this order.
// "children" and "backing-filename-format" share a bucket; the later one
// (children, the derived struct's member) prints first.
TEST(QDictTest, IteratesLikeQemuIncludingWithinABucket) {
  QDict dict;
  for (const char* key : {"filename", "format", "dirty-flag", "actual-size", "virtual-size",
                          "cluster-size", "backing-filename", "full-backing-filename",
                          "backing-filename-format", "format-specific", "children"}) {
    dict.Put(key, QObject::Int(0));
  }
  EXPECT_EQ(QdictBucket("children"), QdictBucket("backing-filename-format"));
  EXPECT_EQ(
      KeysInOrder(dict),
      (std::vector<std::string>{"children", "backing-filename-format", "virtual-size", "filename",
                                "cluster-size", "format", "actual-size", "format-specific",
                                "full-backing-filename", "backing-filename", "dirty-flag"}));
}

// baselines/info-json/qcow2/5.2.0/qcow2-snapshot.stdout.txt (SnapshotInfo)
// and qcow2-bitmap.stdout.txt (ImageInfoSpecificQCow2).
TEST(QDictTest, SnapshotAndQcow2KeysComeOutInQemuOrder) {
  QDict snapshot;
  for (const char* key : {"id", "name", "vm-state-size", "date-sec", "date-nsec", "vm-clock-sec",
                          "vm-clock-nsec", "icount"}) {
    snapshot.Put(key, QObject::Int(0));
  }
  EXPECT_EQ(KeysInOrder(snapshot),
            (std::vector<std::string>{"icount", "vm-clock-nsec", "name", "date-sec", "date-nsec",
                                      "vm-clock-sec", "id", "vm-state-size"}));
  QDict qcow2;
  for (const char* key : {"compat", "extended-l2", "lazy-refcounts", "corrupt", "refcount-bits",
                          "bitmaps", "compression-type"}) {
    qcow2.Put(key, QObject::Int(0));
  }
  EXPECT_EQ(KeysInOrder(qcow2),
            (std::vector<std::string>{"compat", "compression-type", "lazy-refcounts", "bitmaps",
                                      "refcount-bits", "corrupt", "extended-l2"}));
}

TEST(QDictTest, PutReplacesInPlace) {
  QDict dict;
  dict.Put("b", QObject::Int(1));
  dict.Put("a", QObject::Int(2));
  dict.Put("b", QObject::Int(3));
  ASSERT_EQ(dict.size(), 2u);
  EXPECT_EQ(dict.key(0), "b");
  EXPECT_EQ(dict.value(0).int_value(), 3);
}

// The "children" entry of baselines/info-json/raw/10.0.13/raw-sparse.stdout.txt:
// empty containers print as an opening bracket, a newline, the indent and
// the closing bracket.
TEST(PrettyJsonTest, PrintsEmptyContainersAndNestingLikeQemu) {
  QDict data;
  QDict spec;
  spec.Put("type", QObject::String("file"));
  spec.Put("data", std::move(data));
  QDict info;
  info.Put("filename", QObject::String("$TESTDATA_ROOT/raw-sparse.raw"));
  info.Put("format", QObject::String("file"));
  info.Put("dirty-flag", QObject::Bool(false));
  info.Put("actual-size", QObject::Int(81920));
  info.Put("virtual-size", QObject::Int(3145728));
  info.Put("format-specific", std::move(spec));
  info.Put("children", QList());
  QDict child;
  child.Put("name", QObject::String("file"));
  child.Put("info", std::move(info));
  QList children;
  children.Append(std::move(child));
  EXPECT_EQ(ToPrettyJson(QObject(std::move(children))),
            "[\n"
            "    {\n"
            "        \"name\": \"file\",\n"
            "        \"info\": {\n"
            "            \"children\": [\n"
            "            ],\n"
            "            \"virtual-size\": 3145728,\n"
            "            \"filename\": \"$TESTDATA_ROOT/raw-sparse.raw\",\n"
            "            \"format\": \"file\",\n"
            "            \"actual-size\": 81920,\n"
            "            \"format-specific\": {\n"
            "                \"type\": \"file\",\n"
            "                \"data\": {\n"
            "                }\n"
            "            },\n"
            "            \"dirty-flag\": false\n"
            "        }\n"
            "    }\n"
            "]");
}

// Snapshot names from `qemu-img-binaries/x86_64/11.1.3/qemu-img info
// --output=json` of an image made with `qemu-img snapshot -c NAME` for the
// names below (qemu-img 7.2.22).
TEST(PrettyJsonTest, QuotesStringsLikeQemu) {
  EXPECT_EQ(JsonQuote("\xc3\xa9 \xc3\xbcn\xc3\xaf"
                      "code\ttab\"q"),
            "\"\\u00E9 \\u00FCn\\u00EFcode\\ttab\\\"q\"");
  EXPECT_EQ(JsonQuote("bad\xffutf8-\xf0\x9f\x98\x80-\x01"),
            "\"bad\\uFFFDutf8-\\uD83D\\uDE00-\\u0001\"");
}

// The format-specific part of baselines/info-human/qcow2/7.2.22/qcow2-bitmap.stdout.txt.
TEST(DumpHumanTest, PrintsNestedListsAndDictsLikeQemu) {
  QDict data;
  data.Put("compat", QObject::String("1.1"));
  data.Put("lazy-refcounts", QObject::Bool(false));
  data.Put("refcount-bits", QObject::Int(16));
  QList bitmaps;
  for (const auto& [name, granularity, is_auto] :
       {std::tuple{"b0", 65536u, true}, std::tuple{"b1", 131072u, false}}) {
    QDict bitmap;
    bitmap.Put("name", QObject::String(name));
    bitmap.Put("granularity", QObject::Uint(granularity));
    QList flags;
    if (is_auto) flags.Append(QObject::String("auto"));
    bitmap.Put("flags", std::move(flags));
    bitmaps.Append(std::move(bitmap));
  }
  data.Put("bitmaps", std::move(bitmaps));
  data.Put("compression-type", QObject::String("zlib"));
  data.Put("corrupt", QObject::Bool(false));
  data.Put("extended-l2", QObject::Bool(false));
  EXPECT_EQ(DumpHuman(QObject(std::move(data)), 1),
            "    compat: 1.1\n"
            "    compression type: zlib\n"
            "    lazy refcounts: false\n"
            "    bitmaps:\n"
            "        [0]:\n"
            "            flags:\n"
            "                [0]: auto\n"
            "            name: b0\n"
            "            granularity: 65536\n"
            "        [1]:\n"
            "            flags:\n"
            "            name: b1\n"
            "            granularity: 131072\n"
            "    refcount bits: 16\n"
            "    corrupt: false\n"
            "    extended l2: false\n");
}

}  // namespace
}  // namespace instar::vmm
