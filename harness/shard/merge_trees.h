// Joining the baseline trees of a sharded generate (`generate --shard K/N
// --out DIR` in each shard) into the tree the unsharded run gives.
//
// The shards' trees say which output types and versions they hold; merge
// plans those output types' cases again from the case files (the same
// planner as generate, generate/generator.h), so it needs no record of its
// own from the shards and checks what they hold against the plan:
//   - every planned case of every version present must be recorded in one
//     of the shard directories (a missing shard, or one cut short, is an
//     error naming the first cases missing); a case found in two is taken
//     when their bytes agree and is an error when they do not;
//   - files of no planned case (stale ones in a reused shard directory) are
//     left behind and counted;
//   - the cases are copied into --out with the store's CopyRecord (meta.json
//     last; a file that already holds the same bytes is not rewritten), and
//     without --case the files of those output types and versions that were
//     not copied are removed from --out, as an unsharded generate removes
//     what it did not write.
// So merging into an empty directory gives the unsharded run's tree, and
// merging into an existing tree (baselines/) what regenerating it unsharded
// gives, byte for byte.
#ifndef INSTAR_HARNESS_SHARD_MERGE_TREES_H_
#define INSTAR_HARNESS_SHARD_MERGE_TREES_H_

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace instar::harness {

struct MergeTreesRequest {
  std::vector<std::filesystem::path> shards;  // each a generate --out directory
  std::filesystem::path out;
  std::filesystem::path cases_dir = "cases";
  std::vector<std::string> case_globs;  // as generate's --case: only these, and no pruning
};

struct MergeTreesReport {
  size_t shards = 0;
  std::vector<std::string> output_types;  // in the shards, sorted
  std::vector<std::string> versions;      // in the shards, in version order
  size_t cases = 0;                       // (case, version) pairs copied
  size_t pruned_files = 0;                // removed from --out
  std::vector<std::string> ignored;       // shard files of no planned case, sorted
};

// Throws HarnessError (a missing case, two shards that disagree, a directory
// that is not a baseline tree) before anything is written.
MergeTreesReport MergeBaselineTrees(const MergeTreesRequest& request);

std::string FormatMergeSummary(const MergeTreesRequest& request, const MergeTreesReport& report);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_SHARD_MERGE_TREES_H_
