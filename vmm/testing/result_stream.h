// Result streams for the host's tests, written by the guest's own
// ResultWriter, so a test starts from a well-formed stream and changes only
// what it means to.
#ifndef INSTAR_VMM_TESTING_RESULT_STREAM_H_
#define INSTAR_VMM_TESTING_RESULT_STREAM_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "instar/guest/result_codec.h"
#include "vmm/result/result_decoder.h"

namespace instar::vmm::testing {

// The stream answering `operation` that `fill` writes.
inline std::vector<uint8_t> EncodeResult(uint32_t operation,
                                         const std::function<void(guest::ResultWriter&)>& fill) {
  std::vector<uint8_t> buffer(1 << 16);
  guest::ResultWriter writer(buffer.data(), buffer.size());
  writer.Start(operation);
  fill(writer);
  Result<ByteView> stream = writer.Finish();
  EXPECT_TRUE(stream.ok());
  buffer.resize(stream.ok() ? stream->size : 0);
  return buffer;
}

// That stream, decoded (and expected to decode).
inline DecodedResult DecodeWritten(uint32_t operation,
                                   const std::function<void(guest::ResultWriter&)>& fill) {
  DecodedResult result;
  std::string error;
  EXPECT_TRUE(DecodeResult(EncodeResult(operation, fill), operation, &result, &error)) << error;
  return result;
}

// Why `read` (ReadInfoView, ReadMeasureView ...) refuses the stream `fill`
// writes for `operation`; "" when it reads it, into *view.
template <typename View>
std::string Refusal(bool (*read)(const DecodedResult&, View*, std::string*), uint32_t operation,
                    const std::function<void(guest::ResultWriter&)>& fill, View* view) {
  std::string error;
  if (read(DecodeWritten(operation, fill), view, &error)) return "";
  return error.empty() ? "(no reason)" : error;
}

}  // namespace instar::vmm::testing

#endif  // INSTAR_VMM_TESTING_RESULT_STREAM_H_
