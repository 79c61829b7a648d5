// The scripts of instar-harness difffuzz: how an image is made, step by step,
// with qemu-img and qemu-io, and the generator that draws one from a seed.
//
// A script is a list of steps, each one run of qemu-img (create, snapshot,
// convert) or of qemu-io (one -c command: a write with a pattern, a zero
// write, a discard, a compressed write), and the images it makes, which
// difffuzz then reads with every command instar implements. Files are named
// "$DIR/<name>"; the runner puts the iteration's directory in for $DIR, and
// a printed script keeps it as a shell variable. A backing file is named
// relative to its overlay (`-b a.raw`), so the overlay records no host path.
//
// GenerateScript is deterministic: the same seed gives the same script on
// every machine (a std::mt19937_64, which the standard defines bit for bit,
// and no std::uniform_int_distribution, which it does not).
#ifndef INSTAR_HARNESS_DIFFFUZZ_SCRIPT_H_
#define INSTAR_HARNESS_DIFFFUZZ_SCRIPT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace instar::harness {

inline constexpr std::string_view kDirPlaceholder = "$DIR";

enum class ScriptTool { kQemuImg, kQemuIo };

const char* ScriptToolName(ScriptTool tool);  // "qemu-img", "qemu-io"

struct ScriptStep {
  ScriptTool tool = ScriptTool::kQemuImg;
  std::vector<std::string> args;  // argv[1..], files as "$DIR/<name>"
};

struct ScriptImage {
  std::string file;    // "$DIR/a.qcow2"
  std::string format;  // as qemu-img names it: raw, qcow2, vmdk, vpc, vhdx
};

struct Script {
  uint64_t seed = 0;
  std::vector<ScriptStep> steps;
  // Every image the steps make, in the order they make them.
  std::vector<ScriptImage> images;
  // measure's -O target (the commands difffuzz runs, runner.h).
  std::string measure_target = "raw";  // raw or qcow2
};

// The formats a script draws from.
const std::vector<std::string>& ScriptFormats();

Script GenerateScript(uint64_t seed);

// The script with only the steps whose indexes are in `kept` (ascending).
Script KeepSteps(const Script& script, const std::vector<size_t>& kept);

// Words as a shell line: a word that starts with "$DIR/" keeps the variable
// ("$DIR"/a.qcow2), every other word is shell-quoted (ShellQuote).
std::string ScriptShellLine(const std::vector<std::string>& words);

// `word` with "$DIR" replaced by `dir`.
std::string ResolveDir(std::string_view word, const std::string& dir);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_DIFFFUZZ_SCRIPT_H_
