// -l as qemu-img's getopt loop reads it, against what the qemu-img of the
// matrix printed for `qemu-img measure -l ARG qcow2-snapshot.qcow2`.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "instar/engine/measure.h"
#include "measure/measure_test_support.h"

namespace instar {
namespace {

using measure_test::ErrorText;
using measure_test::Version;

struct Parsed {
  // The arguments parsed: the snapshot's texts point into them.
  std::vector<std::string> args;
  bool ok = false;
  MeasureSnapshot snapshot;
  std::string error;
  std::vector<std::string> flags;
};

std::string Str(MeasureText text) {
  return text.data == nullptr ? "<none>" : std::string(text.data, text.length);
}

// Parses each argument in turn with one list, as repeated -l options are.
Parsed Parse(const std::vector<std::string>& args, const char* version) {
  static std::vector<uint8_t> buffer(1 << 16);
  Arena arena(buffer.data(), buffer.size());
  SnapshotParamList list;
  Parsed out;
  out.args = args;
  for (const std::string& arg : out.args) {
    MeasureError error;
    const Status s = ParseSnapshotParam(arg.data(), arg.size(), Version(version), arena, &list,
                                        &out.snapshot, &error);
    for (size_t i = 0; i < list.flag_count; ++i) out.flags.push_back(Str(list.flags[i]));
    if (!s.ok()) {
      out.error = ErrorText(error);
      return out;
    }
  }
  out.ok = true;
  return out;
}

TEST(SnapshotParamTest, PlainTextIsAnIdOrName) {
  const Parsed p = Parse({"first"}, "7.2.22");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.snapshot.kind, MeasureSnapshotKind::kIdOrName);
  EXPECT_EQ(Str(p.snapshot.name), "first");
  EXPECT_EQ(Str(Parse({""}, "5.2.0").snapshot.name), "");
  // Not the "snapshot." prefix: a name, whatever it holds.
  EXPECT_EQ(Str(Parse({"snapshot"}, "5.2.0").snapshot.name), "snapshot");
}

TEST(SnapshotParamTest, IdAndNameForm) {
  Parsed p = Parse({"snapshot.name=first,snapshot.id=1"}, "11.1.3");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.snapshot.kind, MeasureSnapshotKind::kIdAndName);
  EXPECT_EQ(Str(p.snapshot.id), "1");
  EXPECT_EQ(Str(p.snapshot.name), "first");
  // The last of each wins; ",," is a comma; a trailing ',' ends the list.
  p = Parse({"snapshot.name=first,snapshot.name=fir,,st,"}, "5.2.0");
  EXPECT_EQ(Str(p.snapshot.name), "fir,st");
  EXPECT_EQ(Str(p.snapshot.id), "<none>");
  // The QemuOpts id is taken and dropped.
  p = Parse({"snapshot.name=first,id=x"}, "7.2.22");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(Str(p.snapshot.name), "first");
  // A bare key is "on", which 6.0+ warns about.
  p = Parse({"snapshot.id"}, "7.2.22");
  EXPECT_EQ(Str(p.snapshot.id), "on");
  EXPECT_EQ(p.flags, std::vector<std::string>{"snapshot.id"});
  EXPECT_TRUE(Parse({"snapshot.id"}, "5.2.0").flags.empty());
}

TEST(SnapshotParamTest, Refusals) {
  struct Case {
    std::vector<std::string> args;
    const char* version;
    const char* error;
  };
  const Case cases[] = {
      {{"snapshot.foo=bar"},
       "5.2.0",
       "qemu-img: Invalid parameter 'snapshot.foo'\n"
       "qemu-img: Failed in parsing snapshot param 'snapshot.foo=bar'\n"},
      {{"snapshot."},
       "11.1.3",
       "qemu-img: Invalid parameter 'snapshot.'\n"
       "qemu-img: Failed in parsing snapshot param 'snapshot.'\n"},
      {{"snapshot.name=first,id=1x"},
       "7.2.22",
       "qemu-img: Parameter 'id' expects an identifier\n"
       "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.\n"
       "qemu-img: Failed in parsing snapshot param 'snapshot.name=first,id=1x'\n"},
      {{"snapshot.name=first,id=x", "snapshot.name=first,id=x"},
       "10.0.2",
       "qemu-img: Duplicate ID 'x' for snapshot\n"
       "qemu-img: Failed in parsing snapshot param 'snapshot.name=first,id=x'\n"},
      {{"snapshot.id=1,help"},
       "5.2.0",
       "qemu-img: Failed in parsing snapshot param 'snapshot.id=1,help'\n"},
      {{"snapshot.id=1,?"},
       "11.1.3",
       "qemu-img: Failed in parsing snapshot param 'snapshot.id=1,?'\n"},
      // 5.2 takes any key named help; 6.0+ only the bare word.
      {{"snapshot.id=1,help=x"},
       "5.2.0",
       "qemu-img: Failed in parsing snapshot param 'snapshot.id=1,help=x'\n"},
      {{"snapshot.id=1,help=x"},
       "7.2.22",
       "qemu-img: Invalid parameter 'help'\n"
       "qemu-img: Failed in parsing snapshot param 'snapshot.id=1,help=x'\n"},
      // The id is the first element named "id", not one inside an
      // escaped value: 5.2 takes both of these (qemu-img measure -l
      // snapshot.name=a,,id=x -l snapshot.name=first,id=x succeeds).
      // An invalid key before "help" is reported first.
      {{"snapshot.foo=1,help"},
       "7.2.22",
       "qemu-img: Invalid parameter 'snapshot.foo'\n"
       "qemu-img: Failed in parsing snapshot param 'snapshot.foo=1,help'\n"},
  };
  for (const Case& c : cases) {
    const Parsed p = Parse(c.args, c.version);
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error, c.error) << c.args.back() << " " << c.version;
  }
}

TEST(SnapshotParamTest, IdInsideAnEscapedValueIsNoId) {
  EXPECT_TRUE(Parse({"snapshot.name=a,,id=x", "snapshot.name=first,id=x"}, "5.2.0").ok);
}

TEST(SnapshotParamTest, HelpAndWarningText) {
  EXPECT_EQ(std::string(SnapshotParamHelp()),
            "snapshot options:\n"
            "  snapshot.id=<str>      - snapshot id\n"
            "  snapshot.name=<str>    - snapshot name\n");
  std::string text(256, '\0');
  text.resize(FormatShortFormWarning(MeasureText{"snapshot.id", 11}, text.data(), text.size()));
  EXPECT_EQ(text,
            "qemu-img: warning: short-form boolean option 'snapshot.id' deprecated\n"
            "Please use snapshot.id=on instead\n");
  text.assign(256, '\0');
  text.resize(FormatShortFormWarning(MeasureText{"nofoo", 5}, text.data(), text.size()));
  EXPECT_EQ(text,
            "qemu-img: warning: short-form boolean option 'nofoo' deprecated\n"
            "Please use foo=off instead\n");
}

}  // namespace
}  // namespace instar
