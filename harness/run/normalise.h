// Output filters: the small rewrites the case runner applies to every step's
// stdout and stderr, qemu-img's before they are recorded and instar's before
// they are compared. See docs/baselines.md, "Rewrites and named filters".
//
// RewritePaths replaces host paths by placeholders: the case's scratch file
// by $FILENAME, the materialised corpus directory by $TESTDATA_ROOT. Longer
// paths are replaced first so a path inside another is never half-rewritten.
// Every case gets it.
//
// The named filters are those a case asks for by name (its planner's
// choice, recorded in meta.json); OutputFilters() is their one table:
//
//   random-cid  FilterRandomCid
//
// FilterRandomCid replaces the value of the vmdk "cid" field, which
// `qemu-img create` draws at random on every run, by the placeholder $CID:
//   JSON   "cid": 2674622677      ->  "cid": "$CID"
//   human      cid: 2674622677    ->      cid: $CID
// Exactly that field: "parent-cid" / "parent cid" and every other number are
// left alone. The JSON form keeps the document valid JSON.
#ifndef INSTAR_HARNESS_RUN_NORMALISE_H_
#define INSTAR_HARNESS_RUN_NORMALISE_H_

#include <string>
#include <string_view>
#include <vector>

namespace instar::harness {

inline constexpr std::string_view kCidPlaceholder = "$CID";
inline constexpr std::string_view kRandomCidFilter = "random-cid";

struct PathRewrite {
  std::string path;         // as the child saw it, absolute
  std::string placeholder;  // "$FILENAME"
};

std::string RewritePaths(std::string_view text, std::vector<PathRewrite> rewrites);
std::string FilterRandomCid(std::string_view text);

struct OutputFilter {
  std::string_view name;
  std::string (*apply)(std::string_view text);
};

const std::vector<OutputFilter>& OutputFilters();
// Throws HarnessError for a name that is not in the table.
const OutputFilter& FindOutputFilter(std::string_view name);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_RUN_NORMALISE_H_
