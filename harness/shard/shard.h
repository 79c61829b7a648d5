// Shards: the cases of one run split over N processes or machines.
//
// `--shard K/N` (generate, conform) keeps the K-th of N parts of the cases
// the run plans. A part is made of whole cases: a case goes to one shard
// with all its versions (generate) or targets (conform), so every shard
// needs the whole matrix but each case runs in one shard only, and a part's
// cost is that of its cases, whatever the number of versions.
//
// The parts: the cases' keys, "<output-type>/<bucket>/<case>", sorted and
// dealt round-robin, shard K taking the keys at sorted positions K-1,
// K-1+N, K-1+2N, ... Neighbours in that order are alike (one output type
// and bucket, names that differ in an option), so the costly kinds (a
// bucket of vhdx pipelines, the corpus's largest images) are spread over
// every shard; the counts of two shards differ by at most one per run. The
// deal depends on the keys alone, not on the order a planner gives them or
// on the versions, so every shard computes the same parts without talking
// to the others.
//
// `instar-harness merge` joins the shards' outputs again (merge_trees.h,
// merge_reports.h): the result is byte for byte the unsharded run's.
#ifndef INSTAR_HARNESS_SHARD_SHARD_H_
#define INSTAR_HARNESS_SHARD_SHARD_H_

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "harness/cases/case_model.h"

namespace instar::harness {

struct Shard {
  unsigned index = 1;  // K, from 1
  unsigned count = 1;  // N

  std::string Text() const;  // "K/N"
  bool operator==(const Shard&) const = default;
};

// "K/N" with 1 <= K <= N; throws HarnessError naming what is wrong.
Shard ParseShard(std::string_view text);

// "<output-type>/<bucket>/<case>": what is dealt.
std::string ShardKey(const CaseSpec& spec);

// The distinct keys of `keys` (repeats allowed) that are dealt to `shard`.
std::set<std::string> DealKeys(std::vector<std::string> keys, const Shard& shard);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_SHARD_SHARD_H_
