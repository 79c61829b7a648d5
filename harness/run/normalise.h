// Output filters: the named, small rewrites applied to what qemu-img printed
// before it is recorded (and, later, to what instar prints before it is
// compared). See docs/harness.md, "Rewrites".
//
// RewritePaths replaces host paths by placeholders: the case's scratch file
// by $FILENAME, the materialised corpus directory by $TESTDATA_ROOT. Longer
// paths are replaced first so a path inside another is never half-rewritten.
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

struct PathRewrite {
  std::string path;         // as the child saw it, absolute
  std::string placeholder;  // "$FILENAME"
};

std::string RewritePaths(std::string_view text, std::vector<PathRewrite> rewrites);
std::string FilterRandomCid(std::string_view text);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_RUN_NORMALISE_H_
