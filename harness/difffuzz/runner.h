// The runner of instar-harness difffuzz: makes a script's images in a
// directory, and runs one command on one of them with a qemu-img of the
// matrix and with `instar --compat` of that version, judged as conform
// judges a case.
//
// The commands are the command table's IMPLEMENTED ones that read an
// image (ReadsImages(): their judged step is the command itself; create's
// is the info of what it made), each in every output type it has: `<command> [--output=json]
// IMAGE`, the output type's flags before the image. A command whose argv needs more than the image
// names its extra words in CommandWords() (runner.cc): measure takes the script's `-O` target. A
// new command joins when its command-table line becomes IMPLEMENTED; one whose argv is not
// `<command> [flags] IMAGE` (compare: two images) adds a line there too.
//
// Both stdouts get what conform's get: the directory's path rewritten to
// "$DIR", then the filters of cases/divergences.json that cover the output
// type, the image's format (as a bucket) and the version. The judge is
// conform's (conform/outcome.h): exit statuses agree (both zero or both
// not) and the stdouts are byte-identical. Every child runs as every harness
// child does (child.h): argv, no shell, LC_ALL=C TZ=UTC PATH=/usr/bin:/bin.
#ifndef INSTAR_HARNESS_DIFFFUZZ_RUNNER_H_
#define INSTAR_HARNESS_DIFFFUZZ_RUNNER_H_

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "harness/conform/divergences.h"
#include "harness/conform/outcome.h"
#include "harness/difffuzz/script.h"
#include "harness/run/child.h"

namespace instar::harness {

struct CommandSpec;

// Whether difffuzz runs `command` on a script's images: instar implements
// it and its pipeline's last, judged step is the command itself.
bool ReadsImages(const CommandSpec& command);

struct DifffuzzVersion {
  std::string version;  // "7.2.22", also instar's --compat
  std::filesystem::path qemu_img;
};

struct DifffuzzSetup {
  // What makes the images (the newest qemu-img of the matrix with a qemu-io).
  std::string maker_version;
  std::filesystem::path maker_qemu_img;
  std::filesystem::path maker_qemu_io;
  std::vector<DifffuzzVersion> versions;  // what is compared
  std::filesystem::path instar;
  std::string sandbox;  // empty: instar's own choice
  Divergences divergences;
  std::chrono::seconds timeout{60};
};

// One command on one image of a script, with one version.
struct DifffuzzCheck {
  size_t image = 0;  // index into Script::images
  std::string command;
  std::string output_type;
  std::vector<std::string> args;  // argv[1..] for qemu-img, the image as "$DIR/<name>"
  size_t version = 0;             // index into DifffuzzSetup::versions
};

struct DifffuzzCheckRun {
  ChildResult qemu;                  // as it ran, paths rewritten
  ChildResult instar;                // the same
  std::string expected;              // qemu-img's stdout, normalised
  std::string actual;                // instar's
  std::vector<std::string> filters;  // divergence entries that changed something
  Verdict verdict;
  // The image was gone after the runs: something else removed the
  // directory (not instar, which opens the image read-only); the run says
  // nothing about instar.
  bool image_vanished = false;
};

// The words of an `instar` run of `check` (the program's options, then the
// command's), and of the qemu-img run.
std::vector<std::string> QemuWords(const DifffuzzSetup& setup, const DifffuzzCheck& check);
std::vector<std::string> InstarWords(const DifffuzzSetup& setup, const DifffuzzCheck& check);

// The words the script's run of one step starts with: the maker's qemu-img
// or qemu-io.
std::string StepProgram(const DifffuzzSetup& setup, const ScriptStep& step);

// What CaseScope a check is asked about in cases/divergences.json.
CaseScope CheckScope(const DifffuzzSetup& setup, const Script& script, const DifffuzzCheck& check);

// The script as the text a difffuzz divergence's globs match: one line per
// step, "qemu-img <words>" or "qemu-io <words>", shell-quoted, files as
// "$DIR"/<name>.
std::string ScriptPatternText(const Script& script);

// The first difffuzz entry of `divergences` that covers `scope` and whose
// glob matches `script_text`, or null.
const Divergence* FindDifffuzzExplanation(const Divergences& divergences, const CaseScope& scope,
                                          const std::string& script_text);

class DifffuzzRunner {
 public:
  DifffuzzRunner(const DifffuzzSetup& setup, Interrupt* interrupt);

  // Runs the steps in order in `dir` (made empty first); every step runs
  // whatever the one before did. Returns each step's result.
  std::vector<ChildResult> RunSteps(const Script& script, const std::filesystem::path& dir);

  // Every check of the images of `script` that exist in `dir`.
  std::vector<DifffuzzCheck> Checks(const Script& script, const std::filesystem::path& dir) const;

  DifffuzzCheckRun RunCheck(const Script& script, const DifffuzzCheck& check,
                            const std::filesystem::path& dir);

 private:
  ChildResult Run(const std::filesystem::path& program, const std::vector<std::string>& words,
                  const std::filesystem::path& dir);

  const DifffuzzSetup& setup_;
  ChildRunner runner_;
};

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_DIFFFUZZ_RUNNER_H_
