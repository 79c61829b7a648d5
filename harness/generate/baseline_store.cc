#include "harness/generate/baseline_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "harness/core/files.h"
#include "harness/core/json_writer.h"

namespace instar::harness {

namespace fs = std::filesystem;

namespace {

std::string Marker(const std::string& step_name) {
  std::string upper;
  for (char c : step_name) upper += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return "---" + upper + " STDERR---\n";
}

bool Exists(const fs::path& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

fs::path FileOf(const fs::path& dir, const std::string& name, std::string_view suffix) {
  std::string file = name;
  file += suffix;
  return dir / file;
}

// True when `path` exists and holds exactly `data`.
bool SameContent(const fs::path& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::string buffer(data.size() + 1, '\0');
  size_t done = 0;
  ssize_t n = 0;
  while (done < buffer.size() &&
         (n = ::read(fd, buffer.data() + done, buffer.size() - done)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return n >= 0 && done == data.size() && buffer.compare(0, done, data) == 0;
}

}  // namespace

fs::path VersionDir(const fs::path& out, const CaseSpec& spec, const std::string& version) {
  return out / spec.output_type / spec.bucket / version;
}

std::string JoinStderr(const CaseSpec& spec, const std::vector<StepRun>& runs) {
  if (spec.steps.size() == 1) return runs.empty() ? std::string() : runs.front().result.err;
  std::string joined;
  for (const auto& run : runs) {
    joined += Marker(run.step->name);
    joined += run.result.err;
    if (!run.result.err.empty() && run.result.err.back() != '\n') joined += '\n';
  }
  return joined;
}

CaseRecord BuildRecord(const CaseSpec& spec, const std::string& version,
                       const std::vector<StepRun>& runs) {
  CaseRecord record;
  // The recorded stdout is the last step's; when a pipeline stopped early,
  // that step did not run and there is none.
  if (!runs.empty() && runs.size() == spec.steps.size())
    record.stdout_text = runs.back().result.out;
  record.stderr_text = JoinStderr(spec, runs);

  boost::json::object meta;
  meta["case"] = spec.name;
  meta["command"] = spec.command;
  meta["output-type"] = spec.output_type;
  meta["bucket"] = spec.bucket;
  meta["version"] = version;
  meta["parameters"] = spec.parameters;
  boost::json::array steps;
  for (const auto& run : runs) {
    boost::json::object step;
    step["name"] = run.step->name;
    boost::json::array argv;
    for (const auto& word : run.step->argv) argv.emplace_back(word);
    step["argv"] = std::move(argv);
    step["exit-code"] = run.result.exit_code;
    step["stdout-bytes"] = run.result.out.size();
    step["stderr-bytes"] = run.result.err.size();
    step["timed-out"] = run.result.timed_out;
    steps.emplace_back(std::move(step));
  }
  meta["steps"] = std::move(steps);
  record.meta_json = WriteJson(meta);
  return record;
}

void WriteRecord(const fs::path& version_dir, const std::string& name, const CaseRecord& record) {
  // Regenerating an unchanged tree is the common case; reading three small
  // files is much cheaper than creating three new ones.
  if (SameContent(FileOf(version_dir, name, kMetaSuffix), record.meta_json) &&
      SameContent(FileOf(version_dir, name, kStdoutSuffix), record.stdout_text) &&
      SameContent(FileOf(version_dir, name, kStderrSuffix), record.stderr_text)) {
    return;
  }
  // An older meta.json goes first: until the new one is in place the case
  // must read as incomplete, whatever stops us in between.
  ::unlink(FileOf(version_dir, name, kMetaSuffix).c_str());
  WriteFileAtomic(FileOf(version_dir, name, kStdoutSuffix), record.stdout_text);
  WriteFileAtomic(FileOf(version_dir, name, kStderrSuffix), record.stderr_text);
  WriteFileAtomic(FileOf(version_dir, name, kMetaSuffix), record.meta_json);
}

bool IsRecorded(const fs::path& version_dir, const std::string& name) {
  return Exists(FileOf(version_dir, name, kMetaSuffix)) &&
         Exists(FileOf(version_dir, name, kStdoutSuffix)) &&
         Exists(FileOf(version_dir, name, kStderrSuffix));
}

}  // namespace instar::harness
