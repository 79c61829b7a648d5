#include "vmm/result/result_decoder.h"

#include <cstring>

#include "instar/engine/bytes.h"
#include "vmm/result/field_reader.h"

namespace instar::vmm {

bool DecodeResult(const std::vector<uint8_t>& stream, uint32_t expected_operation,
                  DecodedResult* out, std::string* error) {
  const size_t header = sizeof(abi::ResultHeader);
  if (stream.size() > abi::kMaxResult) {
    *error = "the result is larger than the limit";
    return false;
  }
  if (stream.size() < header) {
    *error = "the result is shorter than its header";
    return false;
  }
  const uint8_t* data = stream.data();
  if (LoadLE32(data) != abi::kResultMagic) {
    *error = "the result has a bad magic";
    return false;
  }
  if (LoadLE32(data + 4) != expected_operation) {
    *error = "the result answers another operation";
    return false;
  }
  if (LoadLE32(data + 8) != stream.size() - header) {
    *error = "the result's length does not match its size";
    return false;
  }
  if (LoadLE32(data + 12) != 0) {
    *error = "the result header has non-zero reserved bits";
    return false;
  }

  out->operation = expected_operation;
  out->records.clear();
  // The chain of open kBegin records; stack[0] is the top level.
  std::vector<std::vector<ResultRecord>*> stack{&out->records};
  size_t pos = header;
  size_t index = 0;
  while (pos < stream.size()) {
    const std::string where = "record " + std::to_string(index);
    if (stream.size() - pos < sizeof(abi::RecordHeader)) {
      *error = where + " is cut short";
      return false;
    }
    const uint16_t tag = LoadLE16(data + pos);
    const uint8_t type = data[pos + 2];
    const uint8_t reserved = data[pos + 3];
    const uint32_t length = LoadLE32(data + pos + 4);
    pos += sizeof(abi::RecordHeader);
    const uint64_t padded = (uint64_t{length} + 7) & ~uint64_t{7};
    if (padded > stream.size() - pos) {
      *error = where + " overruns the result";
      return false;
    }
    if (reserved != 0) {
      *error = where + " has non-zero reserved bits";
      return false;
    }
    for (uint64_t i = length; i < padded; ++i) {
      if (data[pos + i] != 0) {
        *error = where + " has non-zero padding";
        return false;
      }
    }
    const uint8_t* payload = data + pos;
    pos += static_cast<size_t>(padded);
    ++index;

    ResultRecord record;
    record.tag = tag;
    switch (static_cast<abi::RecordType>(type)) {
      case abi::RecordType::kU64:
      case abi::RecordType::kI64:
        if (length != 8) {
          *error = where + " is a number of the wrong size";
          return false;
        }
        record.number = LoadLE64(payload);
        break;
      case abi::RecordType::kBool:
        if (length != 1 || payload[0] > 1) {
          *error = where + " is a bad boolean";
          return false;
        }
        record.number = payload[0];
        break;
      case abi::RecordType::kBytes:
        record.bytes.assign(reinterpret_cast<const char*>(payload), length);
        break;
      case abi::RecordType::kBegin:
        if (length != 0) {
          *error = where + " opens an object with a payload";
          return false;
        }
        if (stack.size() > abi::kMaxRecordDepth) {
          *error = where + " nests too deeply";
          return false;
        }
        break;
      case abi::RecordType::kEnd:
        if (length != 0) {
          *error = where + " closes an object with a payload";
          return false;
        }
        if (stack.size() == 1) {
          *error = where + " closes an object that is not open";
          return false;
        }
        stack.pop_back();
        continue;
      default:
        *error = where + " has an unknown type";
        return false;
    }
    record.type = static_cast<abi::RecordType>(type);
    const bool opens = record.type == abi::RecordType::kBegin;
    stack.back()->push_back(std::move(record));
    if (opens) {
      stack.push_back(&stack.back()->back().children);
    }
  }
  if (stack.size() != 1) {
    *error = "the result ends inside an object";
    return false;
  }
  return true;
}

const ResultRecord* FindRecord(const std::vector<ResultRecord>& records, uint16_t tag) {
  for (const ResultRecord& r : records) {
    if (r.tag == tag) return &r;
  }
  return nullptr;
}

std::string PrintableText(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n') || u == 0x7f) c = '?';
  }
  return out;
}

std::optional<GuestError> FindGuestError(const DecodedResult& result, bool* malformed) {
  *malformed = false;
  const ResultRecord* error = FindRecord(result.records, abi::kTagError);
  if (error == nullptr) return std::nullopt;
  // The error object is the whole result, and holds its two fields and no
  // other: it is read like any view.
  GuestError out;
  std::string why;
  FieldReader f(error->children, "error", &why);
  f.U64(abi::kTagErrorCode, "code", &out.code);
  f.Bytes(abi::kTagErrorMessage, "message", &out.message);
  if (error->type != abi::RecordType::kBegin || result.records.size() != 1 || !f.Done() ||
      out.message.empty()) {
    *malformed = true;
    return std::nullopt;
  }
  out.message = PrintableText(out.message);
  return out;
}

}  // namespace instar::vmm
