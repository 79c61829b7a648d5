// Conform: runs instar on the recorded cases of every selected output type
// and target (profile, or version of a baseline tree) and judges each case:
// store (store/baseline_store.h) -> pool -> the same steps with
// `instar --compat V` -> judge (outcome.h).
//
// The cases are read back from the store as the CaseSpecs generate ran, and
// run by the same case runner (run/case_runner.h): the fixture is recreated
// (the corpus, materialised once per run, and an empty scratch file per
// worker), each recorded step runs with `instar [--sandbox=KIND] --compat V`
// in place of qemu-img (instar_argv.h), and the steps stop at the first that
// fails, as generate's did. instar's output gets the same path rewrites and
// named filters as the baseline got; then both sides' stdout go through the
// divergence filters (divergences.h) and the case is judged.
//
// A step instar cannot run, because its qemu-img command is one instar
// does not implement (none since convert; compare's "flatten", a `qemu-img
// convert -O raw`, was one until then), only
// prepares the input of the steps after it: it runs with the matrix's
// qemu-img of the target's compat version (found as `matrix` finds it,
// --binaries first), the steps after it with instar. The last step, whose
// output is judged, is always instar's.
//
// A failing case leaves <output-dir>/<type>/<target>/<bucket>/<case>.out
// (the expected stdout, normalised), .out.bad (instar's, normalised),
// .err.bad (instar's stderr) and .diff; a passing case removes them, so the
// directory holds exactly the failures of the latest run of each case.
//
// With a shard (shard/shard.h) only the shard's cases run, each against
// every target; its report says which shard it is, and `instar-harness
// merge` joins the shards' JSON reports into the unsharded run's reports
// (shard/merge_reports.h).
#ifndef INSTAR_HARNESS_CONFORM_CONFORMER_H_
#define INSTAR_HARNESS_CONFORM_CONFORMER_H_

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "harness/conform/conform_cases.h"
#include "harness/conform/divergences.h"
#include "harness/conform/report.h"
#include "harness/run/interrupt.h"
#include "harness/run/progress.h"
#include "harness/shard/shard.h"

namespace instar::harness {

struct ConformRequest {
  std::string command;                    // a command instar implements (cases/commands.h)
  std::vector<std::string> output_types;  // empty: all of the command's
  TargetSelection selection;
  std::vector<std::string> case_globs;        // against "name" and "bucket/name"; empty: all
  std::optional<Shard> shard;                 // only this shard's cases; none: all
  std::filesystem::path instar;               // the executable
  std::string sandbox;                        // process, emulated, kvm; empty: instar's default
  std::filesystem::path cases_dir = "cases";  // images/ and the manifest
  std::filesystem::path divergences = "cases/divergences.json";
  std::filesystem::path output_dir;                              // failures are kept here
  unsigned jobs = 0;                                             // 0: one per core
  std::chrono::milliseconds timeout = std::chrono::seconds(60);  // per instar run
  ProgressStyle progress = ProgressStyle::kAuto;
  // The command line that reruns one case: these words, then
  // "--output-type T --profile P --case bucket/name" (or --version V).
  std::vector<std::string> reproduce_prefix;
  // The qemu-img matrix for steps instar cannot run (see above); none:
  // discovered as `matrix` does, and only when a case has such a step.
  std::optional<std::filesystem::path> binaries;
};

struct ConformPlan {
  Divergences divergences;
  std::vector<ConformTarget> targets;  // cases narrowed by the --case globs and the shard
};

// Checks the request and reads everything it needs (divergences, version
// maps, meta.json files) without running anything. Throws HarnessError.
ConformPlan PlanConform(const ConformRequest& request);

// Runs the cases. The report's cases are in target order, sorted by id
// within a target. An interrupt leaves the cases not yet run out of the
// report; the caller checks interrupt.stopping().
ConformReport Conform(const ConformRequest& request, Interrupt& interrupt);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CONFORM_CONFORMER_H_
