#include "vmm/result/field_reader.h"

#include <utility>

namespace instar::vmm {

FieldReader::FieldReader(const std::vector<ResultRecord>& records, std::string where,
                         std::string* error)
    : records_(records), where_(std::move(where)), error_(error) {}

bool FieldReader::U64(uint16_t tag, const char* name, uint64_t* out) {
  const ResultRecord* r = One(tag, abi::RecordType::kU64, name, true);
  if (r != nullptr) *out = r->number;
  return ok_;
}

bool FieldReader::Text(uint16_t tag, const char* name, std::string* out) {
  const ResultRecord* r = One(tag, abi::RecordType::kBytes, name, true);
  if (r != nullptr && CheckText(*r, name)) *out = r->bytes;
  return ok_;
}

bool FieldReader::Bytes(uint16_t tag, const char* name, std::string* out) {
  const ResultRecord* r = One(tag, abi::RecordType::kBytes, name, true);
  if (r != nullptr) *out = r->bytes;
  return ok_;
}

bool FieldReader::U64(uint16_t tag, const char* name, std::optional<uint64_t>* out) {
  const ResultRecord* r = One(tag, abi::RecordType::kU64, name, false);
  if (r != nullptr) *out = r->number;
  return ok_;
}

bool FieldReader::Bool(uint16_t tag, const char* name, std::optional<bool>* out) {
  const ResultRecord* r = One(tag, abi::RecordType::kBool, name, false);
  if (r != nullptr) *out = r->number != 0;
  return ok_;
}

bool FieldReader::Text(uint16_t tag, const char* name, std::optional<std::string>* out) {
  const ResultRecord* r = One(tag, abi::RecordType::kBytes, name, false);
  if (r != nullptr && CheckText(*r, name)) *out = r->bytes;
  return ok_;
}

std::vector<const ResultRecord*> FieldReader::Objects(uint16_t tag, const char* name) {
  return All(tag, abi::RecordType::kBegin, name);
}

std::vector<const ResultRecord*> FieldReader::All(uint16_t tag, abi::RecordType type,
                                                  const char* name) {
  claimed_.insert(tag);
  if (!ok_) return {};
  std::vector<const ResultRecord*> out;
  for (const ResultRecord& r : records_) {
    if (r.tag != tag) continue;
    if (r.type != type) {
      Fail(std::string("a malformed ") + name);
      return {};
    }
    out.push_back(&r);
  }
  return out;
}

bool FieldReader::Done() {
  if (!ok_) return false;
  for (const ResultRecord& r : records_) {
    if (claimed_.count(r.tag) == 0) return Fail("an unknown field " + std::to_string(r.tag));
  }
  return true;
}

bool FieldReader::Fail(const std::string& what) {
  if (ok_) *error_ = "the " + where_ + " has " + what;
  ok_ = false;
  return false;
}

const ResultRecord* FieldReader::One(uint16_t tag, abi::RecordType type, const char* name,
                                     bool required) {
  claimed_.insert(tag);
  if (!ok_) return nullptr;
  const ResultRecord* found = nullptr;
  for (const ResultRecord& r : records_) {
    if (r.tag != tag) continue;
    if (found != nullptr || r.type != type) {
      Fail(std::string("a malformed ") + name);
      return nullptr;
    }
    found = &r;
  }
  if (found == nullptr && required) Fail(std::string("no ") + name);
  return found;
}

bool FieldReader::CheckText(const ResultRecord& record, const char* name) {
  if (record.bytes.find('\0') != std::string::npos) return Fail(std::string("a malformed ") + name);
  return true;
}

}  // namespace instar::vmm
