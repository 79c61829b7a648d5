// The page of a whole conformance run (report/run_report.h): one static,
// self-contained HTML file (inline CSS, no script, nothing loaded from
// anywhere), in this order:
//
//   the verdict line, with the run's pass / fail / skip counts;
//   with a previous run, its changes: newly failing, newly passing, still
//   failing and no longer run cases, each a row linking to its diff;
//   the summary: a row per command and output type (pass, fail, skip, the
//   sandbox and the targets), those with failures marked;
//   per output type (those with failures first), a grid of cases x targets
//   (profiles, or versions), the rows with a failure first; a cell is
//   <td class="pass|fail|skip|none">, a failing one links to its diff and
//   shows its repro line (run_report.h, ReproLine);
//   the failures: one <section id="..."> each, the anchor the cells link
//   to, with the reason, the command, the exit codes, the diff, instar's
//   stderr, the repro line and conform's reproduce command.
//
// The grid's cells are coloured by their class: kCellColours, which the
// Chromium test holds the rendered page to.
#ifndef INSTAR_HARNESS_REPORT_RUN_PAGE_H_
#define INSTAR_HARNESS_REPORT_RUN_PAGE_H_

#include <string>

#include "harness/report/run_report.h"

namespace instar::harness {

struct CellColour {
  const char* state;       // the cell's class: pass, fail, skip, none
  const char* background;  // #rrggbb
};

inline constexpr CellColour kCellColours[] = {
    {"pass", "#c8ecc8"},
    {"fail", "#f4b4b4"},
    {"skip", "#f0e4a8"},
    {"none", "#f4f4f4"},
};

std::string RunHtml(const RunReport& run);
// The page of one command's report (conform --html, merge --html): the
// run's page of that command alone.
std::string CommandHtml(const ConformReport& report);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_REPORT_RUN_PAGE_H_
