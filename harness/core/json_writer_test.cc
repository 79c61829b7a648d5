#include "harness/core/json_writer.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace instar::harness {
namespace {

TEST(JsonWriterTest, KeepsKeyOrderAndIndents) {
  boost::json::object object;
  object["zeta"] = 1;
  object["alpha"] = "two";
  object["list"] = boost::json::array{"a", "b"};
  object["empty"] = boost::json::object();
  boost::json::object nested;
  nested["x"] = true;
  object["objects"] = boost::json::array{nested};
  EXPECT_EQ(WriteJson(object),
            "{\n"
            "  \"zeta\": 1,\n"
            "  \"alpha\": \"two\",\n"
            "  \"list\": [\"a\", \"b\"],\n"
            "  \"empty\": {},\n"
            "  \"objects\": [\n"
            "    {\n"
            "      \"x\": true\n"
            "    }\n"
            "  ]\n"
            "}\n");
}

TEST(JsonWriterTest, EscapesAndRoundTrips) {
  boost::json::object object;
  object["path"] = "$FILENAME \"quoted\"\n";
  object["big"] = uint64_t{18446744073709551615u};
  std::string text = WriteJson(object);
  EXPECT_EQ(boost::json::parse(text), boost::json::value(object));
}

}  // namespace
}  // namespace instar::harness
