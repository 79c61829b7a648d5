#include "harness/difffuzz/runner.h"

#include <fnmatch.h>

#include "harness/cases/commands.h"
#include "harness/conform/instar_argv.h"
#include "harness/run/content_digest.h"
#include "harness/run/normalise.h"

namespace instar::harness {

namespace fs = std::filesystem;

namespace {

// The words a command takes besides its output type's flags and the image.
// The words after the command and its output flags, the image last.
// compare takes two images: each image against the script's first (itself,
// for the first), so an overlay is compared with its base.
std::vector<std::string> CommandWords(const std::string& command, const Script& script,
                                      const std::string& file) {
  if (command == "measure") return {"-O", script.measure_target, file};
  if (command == "compare") return {script.images.front().file, file};
  return {file};
}

// qemu-img compare reads every byte that a raw file's block status calls
// data, and on tmpfs that is the whole file, holes included: 25 s of CPU a
// version for a 55 GiB sparse raw. So compare skips a pair with a raw file
// past 4 GiB (instar's compare, which skips known zeros, takes milliseconds
// there; the other commands still run on it).
bool WorthComparing(const Script& script, size_t image, const fs::path& dir) {
  constexpr uintmax_t kLargestRaw = uintmax_t{4} << 30;
  for (const ScriptImage* which : {&script.images.front(), &script.images[image]}) {
    if (which->format != "raw") continue;
    std::error_code error;
    const uintmax_t size = fs::file_size(ResolveDir(which->file, dir.string()), error);
    if (error || size > kLargestRaw) return false;
  }
  return true;
}

bool WorthConverting(const Script& script, size_t image, const fs::path& dir) {
  constexpr uintmax_t kLargestRaw = uintmax_t{4} << 30;
  const ScriptImage& which = script.images[image];
  if (which.format != "raw") return true;
  std::error_code error;
  const uintmax_t size = fs::file_size(ResolveDir(which.file, dir.string()), error);
  return !error && size <= kLargestRaw;
}

// Where a convert check writes, in the script's directory.
std::string ConvertOutput() { return std::string(kDirPlaceholder) + "/difffuzz-convert.raw"; }

// What a convert check judges of a run: its output's content digest (or
// that it left none), put where stdout was; the output is removed for the
// next run.
void TakeConvertOutput(ChildResult* result, const fs::path& dir) {
  const fs::path output = ResolveDir(ConvertOutput(), dir.string());
  std::error_code error;
  if (fs::exists(output, error)) {
    result->out += "content " + ContentDigest(output) + "\n";
    fs::remove(output, error);
  } else {
    result->out += "no output\n";
  }
}

}  // namespace

bool ReadsImages(const CommandSpec& command) {
  return command.implemented() && !command.steps.empty() && command.steps.back() == command.name;
}

namespace {

std::vector<std::string> Resolved(const std::vector<std::string>& words, const fs::path& dir) {
  std::vector<std::string> out;
  out.reserve(words.size());
  for (const auto& word : words) out.push_back(ResolveDir(word, dir.string()));
  return out;
}

}  // namespace

std::vector<std::string> QemuWords(const DifffuzzSetup& setup, const DifffuzzCheck& check) {
  std::vector<std::string> words = {setup.versions.at(check.version).qemu_img.string()};
  words.insert(words.end(), check.args.begin(), check.args.end());
  return words;
}

std::vector<std::string> InstarWords(const DifffuzzSetup& setup, const DifffuzzCheck& check) {
  const Program program =
      InstarProgram(setup.instar, setup.versions.at(check.version).version, setup.sandbox);
  std::vector<std::string> words = {program.executable.string()};
  words.insert(words.end(), program.options.begin(), program.options.end());
  words.insert(words.end(), check.args.begin(), check.args.end());
  return words;
}

std::string StepProgram(const DifffuzzSetup& setup, const ScriptStep& step) {
  return (step.tool == ScriptTool::kQemuImg ? setup.maker_qemu_img : setup.maker_qemu_io).string();
}

CaseScope CheckScope(const DifffuzzSetup& setup, const Script& script, const DifffuzzCheck& check) {
  return {check.output_type,
          script.images.at(check.image).format,
          "difffuzz",
          {setup.versions.at(check.version).version}};
}

std::string ScriptPatternText(const Script& script) {
  std::string text;
  for (const auto& step : script.steps) {
    std::vector<std::string> words = {ScriptToolName(step.tool)};
    words.insert(words.end(), step.args.begin(), step.args.end());
    text += ScriptShellLine(words) + "\n";
  }
  return text;
}

const Divergence* FindDifffuzzExplanation(const Divergences& divergences, const CaseScope& scope,
                                          const std::string& script_text) {
  for (const auto& entry : divergences.entries) {
    if (!entry.is_difffuzz() || !Covers(entry, scope)) continue;
    for (const auto& glob : entry.difffuzz) {
      if (::fnmatch(glob.c_str(), script_text.c_str(), 0) == 0) return &entry;
    }
  }
  return nullptr;
}

DifffuzzRunner::DifffuzzRunner(const DifffuzzSetup& setup, Interrupt* interrupt)
    : setup_(setup), runner_(interrupt) {}

ChildResult DifffuzzRunner::Run(const fs::path& program, const std::vector<std::string>& words,
                                const fs::path& dir) {
  ChildRequest request;
  request.executable = program;
  request.arguments = Resolved(words, dir);
  request.environment = MinimalEnvironment();
  request.timeout = setup_.timeout;
  ChildResult result = runner_.Run(request);
  const std::vector<PathRewrite> rewrites = {{dir.string(), std::string(kDirPlaceholder)}};
  result.out = RewritePaths(result.out, rewrites);
  result.err = RewritePaths(result.err, rewrites);
  return result;
}

std::vector<ChildResult> DifffuzzRunner::RunSteps(const Script& script, const fs::path& dir) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<ChildResult> results;
  for (const auto& step : script.steps) {
    results.push_back(Run(StepProgram(setup_, step), step.args, dir));
  }
  return results;
}

std::vector<DifffuzzCheck> DifffuzzRunner::Checks(const Script& script, const fs::path& dir) const {
  std::vector<DifffuzzCheck> checks;
  for (size_t image = 0; image < script.images.size(); ++image) {
    const std::string& file = script.images[image].file;
    if (!fs::exists(ResolveDir(file, dir.string()))) continue;
    for (const auto& command : Commands()) {
      if (!ReadsImages(command)) continue;
      if (command.name == "compare" && !WorthComparing(script, image, dir)) continue;
      for (const auto& type : command.output_types) {
        std::vector<std::string> args = {command.name};
        args.insert(args.end(), type.flags.begin(), type.flags.end());
        for (auto& word : CommandWords(command.name, script, file)) args.push_back(std::move(word));
        for (size_t version = 0; version < setup_.versions.size(); ++version) {
          checks.push_back({image, command.name, type.name, args, version});
        }
      }
    }
    // convert, whose judged step is the info of what it wrote: here the
    // image converted to raw by each program, judged by the exit status
    // and the content of what it wrote (RunCheck puts its digest in place
    // of stdout). Not for a raw file too large to read on tmpfs, as
    // compare's.
    const CommandSpec* convert = FindCommand("convert");
    if (convert != nullptr && convert->implemented() && WorthConverting(script, image, dir)) {
      const std::vector<std::string> args = {"convert", "-O", "raw", file, ConvertOutput()};
      for (size_t version = 0; version < setup_.versions.size(); ++version) {
        checks.push_back({image, "convert", convert->output_types.front().name, args, version});
      }
    }
  }
  return checks;
}

DifffuzzCheckRun DifffuzzRunner::RunCheck(const Script& script, const DifffuzzCheck& check,
                                          const fs::path& dir) {
  DifffuzzCheckRun run;
  const bool converts = check.command == "convert";
  const std::vector<std::string> qemu = QemuWords(setup_, check);
  run.qemu = Run(qemu.front(), {qemu.begin() + 1, qemu.end()}, dir);
  if (converts) TakeConvertOutput(&run.qemu, dir);
  const std::vector<std::string> instar = InstarWords(setup_, check);
  run.instar = Run(instar.front(), {instar.begin() + 1, instar.end()}, dir);
  if (converts) TakeConvertOutput(&run.instar, dir);
  const CaseScope scope = CheckScope(setup_, script, check);
  run.expected = Normalise(run.qemu.out, setup_.divergences, scope, &run.filters);
  run.actual = Normalise(run.instar.out, setup_.divergences, scope, &run.filters);
  // stderr is conform's to compare, over the corpus; here only what the
  // commands print and how they exit.
  run.verdict = Judge(run.qemu.exit_code, run.expected,
                      {run.instar.exit_code, run.instar.timed_out, run.actual, run.instar.err, {}});
  run.image_vanished = !fs::exists(ResolveDir(script.images.at(check.image).file, dir.string()));
  return run;
}

}  // namespace instar::harness
