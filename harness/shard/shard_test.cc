#include "harness/shard/shard.h"

#include <gtest/gtest.h>

#include "harness/testing/test_support.h"

namespace instar::harness {
namespace {

using testing::ErrorOf;

TEST(ShardTest, ParsesKOfN) {
  EXPECT_EQ(ParseShard("1/1"), (Shard{1, 1}));
  EXPECT_EQ(ParseShard("3/4"), (Shard{3, 4}));
  EXPECT_EQ(ParseShard("12/80").Text(), "12/80");
  for (const char* bad : {"", "3", "0/4", "5/4", "1/0", "a/4", "1/4/2", " 1/4", "1/4 ", "-1/4",
                          "1/", "/4", "9999999/9999999"}) {
    EXPECT_EQ(ErrorOf([&] { (void)ParseShard(bad); }),
              std::string("--shard must be K/N with 1 <= K <= N, not \"") + bad + "\"")
        << bad;
  }
}

TEST(ShardTest, KeyIsOutputTypeBucketAndCase) {
  CaseSpec spec;
  spec.output_type = "measure-json";
  spec.bucket = "_size";
  spec.name = "1G-qcow2-default";
  EXPECT_EQ(ShardKey(spec), "measure-json/_size/1G-qcow2-default");
}

// The N shards of any list of keys are a partition of its distinct keys,
// sizes differing by at most one, whatever order or repeats the list has.
TEST(ShardTest, DealIsAnEvenPartitionThatIgnoresOrderAndRepeats) {
  std::vector<std::string> keys;
  for (int i = 0; i < 103; ++i) keys.push_back("t/b/case-" + std::to_string(i * 37 % 103));
  std::vector<std::string> shuffled(keys.rbegin(), keys.rend());
  shuffled.insert(shuffled.end(), keys.begin(), keys.begin() + 20);  // repeats
  for (unsigned n : {1u, 2u, 3u, 4u, 7u, 103u, 200u}) {
    std::set<std::string> all;
    size_t smallest = SIZE_MAX, largest = 0;
    for (unsigned k = 1; k <= n; ++k) {
      const std::set<std::string> part = DealKeys(keys, {k, n});
      EXPECT_EQ(part, DealKeys(shuffled, {k, n}));
      smallest = std::min(smallest, part.size());
      largest = std::max(largest, part.size());
      for (const auto& key : part) EXPECT_TRUE(all.insert(key).second) << key << " twice";
    }
    EXPECT_EQ(all.size(), 103u) << n;
    EXPECT_LE(largest - smallest, 1u) << n;
  }
  // Round-robin over the sorted keys: neighbours go to different shards.
  EXPECT_EQ(DealKeys({"d", "a", "c", "b", "e"}, {1, 2}), (std::set<std::string>{"a", "c", "e"}));
  EXPECT_EQ(DealKeys({"d", "a", "c", "b", "e"}, {2, 2}), (std::set<std::string>{"b", "d"}));
}

}  // namespace
}  // namespace instar::harness
