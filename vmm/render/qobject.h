// QObject: a value the way qemu holds it before printing, and qemu's two
// ways of printing it.
//
// qemu-img builds its JSON output (and the "Format specific information"
// part of its human output) by visiting a QAPI struct into a QDict and
// printing that. A QDict is a hash table of 512 buckets: a key goes into
// bucket tdb_hash(key) % 512 and is put at the head of that bucket's list;
// iteration walks the buckets in order and each list from its head. So the
// printed order is a function of the key names, and of reverse insertion
// order within one bucket. QDict here keeps its entries in insertion order
// and iterates them in qemu's order; callers insert keys in the order of the
// QAPI struct's members, as qemu's output visitor does.
//
// ToPrettyJson() is qobject_to_json_pretty() (4-space indent, "key": value,
// an empty container as "{" newline indent "}"), DumpHuman() is block/qapi.c's
// dump_qobject() (dashes in keys become spaces, "[i]:" for list entries).
#ifndef INSTAR_VMM_RENDER_QOBJECT_H_
#define INSTAR_VMM_RENDER_QOBJECT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace instar::vmm {

class QObject;

// qemu's tdb_hash() of a key (all arithmetic in 32 bits).
uint32_t QdictHash(std::string_view key);
// The bucket a key lands in.
inline uint32_t QdictBucket(std::string_view key) { return QdictHash(key) % 512; }

class QDict {
 public:
  // qdict_put(): replaces the value of an existing key in place, or adds it.
  void Put(std::string key, QObject value);
  bool empty() const { return keys_.empty(); }
  size_t size() const { return keys_.size(); }
  // Entry indices in qemu's iteration order.
  std::vector<size_t> IterationOrder() const;
  const std::string& key(size_t i) const { return keys_[i]; }
  const QObject& value(size_t i) const;

 private:
  std::vector<std::string> keys_;  // insertion order
  std::vector<QObject> values_;
};

class QList {
 public:
  void Append(QObject value);
  bool empty() const;
  size_t size() const;
  const QObject& at(size_t i) const;

 private:
  std::vector<QObject> values_;
};

class QObject {
 public:
  enum class Kind { kInt, kUint, kBool, kString, kDict, kList };

  // QAPI 'int' members print as signed 64-bit numbers, 'uint32'/'size'
  // members as unsigned ones (qnum_from_int / qnum_from_uint).
  static QObject Int(int64_t value) { return QObject(Value(std::in_place_index<0>, value)); }
  static QObject Uint(uint64_t value) { return QObject(Value(std::in_place_index<1>, value)); }
  static QObject Bool(bool value) { return QObject(Value(std::in_place_index<2>, value)); }
  static QObject String(std::string value) {
    return QObject(Value(std::in_place_index<3>, std::move(value)));
  }
  QObject(QDict dict) : value_(std::in_place_index<4>, std::move(dict)) {}
  QObject(QList list) : value_(std::in_place_index<5>, std::move(list)) {}

  Kind kind() const { return static_cast<Kind>(value_.index()); }
  int64_t int_value() const { return std::get<0>(value_); }
  uint64_t uint_value() const { return std::get<1>(value_); }
  bool bool_value() const { return std::get<2>(value_); }
  const std::string& string_value() const { return std::get<3>(value_); }
  const QDict& dict() const { return std::get<4>(value_); }
  const QList& list() const { return std::get<5>(value_); }

 private:
  using Value = std::variant<int64_t, uint64_t, bool, std::string, QDict, QList>;
  explicit QObject(Value value) : value_(std::move(value)) {}
  Value value_;
};

// Here, not in QList: std::vector's members need QObject complete.
inline bool QList::empty() const { return values_.empty(); }
inline size_t QList::size() const { return values_.size(); }

// qobject_to_json_pretty(): the text, without a trailing newline.
std::string ToPrettyJson(const QObject& object);
// A JSON string literal as qemu's writer quotes it: UTF-8 decoded the way
// mod_utf8_codepoint() does (invalid sequences become U+FFFD), control
// characters and everything outside printable ASCII as \uXXXX.
std::string JsonQuote(std::string_view text);
// dump_qobject(indentation, object): the human form, every line ending in
// a newline. Scalars print without one, as qemu's do.
std::string DumpHuman(const QObject& object, int indentation);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RENDER_QOBJECT_H_
