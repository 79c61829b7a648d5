// ResultWriter: encodes one result stream (abi.h: ResultHeader, then records)
// into a caller-supplied buffer, freestanding.
//
// The writer never writes past its buffer and never produces a stream longer
// than abi::kMaxResult: a record that does not fit fails with
// Status::NoSpace, and the failure is sticky, so an operation may write a
// run of records and check once. Finish() refuses a stream with an open
// Begin(), so every stream it returns is well-formed. The host decodes the
// bytes as untrusted input (vmm/result/result_decoder.h).
#ifndef INSTAR_GUEST_RESULT_CODEC_H_
#define INSTAR_GUEST_RESULT_CODEC_H_

#include <cstddef>
#include <cstdint>

#include "instar/engine/bytes.h"
#include "instar/engine/status.h"
#include "instar/guest/abi.h"

namespace instar::guest {

class ResultWriter {
 public:
  // `capacity` beyond abi::kMaxResult is not used.
  ResultWriter(void* buffer, size_t capacity);

  // Discards everything written and starts a stream answering `operation`.
  void Start(uint32_t operation);

  Status U64(uint16_t tag, uint64_t value);
  Status I64(uint16_t tag, int64_t value);
  Status Bool(uint16_t tag, bool value);
  Status Bytes(uint16_t tag, const void* data, size_t length);
  // A NUL-terminated string, without its NUL.
  Status String(uint16_t tag, const char* text);
  // Opens a nested object (at most abi::kMaxRecordDepth deep); End() closes it.
  Status Begin(uint16_t tag);
  Status End();

  // Completes the header and returns the whole stream. Fails when a record
  // failed or a Begin() is still open.
  Result<ByteView> Finish();

  // The first failure, or Ok.
  Status status() const { return status_; }
  size_t size() const { return used_; }

 private:
  Status Append(uint16_t tag, abi::RecordType type, const void* payload, size_t length);

  uint8_t* buffer_;
  size_t capacity_;
  size_t used_ = 0;
  uint32_t depth_ = 0;
  uint32_t operation_ = 0;
  Status status_;
};

// Writes the error object of abi.h (kTagError { kTagErrorCode, kTagErrorMessage })
// as the whole stream for `operation`.
Status WriteErrorResult(ResultWriter& writer, uint32_t operation, StatusCode code,
                        const char* message, size_t message_length);

}  // namespace instar::guest

#endif  // INSTAR_GUEST_RESULT_CODEC_H_
