// The result decoder on streams a broken or hostile guest could send. Valid
// streams come from the guest's own ResultWriter.
#include "vmm/result/result_decoder.h"

#include <vector>

#include <gtest/gtest.h>

#include "instar/guest/measure_result.h"
#include "instar/guest/result_codec.h"
#include "vmm/result/measure_view.h"
#include "vmm/testing/result_stream.h"

namespace instar::vmm {
namespace {

constexpr uint32_t kOp = static_cast<uint32_t>(abi::Operation::kMeasure);

std::vector<uint8_t> Encode(void (*fill)(guest::ResultWriter&)) {
  return testing::EncodeResult(kOp, fill);
}

std::vector<uint8_t> MeasureStream() {
  return Encode([](guest::ResultWriter& w) {
    (void)w.U64(measure_result::kTagRequired, 393216);
    (void)w.U64(measure_result::kTagFullyAllocated, 1074135040);
    (void)w.Begin(40);
    (void)w.String(41, "nested");
    (void)w.End();
  });
}

void SetLe32(std::vector<uint8_t>& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

TEST(ResultDecoderTest, DecodesWhatTheGuestWrites) {
  DecodedResult result;
  std::string error;
  ASSERT_TRUE(DecodeResult(MeasureStream(), kOp, &result, &error)) << error;
  ASSERT_EQ(result.records.size(), 3u);
  EXPECT_EQ(result.records[2].children.size(), 1u);
  EXPECT_EQ(result.records[2].children[0].bytes, "nested");
  // The decoder knows no tags; the views refuse the ones they do not know.
  MeasureView view;
  EXPECT_FALSE(ReadMeasureView(result, &view, &error));
  EXPECT_EQ(error, "the result has an unknown field 40");
}

TEST(ResultDecoderTest, RejectsEveryTruncation) {
  const std::vector<uint8_t> good = MeasureStream();
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<long>(n));
    DecodedResult result;
    std::string error;
    EXPECT_FALSE(DecodeResult(cut, kOp, &result, &error)) << n;
    // Also with the header's length patched to agree with the cut size.
    if (n >= 16) {
      SetLe32(cut, 8, static_cast<uint32_t>(n - 16));
      const bool ok = DecodeResult(cut, kOp, &result, &error);
      // Only cuts at a record boundary outside the nested object decode.
      EXPECT_EQ(ok, n == 16 || n == 32 || n == 48) << n;
    }
  }
}

TEST(ResultDecoderTest, RejectsGarbledHeaders) {
  DecodedResult result;
  std::string error;
  std::vector<uint8_t> s = MeasureStream();
  s[0] ^= 1;
  EXPECT_FALSE(DecodeResult(s, kOp, &result, &error));
  EXPECT_FALSE(DecodeResult(MeasureStream(), kOp + 1, &result, &error));
  s = MeasureStream();
  SetLe32(s, 8, 0xffffffff);
  EXPECT_FALSE(DecodeResult(s, kOp, &result, &error));
  s = MeasureStream();
  s[12] = 1;  // reserved
  EXPECT_FALSE(DecodeResult(s, kOp, &result, &error));
}

TEST(ResultDecoderTest, RejectsBadRecords) {
  const struct {
    const char* what;
    size_t at;
    uint8_t value;
  } cases[] = {
      {"unknown type", 18, 0},       {"type 7", 18, 7},
      {"reserved", 19, 1},           {"u64 with length 7", 20, 7},
      {"length past end", 23, 0x80}, {"non-zero padding", 70, 1},
      {"bool as u64 type", 18, 3},
  };
  for (const auto& c : cases) {
    std::vector<uint8_t> s = MeasureStream();
    s[c.at] = c.value;
    DecodedResult result;
    std::string error;
    EXPECT_FALSE(DecodeResult(s, kOp, &result, &error)) << c.what;
  }
}

TEST(ResultDecoderTest, LimitsNestingAndBalance) {
  // Nine levels: one past kMaxRecordDepth.
  std::vector<uint8_t> s(16, 0);
  auto record = [&](uint8_t type) {
    const uint8_t header[8] = {16, 0, type, 0, 0, 0, 0, 0};
    s.insert(s.end(), header, header + 8);
  };
  for (int i = 0; i < 9; ++i) record(static_cast<uint8_t>(abi::RecordType::kBegin));
  for (int i = 0; i < 9; ++i) record(static_cast<uint8_t>(abi::RecordType::kEnd));
  SetLe32(s, 0, abi::kResultMagic);
  SetLe32(s, 4, kOp);
  SetLe32(s, 8, static_cast<uint32_t>(s.size() - 16));
  DecodedResult result;
  std::string error;
  EXPECT_FALSE(DecodeResult(s, kOp, &result, &error));
  EXPECT_NE(error.find("deep"), std::string::npos) << error;

  // An End with nothing open, and a Begin never closed.
  std::vector<uint8_t> t(16, 0);
  s = t;
  record(static_cast<uint8_t>(abi::RecordType::kEnd));
  SetLe32(s, 0, abi::kResultMagic);
  SetLe32(s, 4, kOp);
  SetLe32(s, 8, 8);
  EXPECT_FALSE(DecodeResult(s, kOp, &result, &error));
  s[18] = static_cast<uint8_t>(abi::RecordType::kBegin);
  EXPECT_FALSE(DecodeResult(s, kOp, &result, &error));
}

TEST(ResultDecoderTest, ReadsErrorResultsAndCleansTheirText) {
  std::vector<uint8_t> buffer(512);
  guest::ResultWriter writer(buffer.data(), buffer.size());
  ASSERT_TRUE(
      guest::WriteErrorResult(writer, kOp, StatusCode::kCorruption, "bad\x1b[31m\nline", 13).ok());
  Result<ByteView> stream = writer.Finish();
  ASSERT_TRUE(stream.ok());
  buffer.resize(stream->size);
  DecodedResult result;
  std::string error;
  ASSERT_TRUE(DecodeResult(buffer, kOp, &result, &error)) << error;
  bool malformed = true;
  const std::optional<GuestError> guest_error = FindGuestError(result, &malformed);
  ASSERT_TRUE(guest_error.has_value());
  EXPECT_FALSE(malformed);
  EXPECT_EQ(guest_error->message, "bad?[31m\nline");
  EXPECT_EQ(guest_error->code, static_cast<uint64_t>(StatusCode::kCorruption));
}

// The error object is read like every view: a field it does not define, or
// one given twice, makes the result malformed rather than being skipped.
TEST(ResultDecoderTest, ErrorObjectRejectsUnknownAndRepeatedFields) {
  const auto error_with = [](uint16_t extra_tag) {
    return testing::DecodeWritten(kOp, [extra_tag](guest::ResultWriter& w) {
      (void)w.Begin(abi::kTagError);
      (void)w.U64(abi::kTagErrorCode, 1);
      (void)w.String(abi::kTagErrorMessage, "bad");
      if (extra_tag != 0) (void)w.U64(extra_tag, 2);
      (void)w.End();
    });
  };
  bool malformed = true;
  EXPECT_TRUE(FindGuestError(error_with(0), &malformed).has_value());
  EXPECT_FALSE(malformed);
  EXPECT_FALSE(FindGuestError(error_with(4), &malformed).has_value());  // unknown
  EXPECT_TRUE(malformed);
  EXPECT_FALSE(FindGuestError(error_with(abi::kTagErrorCode), &malformed).has_value());
  EXPECT_TRUE(malformed);
  // Not an error result at all: no error, and nothing malformed.
  const DecodedResult measure = testing::DecodeWritten(
      kOp, [](guest::ResultWriter& w) { (void)w.U64(measure_result::kTagRequired, 1); });
  EXPECT_FALSE(FindGuestError(measure, &malformed).has_value());
  EXPECT_FALSE(malformed);
}

}  // namespace
}  // namespace instar::vmm
