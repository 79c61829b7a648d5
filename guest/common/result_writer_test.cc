#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "instar/engine/bytes.h"
#include "instar/guest/result_codec.h"

namespace instar::guest {
namespace {

TEST(ResultWriterTest, WritesHeaderAndPaddedRecords) {
  std::vector<uint8_t> buffer(256);
  ResultWriter writer(buffer.data(), buffer.size());
  writer.Start(2);
  ASSERT_TRUE(writer.U64(16, 0x1122334455667788ull).ok());
  ASSERT_TRUE(writer.String(17, "abc").ok());
  Result<ByteView> stream = writer.Finish();
  ASSERT_TRUE(stream.ok());
  ASSERT_EQ(stream->size, 16u + 16u + 16u);
  EXPECT_EQ(LoadLE32(buffer.data()), abi::kResultMagic);
  EXPECT_EQ(LoadLE32(buffer.data() + 4), 2u);
  EXPECT_EQ(LoadLE32(buffer.data() + 8), 32u);
  EXPECT_EQ(LoadLE16(buffer.data() + 16), 16);
  EXPECT_EQ(buffer[18], static_cast<uint8_t>(abi::RecordType::kU64));
  EXPECT_EQ(LoadLE64(buffer.data() + 24), 0x1122334455667788ull);
  EXPECT_EQ(LoadLE32(buffer.data() + 36), 3u);
  EXPECT_EQ(std::memcmp(buffer.data() + 40, "abc\0\0\0\0\0", 8), 0);
}

TEST(ResultWriterTest, FailsWithNoSpaceInsteadOfOverflowing) {
  // A canary after the capacity must survive every attempt to write past it.
  std::vector<uint8_t> buffer(64 + 8, 0xAA);
  ResultWriter writer(buffer.data(), 64);
  writer.Start(1);
  ASSERT_TRUE(writer.U64(16, 1).ok());            // 16 + 16 bytes
  ASSERT_TRUE(writer.U64(16, 2).ok());            // 48 bytes
  Status s = writer.Bytes(17, "0123456789", 10);  // would need 24 more
  EXPECT_EQ(s.code(), StatusCode::kNoSpace);
  // Sticky: later small records fail too, and Finish reports it.
  EXPECT_EQ(writer.Bool(18, true).code(), StatusCode::kNoSpace);
  EXPECT_FALSE(writer.Finish().ok());
  for (size_t i = 64; i < buffer.size(); ++i) EXPECT_EQ(buffer[i], 0xAA) << i;
}

TEST(ResultWriterTest, NeverExceedsMaxResult) {
  std::vector<uint8_t> buffer(abi::kMaxResult + 4096);
  ResultWriter writer(buffer.data(), buffer.size());
  writer.Start(1);
  std::vector<uint8_t> blob(64 * 1024, 'x');
  Status s;
  int written = 0;
  while ((s = writer.Bytes(16, blob.data(), blob.size())).ok()) ++written;
  EXPECT_EQ(s.code(), StatusCode::kNoSpace);
  EXPECT_LE(writer.size(), abi::kMaxResult);
  EXPECT_EQ(written, 15);  // 16 header bytes + 15 * (8 + 65536) <= 1 MiB < 16 records
}

TEST(ResultWriterTest, RejectsUnbalancedNesting) {
  std::vector<uint8_t> buffer(1024);
  ResultWriter writer(buffer.data(), buffer.size());
  writer.Start(1);
  EXPECT_EQ(writer.End().code(), StatusCode::kInvalidArgument);
  writer.Start(1);
  ASSERT_TRUE(writer.Begin(16).ok());
  EXPECT_FALSE(writer.Finish().ok());
  writer.Start(1);
  for (uint32_t i = 0; i < abi::kMaxRecordDepth; ++i) ASSERT_TRUE(writer.Begin(16).ok());
  EXPECT_EQ(writer.Begin(16).code(), StatusCode::kOutOfRange);
}

TEST(ResultWriterTest, ErrorResultHasTheAbiShape) {
  std::vector<uint8_t> buffer(1024);
  ResultWriter writer(buffer.data(), buffer.size());
  ASSERT_TRUE(WriteErrorResult(writer, 2, StatusCode::kCorruption, "bad", 3).ok());
  Result<ByteView> stream = writer.Finish();
  ASSERT_TRUE(stream.ok());
  // Begin(1), U64(2), Bytes(3), End.
  EXPECT_EQ(LoadLE16(buffer.data() + 16), abi::kTagError);
  EXPECT_EQ(buffer[18], static_cast<uint8_t>(abi::RecordType::kBegin));
  EXPECT_EQ(LoadLE16(buffer.data() + 24), abi::kTagErrorCode);
  EXPECT_EQ(LoadLE64(buffer.data() + 32), static_cast<uint64_t>(StatusCode::kCorruption));
  EXPECT_EQ(LoadLE16(buffer.data() + 40), abi::kTagErrorMessage);
  EXPECT_EQ(buffer[58], static_cast<uint8_t>(abi::RecordType::kEnd));
  EXPECT_EQ(stream->size, 64u);
}

}  // namespace
}  // namespace instar::guest
