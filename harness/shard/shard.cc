#include "harness/shard/shard.h"

#include <algorithm>
#include <charconv>

#include "harness/core/error.h"

namespace instar::harness {

namespace {

bool ParseUnsigned(std::string_view text, unsigned& value) {
  if (text.empty() || text.size() > 6) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string Shard::Text() const { return std::to_string(index) + "/" + std::to_string(count); }

Shard ParseShard(std::string_view text) {
  const size_t slash = text.find('/');
  Shard shard;
  if (slash == std::string_view::npos || !ParseUnsigned(text.substr(0, slash), shard.index) ||
      !ParseUnsigned(text.substr(slash + 1), shard.count) || shard.index == 0 ||
      shard.index > shard.count) {
    throw HarnessError("--shard must be K/N with 1 <= K <= N, not \"" + std::string(text) + "\"");
  }
  return shard;
}

std::string ShardKey(const CaseSpec& spec) { return spec.output_type + "/" + spec.Id(); }

std::set<std::string> DealKeys(std::vector<std::string> keys, const Shard& shard) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::set<std::string> dealt;
  for (size_t i = shard.index - 1; i < keys.size(); i += shard.count) dealt.insert(keys[i]);
  return dealt;
}

}  // namespace instar::harness
