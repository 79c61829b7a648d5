// WriteJson: the harness's one JSON renderer, for meta.json and
// version-map.json.
//
// Output is deterministic: keys in insertion order (boost::json::object keeps
// it), two-space indentation, arrays of scalars on one line, arrays holding
// objects or arrays one element per line, a newline at the end. Integers are
// written exactly; the harness never stores floating-point values. The same
// value always renders to the same bytes, which is what makes regenerated
// baseline trees byte-identical.
#ifndef INSTAR_HARNESS_CORE_JSON_WRITER_H_
#define INSTAR_HARNESS_CORE_JSON_WRITER_H_

#include <string>

#include <boost/json/value.hpp>

namespace instar::harness {

std::string WriteJson(const boost::json::value& value);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CORE_JSON_WRITER_H_
