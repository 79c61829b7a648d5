// Joining the JSON reports of a sharded conform run (`conform --shard K/N
// --json FILE` in each shard) into the report the unsharded run gives.
//
// Each report is read back strictly (conform/report.h, ParseJsonReport) and
// must be a shard's ("shard": "K/N"); together they must be shards 1 to N
// of one N, each once, of one command, sandbox and instar, with the same
// targets (output type, profile or version, compat, versions) in the same
// order, and no case in two of them. The joined report has the targets in
// that order, each target's cases sorted by bucket, then case, as conform
// orders them, and counts made from the cases: JsonReport, JunitXml and
// HtmlGrid of it are byte for byte those of the unsharded run. (What the
// JSON does not hold is not there: the wall time, and the paths of kept
// failures, which stay in each shard's --output-dir.)
#ifndef INSTAR_HARNESS_SHARD_MERGE_REPORTS_H_
#define INSTAR_HARNESS_SHARD_MERGE_REPORTS_H_

#include <filesystem>
#include <vector>

#include "harness/conform/report.h"

namespace instar::harness {

// Throws HarnessError naming the file and what is wrong.
ConformReport MergeConformReports(const std::vector<std::filesystem::path>& reports);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_SHARD_MERGE_REPORTS_H_
