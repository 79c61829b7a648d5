#include "harness/core/json_schema.h"

#include <algorithm>

#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

#include "harness/core/error.h"
#include "harness/core/files.h"

namespace instar::harness {

namespace {

const char* KindName(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
      return "an integer";
    case boost::json::kind::double_:
      return "a number";
    case boost::json::kind::string:
      return "a string";
    case boost::json::kind::array:
      return "an array";
    case boost::json::kind::object:
      return "an object";
  }
  return "a value";
}

std::string Quoted(std::string_view key) {
  return boost::json::serialize(
      boost::json::value(boost::json::string_view(key.data(), key.size())));
}

}  // namespace

boost::json::value ParseJsonText(std::string_view text, const std::string& origin) {
  boost::json::stream_parser parser;
  boost::system::error_code ec;
  size_t consumed = parser.write_some(text.data(), text.size(), ec);
  if (!ec) {
    parser.finish(ec);
    consumed = text.size();
  }
  if (ec) {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < consumed && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    throw HarnessError(origin + ":" + std::to_string(line) + ":" + std::to_string(column) +
                       ": not valid JSON (" + ec.message() + ")");
  }
  return parser.release();
}

boost::json::value ParseJsonFile(const std::filesystem::path& path) {
  return ParseJsonText(ReadFile(path), path.string());
}

Entry Entry::Nested(const std::string& where) const {
  if (where_.empty()) return Entry(file_, where);
  return Entry(file_, where_ + " " + where);
}

void Entry::Fail(const std::string& message) const {
  if (where_.empty()) throw HarnessError(file_ + ": " + message);
  throw HarnessError(file_ + ": " + where_ + ": " + message);
}

void Entry::CheckKeys(const boost::json::object& object,
                      std::initializer_list<std::string_view> required,
                      std::initializer_list<std::string_view> optional) const {
  for (const auto& member : object) {
    std::string_view key(member.key().data(), member.key().size());
    bool known = std::find(required.begin(), required.end(), key) != required.end() ||
                 std::find(optional.begin(), optional.end(), key) != optional.end();
    if (!known) Fail("unknown key " + Quoted(key));
  }
  for (std::string_view key : required) {
    if (!object.contains(boost::json::string_view(key.data(), key.size()))) {
      Fail("missing field " + Quoted(key));
    }
  }
}

const boost::json::object& Entry::AsObject(const boost::json::value& value) const {
  if (!value.is_object()) Fail(std::string("expected an object, found ") + KindName(value));
  return value.get_object();
}

const boost::json::object& Entry::Object(const boost::json::object& object,
                                         std::string_view key) const {
  const auto& value = object.at(boost::json::string_view(key.data(), key.size()));
  if (!value.is_object()) {
    Fail(Quoted(key) + " must be an object, found " + KindName(value));
  }
  return value.get_object();
}

const boost::json::array& Entry::Array(const boost::json::object& object,
                                       std::string_view key) const {
  const auto& value = object.at(boost::json::string_view(key.data(), key.size()));
  if (!value.is_array()) Fail(Quoted(key) + " must be an array, found " + KindName(value));
  return value.get_array();
}

std::string Entry::String(const boost::json::object& object, std::string_view key) const {
  const auto& value = object.at(boost::json::string_view(key.data(), key.size()));
  if (!value.is_string()) Fail(Quoted(key) + " must be a string, found " + KindName(value));
  const auto& text = value.get_string();
  if (text.empty()) Fail(Quoted(key) + " must not be empty");
  return std::string(text.data(), text.size());
}

uint64_t Entry::Unsigned(const boost::json::object& object, std::string_view key) const {
  const auto& value = object.at(boost::json::string_view(key.data(), key.size()));
  if (value.is_uint64()) return value.get_uint64();
  if (value.is_int64() && value.get_int64() >= 0) return static_cast<uint64_t>(value.get_int64());
  Fail(Quoted(key) + " must be a non-negative integer, found " + KindName(value));
}

bool Entry::Bool(const boost::json::object& object, std::string_view key) const {
  const auto& value = object.at(boost::json::string_view(key.data(), key.size()));
  if (!value.is_bool()) Fail(Quoted(key) + " must be a boolean, found " + KindName(value));
  return value.get_bool();
}

std::vector<std::string> Entry::StringArray(const boost::json::object& object,
                                            std::string_view key) const {
  const auto& array = Array(object, key);
  std::vector<std::string> strings;
  for (size_t i = 0; i < array.size(); ++i) {
    if (!array[i].is_string() || array[i].get_string().empty()) {
      Fail(Quoted(key) + "[" + std::to_string(i) + "] must be a non-empty string, found " +
           (array[i].is_string() ? std::string("an empty string") : KindName(array[i])));
    }
    strings.emplace_back(array[i].get_string().data(), array[i].get_string().size());
  }
  return strings;
}

std::vector<std::string> Entry::ArgumentArray(const boost::json::object& object,
                                              std::string_view key) const {
  const auto& array = Array(object, key);
  std::vector<std::string> strings;
  for (size_t i = 0; i < array.size(); ++i) {
    if (!array[i].is_string()) {
      Fail(Quoted(key) + "[" + std::to_string(i) + "] must be a string, found " +
           KindName(array[i]));
    }
    strings.emplace_back(array[i].get_string().data(), array[i].get_string().size());
  }
  return strings;
}

}  // namespace instar::harness
