// FieldReader, the reader every view of a result goes through.
#include "vmm/result/field_reader.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace instar::vmm {
namespace {

ResultRecord Number(uint16_t tag, uint64_t value, abi::RecordType type = abi::RecordType::kU64) {
  ResultRecord r;
  r.tag = tag;
  r.type = type;
  r.number = value;
  return r;
}

ResultRecord Text(uint16_t tag, std::string bytes) {
  ResultRecord r;
  r.tag = tag;
  r.type = abi::RecordType::kBytes;
  r.bytes = std::move(bytes);
  return r;
}

TEST(FieldReaderTest, ReadsRequiredAndOptionalFields) {
  const std::vector<ResultRecord> records = {Number(16, 7), Text(17, "name"),
                                             Number(18, 1, abi::RecordType::kBool),
                                             Text(19, std::string("a\0b", 3))};
  std::string error;
  FieldReader f(records, "result", &error);
  uint64_t number = 0;
  std::string name;
  std::optional<bool> flag;
  std::optional<uint64_t> absent;
  std::string bytes;
  f.U64(16, "number", &number);
  f.Text(17, "name", &name);
  f.Bool(18, "flag", &flag);
  f.U64(20, "absent number", &absent);
  f.Bytes(19, "bytes", &bytes);
  ASSERT_TRUE(f.Done()) << error;
  EXPECT_EQ(number, 7u);
  EXPECT_EQ(name, "name");
  EXPECT_EQ(flag, true);
  EXPECT_FALSE(absent.has_value());
  EXPECT_EQ(bytes, std::string("a\0b", 3));
}

TEST(FieldReaderTest, RefusesARecordNoGetterClaimed) {
  const std::vector<ResultRecord> records = {Number(16, 7), Number(99, 1)};
  std::string error;
  FieldReader f(records, "result", &error);
  uint64_t number = 0;
  EXPECT_TRUE(f.U64(16, "number", &number));
  EXPECT_FALSE(f.Done());
  EXPECT_EQ(error, "the result has an unknown field 99");
}

TEST(FieldReaderTest, RefusesMissingRepeatedMistypedAndNulText) {
  const auto fails = [](const std::vector<ResultRecord>& records, const char* expected) {
    std::string error;
    FieldReader f(records, "object", &error);
    uint64_t number = 0;
    std::optional<std::string> text;
    f.U64(16, "number", &number);
    f.Text(17, "text", &text);
    EXPECT_FALSE(f.Done());
    EXPECT_EQ(error, expected);
  };
  fails({}, "the object has no number");
  fails({Number(16, 1), Number(16, 2)}, "the object has a malformed number");
  fails({Number(16, 1, abi::RecordType::kI64)}, "the object has a malformed number");
  fails({Number(16, 1), Text(17, std::string("a\0", 2))}, "the object has a malformed text");
}

TEST(FieldReaderTest, KeepsTheFirstFailure) {
  const std::vector<ResultRecord> records = {Text(16, "x"), Number(99, 1)};
  std::string error;
  FieldReader f(records, "result", &error);
  uint64_t number = 0;
  uint64_t other = 0;
  EXPECT_FALSE(f.U64(16, "number", &number));
  EXPECT_FALSE(f.U64(17, "other", &other));
  EXPECT_FALSE(f.ok());
  EXPECT_FALSE(f.Done());
  EXPECT_EQ(error, "the result has a malformed number");
}

TEST(FieldReaderTest, ListsRepeatedRecordsOfOneType) {
  ResultRecord object;
  object.tag = 48;
  object.type = abi::RecordType::kBegin;
  const std::vector<ResultRecord> records = {object, Number(16, 1), object};
  std::string error;
  FieldReader f(records, "result", &error);
  EXPECT_EQ(f.Objects(48, "child").size(), 2u);
  EXPECT_TRUE(f.All(16, abi::RecordType::kU64, "number").size() == 1);
  EXPECT_TRUE(f.Done()) << error;

  FieldReader g(records, "result", &error);
  EXPECT_TRUE(g.All(48, abi::RecordType::kU64, "number").empty());
  EXPECT_FALSE(g.Done());
  EXPECT_EQ(error, "the result has a malformed number");
}

}  // namespace
}  // namespace instar::vmm
