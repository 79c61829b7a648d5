// dd's part of the harness: cases/dd.json and the cases it plans.
//
//   {"command": "dd",
//    "cases": [{"case", "input", "input-size", "target", "operands"}...]}
//
// A case is a pipeline on two scratch files, in the bucket of its target,
// which is named as qemu-img's -O names it (vpc, where create and resize
// say vhd):
//
//   qemu-img create -f IN $FILENAME.in SIZE
//   qemu-img dd -f IN -O OUT [bs=N] [count=N] [skip=N] if=$FILENAME.in of=$FILENAME
//   qemu-img info --output=json $FILENAME
//
// The input is empty: what dd makes of a window (the output's virtual size,
// rounded as each output format rounds it) does not depend on the data.
#ifndef INSTAR_HARNESS_CASES_DD_CASES_H_
#define INSTAR_HARNESS_CASES_DD_CASES_H_

#include <string>
#include <vector>

namespace instar::harness {

// The scratch file a dd case reads: "$FILENAME.in".
std::string DdInputPath();

// Checks the window operands of a case: each "bs=N", "count=N" or "skip=N"
// (N digits, for bs with an optional size suffix, as qemu-img dd reads
// them), each key once. Returns an error message, empty when they are good.
std::string CheckDdOperands(const std::vector<std::string>& operands);

// The dd step's argv: qemu-img dd -f IN -O OUT OPERANDS... if=INPUT of=OUTPUT,
// IN and OUT the qemu-img format names.
std::vector<std::string> DdArguments(const std::string& input_format,
                                     const std::string& output_format,
                                     const std::vector<std::string>& operands);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CASES_DD_CASES_H_
