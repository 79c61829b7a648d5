// Generate: runs every planned case on every selected qemu-img version and
// records the baselines: plan (cases/case_file.h) -> pool -> the steps with
// qemu-img -> store (store/baseline_store.h).
//
// Work is (case, version) pairs handed to the workers of a CasePool
// (run/case_runner.h, which says where scratch files and the corpus live);
// a worker runs a whole case, a pipeline's steps in order, and hands the
// result to a writer thread.
//
// Files are written atomically, meta.json last; --resume skips recorded
// cases. An Interrupt stops the run between cases: children are killed, the
// case in flight is not written. A full run (no case filter) also removes
// files of the versions and output types it generated that it did not write,
// so generating twice gives byte-identical trees even after cases were
// renamed or dropped.
//
// With a shard (shard/shard.h) only the shard's cases run, every version of
// each, and the pruning spares every case of the whole plan: a sharded run
// removes the stale files (cases renamed or dropped) and never the files of
// the other shards' cases, so shards run one after another into one --out
// leave what the unsharded run leaves. Shards that run at once each get an
// --out of their own, and `instar-harness merge` joins them
// (shard/merge_trees.h).
#ifndef INSTAR_HARNESS_GENERATE_GENERATOR_H_
#define INSTAR_HARNESS_GENERATE_GENERATOR_H_

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "harness/cases/case_model.h"
#include "harness/matrix/matrix.h"
#include "harness/run/interrupt.h"
#include "harness/run/progress.h"
#include "harness/shard/shard.h"

namespace instar::harness {

struct GenerateRequest {
  std::string command;  // a command of the command table (cases/commands.h)
  std::filesystem::path cases_dir = "cases";
  std::filesystem::path out_dir = "baselines";
  Matrix matrix;                          // already narrowed to the versions wanted
  std::vector<std::string> output_types;  // empty: all of the command's
  unsigned jobs = 0;                      // 0: one per core
  std::chrono::milliseconds timeout = std::chrono::seconds(60);  // per step
  bool resume = false;
  std::vector<std::string> case_globs;  // against "name" and "bucket/name"; empty: all
  std::optional<Shard> shard;           // only this shard's cases; none: all
  ProgressStyle progress = ProgressStyle::kAuto;
};

struct GenerateReport {
  size_t cases = 0;     // (case, version) pairs planned (of the shard, with one)
  size_t planned = 0;   // (case, version) pairs of the whole plan, every shard's
  size_t recorded = 0;  // written by this run
  size_t skipped = 0;   // already recorded (--resume)
  size_t versions = 0;
  size_t nonzero_exits = 0;            // recorded cases whose last step exited non-zero
  size_t steps_run = 0;                // qemu-img processes run (xz for the corpus not counted)
  std::vector<std::string> timed_out;  // "<type>/<bucket>/<version>/<case>"
  size_t pruned_files = 0;
  unsigned jobs = 0;
  double wall_seconds = 0;
  double children_cpu_seconds = 0;  // user + system of every reaped child
  double self_cpu_seconds = 0;      // user + system of the harness itself
  int interrupted_by = 0;           // the signal, when stopped
  std::vector<std::string> notes;   // worth a line in the summary
};

// Loads cases/<command>.json and the manifest and plans the cases, without
// running anything. Throws HarnessError on a bad case file.
std::vector<CaseSpec> PlanRequest(const GenerateRequest& request);

GenerateReport Generate(const GenerateRequest& request, Interrupt& interrupt);

// The closing lines: counts, wall time and CPU of children and harness.
std::string FormatSummary(const GenerateRequest& request, const GenerateReport& report);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_GENERATE_GENERATOR_H_
