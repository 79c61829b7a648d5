#include "instar/guest/result_codec.h"

namespace instar::guest {

namespace {

constexpr size_t kHeaderSize = sizeof(abi::ResultHeader);
constexpr size_t kRecordHeaderSize = sizeof(abi::RecordHeader);

}  // namespace

ResultWriter::ResultWriter(void* buffer, size_t capacity)
    : buffer_(static_cast<uint8_t*>(buffer)),
      capacity_(capacity < abi::kMaxResult ? capacity : abi::kMaxResult) {}

void ResultWriter::Start(uint32_t operation) {
  operation_ = operation;
  depth_ = 0;
  status_ = Status::Ok();
  if (capacity_ < kHeaderSize) {
    used_ = 0;
    status_ = Status::NoSpace("result buffer is smaller than a result header");
    return;
  }
  FillBytes(buffer_, 0, kHeaderSize);
  used_ = kHeaderSize;
}

Status ResultWriter::Append(uint16_t tag, abi::RecordType type, const void* payload,
                            size_t length) {
  if (!status_.ok()) return status_;
  if (used_ < kHeaderSize) return status_ = Status::NoSpace("result stream was not started");
  // Every size below is bounded by capacity_ (<= kMaxResult), so the sums
  // cannot overflow once `length` itself is known to fit.
  if (length > capacity_ || length > UINT32_MAX) {
    return status_ = Status::NoSpace("result record is too large");
  }
  const size_t padded = static_cast<size_t>(AlignUp(length, 8));
  if (kRecordHeaderSize + padded > capacity_ - used_) {
    return status_ = Status::NoSpace("result is too large");
  }
  uint8_t* p = buffer_ + used_;
  StoreLE16(p, tag);
  p[2] = static_cast<uint8_t>(type);
  p[3] = 0;
  StoreLE32(p + 4, static_cast<uint32_t>(length));
  if (length > 0) CopyBytes(p + kRecordHeaderSize, payload, length);
  if (padded > length) FillBytes(p + kRecordHeaderSize + length, 0, padded - length);
  used_ += kRecordHeaderSize + padded;
  return Status::Ok();
}

Status ResultWriter::U64(uint16_t tag, uint64_t value) {
  uint8_t bytes[8];
  StoreLE64(bytes, value);
  return Append(tag, abi::RecordType::kU64, bytes, sizeof(bytes));
}

Status ResultWriter::I64(uint16_t tag, int64_t value) {
  uint8_t bytes[8];
  StoreLE64(bytes, static_cast<uint64_t>(value));
  return Append(tag, abi::RecordType::kI64, bytes, sizeof(bytes));
}

Status ResultWriter::Bool(uint16_t tag, bool value) {
  const uint8_t byte = value ? 1 : 0;
  return Append(tag, abi::RecordType::kBool, &byte, 1);
}

Status ResultWriter::Bytes(uint16_t tag, const void* data, size_t length) {
  return Append(tag, abi::RecordType::kBytes, data, length);
}

Status ResultWriter::String(uint16_t tag, const char* text) {
  size_t length = 0;
  while (text[length] != '\0') ++length;
  return Bytes(tag, text, length);
}

Status ResultWriter::Begin(uint16_t tag) {
  if (!status_.ok()) return status_;
  if (depth_ >= abi::kMaxRecordDepth) {
    return status_ = Status::OutOfRange("result nests too deeply");
  }
  INSTAR_RETURN_IF_ERROR(Append(tag, abi::RecordType::kBegin, nullptr, 0));
  ++depth_;
  return Status::Ok();
}

Status ResultWriter::End() {
  if (!status_.ok()) return status_;
  if (depth_ == 0) return status_ = Status::InvalidArgument("result End() without Begin()");
  INSTAR_RETURN_IF_ERROR(Append(0, abi::RecordType::kEnd, nullptr, 0));
  --depth_;
  return Status::Ok();
}

Result<ByteView> ResultWriter::Finish() {
  if (!status_.ok()) return status_;
  if (used_ < kHeaderSize) return Status::InvalidArgument("result stream was not started");
  if (depth_ != 0) return Status::InvalidArgument("result has an unclosed Begin()");
  StoreLE32(buffer_, abi::kResultMagic);
  StoreLE32(buffer_ + 4, operation_);
  StoreLE32(buffer_ + 8, static_cast<uint32_t>(used_ - kHeaderSize));
  StoreLE32(buffer_ + 12, 0);
  return ByteView{buffer_, used_};
}

Status WriteErrorResult(ResultWriter& writer, uint32_t operation, StatusCode code,
                        const char* message, size_t message_length) {
  writer.Start(operation);
  INSTAR_RETURN_IF_ERROR(writer.Begin(abi::kTagError));
  INSTAR_RETURN_IF_ERROR(writer.U64(abi::kTagErrorCode, static_cast<uint64_t>(code)));
  INSTAR_RETURN_IF_ERROR(writer.Bytes(abi::kTagErrorMessage, message, message_length));
  return writer.End();
}

}  // namespace instar::guest
