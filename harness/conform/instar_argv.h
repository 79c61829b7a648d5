// How a recorded qemu-img step becomes an instar command line.
//
// meta.json keeps each step's argv normalised: argv[0] is "qemu-img" and
// paths are placeholders ($FILENAME, $TESTDATA_ROOT). conform runs
//   instar [--sandbox=KIND] --compat V <argv[1..] with placeholders resolved>
// so instar gets exactly the words qemu-img got, behind its own global
// options. The same words with the placeholders left in are the command a
// report shows.
#ifndef INSTAR_HARNESS_CONFORM_INSTAR_ARGV_H_
#define INSTAR_HARNESS_CONFORM_INSTAR_ARGV_H_

#include <string>
#include <string_view>
#include <vector>

namespace instar::harness {

struct PlaceholderValues {
  std::string filename;       // $FILENAME
  std::string testdata_root;  // $TESTDATA_ROOT
};

// Replaces every placeholder in `word` by its value.
std::string ResolvePlaceholders(std::string_view word, const PlaceholderValues& values);

// The arguments after the instar executable. `sandbox` empty: not passed.
// Throws HarnessError when `recorded_argv` does not start with "qemu-img".
std::vector<std::string> InstarArguments(const std::vector<std::string>& recorded_argv,
                                         const std::string& compat, const std::string& sandbox,
                                         const PlaceholderValues& values);

// `word` as a POSIX shell reads it back: bare when it is made of safe
// characters, else in single quotes. Placeholders ($FILENAME) stay bare so a
// shown command reads like the baseline's argv.
std::string ShellQuote(std::string_view word);
std::string ShellCommand(const std::vector<std::string>& words);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CONFORM_INSTAR_ARGV_H_
