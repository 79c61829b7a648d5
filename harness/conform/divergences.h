// cases/divergences.json: the known, unavoidable differences between
// qemu-img and instar, and where they apply.
//
//   {"description": "...",
//    "divergences": [
//      {"name": "host-disk-size", "filter": "disk-size",
//       "output-types": ["info-human"], "reason": "..."},
//      {"name": "...", "skip": ["qcow2/qcow2-foo", "vmdk-*"],
//       "output-types": ["info-json"], "versions": ["5.2.0"], "reason": "..."}]}
//
// Each entry has a unique `name`, a non-empty `reason` and exactly one of
//   `filter`  the name of a filter (filters.h) applied to both sides of every
//             case the entry covers; it must read the syntax (human, JSON) of
//             each of the entry's output types;
//   `skip`    case globs (fnmatch, against "name" and "bucket/name"): those
//             cases are not run and count as skipped, with the reason;
//   `stderr`  case globs as for skip: those cases run and are judged, but
//             their stderr is not compared (instar's error is not qemu-img's
//             there, for the reason given);
//   `difffuzz` script globs (fnmatch, against the minimised script of an
//             `instar-harness difffuzz` disagreement, one line per step,
//             "qemu-img create -f qcow2 ..."; difffuzz/runner.h): such a
//             disagreement is explained, with the reason. conform ignores
//             these entries; difffuzz ignores skip entries (its images are
//             not corpus cases) but applies the filters as conform does.
// It covers the cases of `output-types` (required, non-empty) narrowed by
// the optional `formats` (buckets: raw, qcow2, vmdk, vpc, vhd, vhdx, _size),
// `versions` (X.Y.Z; a profile is covered when any of its versions is
// listed) and, for a filter, `cases` (globs as for skip). A difffuzz image's
// bucket is its format. An absent narrowing
// key means all.
//
// A bad entry is one HarnessError line naming the file and the entry:
//   cases/divergences.json: divergences[1] "host-actual-size": unknown filter "actualsize" (...)
#ifndef INSTAR_HARNESS_CONFORM_DIVERGENCES_H_
#define INSTAR_HARNESS_CONFORM_DIVERGENCES_H_

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "harness/conform/filters.h"

namespace instar::harness {

struct Divergence {
  std::string name;
  const NamedFilter* filter = nullptr;    // a filter entry
  std::vector<std::string> skip;          // a skip entry: case globs (non-empty)
  std::vector<std::string> stderr_cases;  // a stderr entry: case globs (non-empty)
  std::vector<std::string> difffuzz;      // a difffuzz entry: script globs (non-empty)
  std::vector<std::string> output_types;
  std::vector<std::string> formats;   // empty: every bucket
  std::vector<std::string> versions;  // empty: every version
  std::vector<std::string> cases;     // empty: every case (filter entries only)
  std::string reason;

  bool is_skip() const { return !skip.empty(); }
  bool is_stderr() const { return !stderr_cases.empty(); }
  bool is_difffuzz() const { return !difffuzz.empty(); }
};

struct Divergences {
  std::vector<Divergence> entries;
};

// The case a divergence is asked about.
struct CaseScope {
  std::string output_type;
  std::string bucket;
  std::string name;
  std::vector<std::string> versions;  // the versions the baseline stands for
};

Divergences ParseDivergencesFile(const std::filesystem::path& path);
Divergences ParseDivergencesText(std::string_view text, const std::string& origin);

// Whether `entry` covers `scope` (for a skip entry: whether it skips it).
bool Covers(const Divergence& entry, const CaseScope& scope);

// The first skip entry covering `scope`, or null.
const Divergence* FindSkip(const Divergences& divergences, const CaseScope& scope);

// The first stderr entry covering `scope`, or null: its stderr is not
// compared.
const Divergence* FindStderrDivergence(const Divergences& divergences, const CaseScope& scope);
// Applies every filter entry covering `scope`, in file order. `applied`, when
// given, receives the names of the entries that changed something.
std::string Normalise(std::string_view text, const Divergences& divergences, const CaseScope& scope,
                      std::vector<std::string>* applied = nullptr);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CONFORM_DIVERGENCES_H_
