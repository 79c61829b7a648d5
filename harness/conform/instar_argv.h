// How conform runs instar on a recorded step, and how it shows the command.
//
// meta.json keeps each step's argv normalised: argv[0] is "qemu-img" and
// paths are placeholders ($FILENAME, $TESTDATA_ROOT). conform runs
//   instar [--sandbox=KIND] --compat V <argv[1..] with placeholders resolved>
// (the case runner puts the program's options before the step's words), so
// instar gets exactly the words qemu-img got, behind its own global options.
// The same words with the placeholders left in are the command a report
// shows.
#ifndef INSTAR_HARNESS_CONFORM_INSTAR_ARGV_H_
#define INSTAR_HARNESS_CONFORM_INSTAR_ARGV_H_

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "harness/run/case_runner.h"

namespace instar::harness {

// Whether a step is one instar cannot run, because its qemu-img command is
// not one instar implements (none of the table's since convert):
// conform runs it with qemu-img (conformer.h).
bool IsFixtureStep(const StepSpec& step);

// instar as the program of a step. `sandbox` empty: not passed.
Program InstarProgram(const std::filesystem::path& instar, const std::string& compat,
                      const std::string& sandbox);

// The steps of `spec` as `instar ...` command lines with the placeholders
// left in (`qemu-img ...` for a fixture step), joined as a shell runs a
// pipeline (" && ").
std::string ShownCommand(const CaseSpec& spec, const Program& program);

// `word` as a POSIX shell reads it back: bare when it is made of safe
// characters, else in single quotes. Placeholders ($FILENAME) stay bare so a
// shown command reads like the baseline's argv.
std::string ShellQuote(std::string_view word);
std::string ShellCommand(const std::vector<std::string>& words);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CONFORM_INSTAR_ARGV_H_
