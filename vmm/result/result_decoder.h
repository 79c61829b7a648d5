// DecodeResult: the host's reader of the guest's result stream (abi.h).
//
// The stream comes from the sandbox and is untrusted. Every length is
// checked against what is left, record types and their payload sizes are
// checked, padding must be zero, nesting is limited to abi::kMaxRecordDepth,
// every kBegin must be closed, and the header must answer the operation that
// was asked. Anything else is a malformed result: the caller reports it as
// kExitBadResult, never as a crash.
#ifndef INSTAR_VMM_RESULT_RESULT_DECODER_H_
#define INSTAR_VMM_RESULT_RESULT_DECODER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "instar/guest/abi.h"

namespace instar::vmm {

struct ResultRecord {
  uint16_t tag = 0;
  abi::RecordType type = abi::RecordType::kU64;
  uint64_t number = 0;                 // kU64, kI64 (two's complement), kBool
  std::string bytes;                   // kBytes
  std::vector<ResultRecord> children;  // kBegin ... kEnd
};

struct DecodedResult {
  uint32_t operation = 0;
  std::vector<ResultRecord> records;  // top level
};

// Decodes `stream` answering `expected_operation`. On failure returns false
// and sets *error to a short description ("record 3 overruns the stream").
bool DecodeResult(const std::vector<uint8_t>& stream, uint32_t expected_operation,
                  DecodedResult* out, std::string* error);

// The first record with `tag` among `records`, or nullptr.
const ResultRecord* FindRecord(const std::vector<ResultRecord>& records, uint16_t tag);

// The error object (abi kTagError) a failed operation emits.
struct GuestError {
  uint64_t code = 0;    // an instar::StatusCode
  std::string message;  // made printable; may hold several lines
};

// The error when the result is an error result; std::nullopt when it is not.
// Sets *malformed when the error object itself is broken: not the only
// record, or a field missing, repeated, mistyped or unknown (it is read with
// FieldReader, field_reader.h, like every view).
std::optional<GuestError> FindGuestError(const DecodedResult& result, bool* malformed);

// `text` with every control character but '\n' replaced by '?', so guest
// text can be printed on a terminal.
std::string PrintableText(const std::string& text);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RESULT_RESULT_DECODER_H_
