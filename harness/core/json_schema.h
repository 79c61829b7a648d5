// Strict reading of the harness's JSON inputs (case files, the manifest).
//
// Every error is one line naming the file, the entry and what is wrong:
//   cases/create.json: cases[4] "1G-cs-4k": unknown key "optoins"
//   cases/create.json:12:7: syntax error (expected ',' or '}')
// and is thrown as HarnessError. An Entry carries the file and the entry's
// description so that helpers deep in a reader can produce such a line.
#ifndef INSTAR_HARNESS_CORE_JSON_SCHEMA_H_
#define INSTAR_HARNESS_CORE_JSON_SCHEMA_H_

#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

namespace instar::harness {

// Parses a whole JSON document; a syntax error names line and column.
boost::json::value ParseJsonFile(const std::filesystem::path& path);
boost::json::value ParseJsonText(std::string_view text, const std::string& origin);

class Entry {
 public:
  Entry(std::string file, std::string where) : file_(std::move(file)), where_(std::move(where)) {}

  // A child entry: Nested("size-cases[3]").
  Entry Nested(const std::string& where) const;
  [[noreturn]] void Fail(const std::string& message) const;

  // Fails on any key outside `required` and `optional`, and on a missing
  // `required` key.
  void CheckKeys(const boost::json::object& object,
                 std::initializer_list<std::string_view> required,
                 std::initializer_list<std::string_view> optional = {}) const;

  const boost::json::object& AsObject(const boost::json::value& value) const;
  const boost::json::object& Object(const boost::json::object& object, std::string_view key) const;
  const boost::json::array& Array(const boost::json::object& object, std::string_view key) const;
  // A non-empty string.
  std::string String(const boost::json::object& object, std::string_view key) const;
  // A non-negative integer.
  uint64_t Unsigned(const boost::json::object& object, std::string_view key) const;
  bool Bool(const boost::json::object& object, std::string_view key) const;
  // An array of non-empty strings (possibly empty itself).
  std::vector<std::string> StringArray(const boost::json::object& object,
                                       std::string_view key) const;
  // An array of strings, any of them empty: a command line's arguments,
  // where `-o ""` is an argument like any other.
  std::vector<std::string> ArgumentArray(const boost::json::object& object,
                                         std::string_view key) const;

  const std::string& where() const { return where_; }

 private:
  std::string file_;
  std::string where_;
};

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CORE_JSON_SCHEMA_H_
