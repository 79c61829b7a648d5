#include "harness/difffuzz/report.h"

#include <cstdio>

#include "harness/core/words.h"

namespace instar::harness {

namespace {

// Every line of `text` behind `indent`, and a note where it ends without a
// newline, so that the block shows exactly what the program printed.
void AppendIndented(std::string& out, const std::string& text, const std::string& indent) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    const bool last = end == std::string::npos;
    if (last) end = text.size();
    out += indent + text.substr(start, end - start) + "\n";
    if (last) out += indent + "\\ No newline at end\n";
    start = end + 1;
  }
}

void AppendSide(std::string& out, const char* name, const DifffuzzSide& side) {
  out += std::string("  ") + name + ": " + side.line + "\n";
  out +=
      "    exit " + std::to_string(side.exit_code) + (side.timed_out ? " (timed out)" : "") + "\n";
  for (const auto& [label, text] : {std::pair{"stdout", &side.out}, {"stderr", &side.err}}) {
    if (text->empty()) {
      out += std::string("    ") + label + ": (empty)\n";
    } else {
      out += std::string("    ") + label + ":\n";
      AppendIndented(out, *text, "      ");
    }
  }
}

std::string Where(const Disagreement& d) {
  return d.output_type + " of \"$DIR\"/" + d.image.substr(d.image.find('/') + 1) + " (" + d.format +
         ")";
}

}  // namespace

std::string FormatDisagreement(const Disagreement& d) {
  if (!d.explained_by.empty()) {
    return "EXPLAINED seed " + std::to_string(d.seed) + ": " + Where(d) + ", " +
           JoinWords(d.versions) + ": divergence " + d.explained_by + ": " + d.explanation + "\n";
  }
  std::string out = "DISAGREE seed " + std::to_string(d.seed) + ": " + Where(d) + ", qemu-img " +
                    d.version + " and instar --compat " + d.version + ": " + d.reason + "\n";
  out += "  versions that disagree: " + JoinWords(d.versions) + "\n";
  out += "  script, minimised (" + std::to_string(d.script.size()) + " of " +
         std::to_string(d.original_steps) + " steps" +
         (d.exhausted ? ", the minimiser ran out of tries" : "") + "; paste it into a shell):\n";
  out += "    DIR=$(mktemp -d)\n";
  for (const auto& line : d.script) out += "    " + line + "\n";
  AppendSide(out, "qemu-img", d.qemu);
  AppendSide(out, "instar", d.instar);
  if (!d.diff.empty()) AppendIndented(out, d.diff, "  ");
  if (!d.kept.empty()) out += "  kept: " + d.kept + "\n";
  if (!d.rerun.empty()) out += "  rerun: " + d.rerun + "\n";
  return out;
}

std::string FormatVerdict(const DifffuzzTotals& t) {
  char seconds[32];
  (void)std::snprintf(seconds, sizeof seconds, "%.1f", t.seconds);
  const size_t disagreements = t.explained + t.unexplained;
  std::string seeds = std::to_string(t.first_seed);
  if (t.iterations > 1) seeds += ".." + std::to_string(t.first_seed + t.iterations - 1);
  return std::string("difffuzz: ") + (t.unexplained == 0 ? "PASS" : "FAIL") + ": " +
         std::to_string(t.iterations) + " iteration" + (t.iterations == 1 ? "" : "s") + " (seed" +
         (t.iterations == 1 ? " " : "s ") + seeds + "), " + std::to_string(t.checks) + " checks (" +
         std::to_string(t.both_failed) + " failing in both), " + std::to_string(disagreements) +
         " disagreement" + (disagreements == 1 ? "" : "s") + " (" + std::to_string(t.explained) +
         " explained), " + std::to_string(t.failed_steps) + " script step" +
         (t.failed_steps == 1 ? "" : "s") + " failed (" + seconds + " s)\n";
}

}  // namespace instar::harness
