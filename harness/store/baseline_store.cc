#include "harness/store/baseline_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "harness/cases/case_file.h"
#include "harness/core/error.h"
#include "harness/core/files.h"
#include "harness/core/json_schema.h"
#include "harness/core/json_writer.h"
#include "harness/core/words.h"
#include "harness/matrix/matrix.h"
#include "harness/run/content_digest.h"

namespace instar::harness {

namespace fs = std::filesystem;

namespace {

bool Exists(const fs::path& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

fs::path FileOf(const fs::path& dir, const std::string& name, std::string_view suffix) {
  std::string file = name;
  file += suffix;
  return dir / file;
}

fs::path FileOf(const fs::path& stem, std::string_view suffix) {
  return FileOf(stem.parent_path(), stem.filename().string(), suffix);
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

boost::json::array JsonStrings(const std::vector<std::string>& strings) {
  boost::json::array array;
  for (const auto& s : strings) array.emplace_back(s);
  return array;
}

// The subdirectories of `dir`, sorted; none when it does not exist.
std::vector<fs::path> Subdirectories(const fs::path& dir) {
  std::vector<fs::path> found;
  if (!fs::is_directory(dir)) return found;
  for (const auto& item : fs::directory_iterator(dir)) {
    if (item.is_directory()) found.push_back(item.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

// The case stems (<dir>/<name>) of the *.meta.json files in `dir`.
std::vector<fs::path> MetaStems(const fs::path& dir) {
  std::vector<fs::path> stems;
  if (!fs::is_directory(dir)) return stems;
  for (const auto& item : fs::directory_iterator(dir)) {
    const std::string file = item.path().filename().string();
    if (!item.is_regular_file() || !file.ends_with(kMetaSuffix)) continue;
    stems.push_back(dir / file.substr(0, file.size() - kMetaSuffix.size()));
  }
  return stems;
}

void SortCases(std::vector<StoredCase>& cases) {
  std::sort(cases.begin(), cases.end(), [](const StoredCase& a, const StoredCase& b) {
    return a.spec.bucket != b.spec.bucket ? a.spec.bucket < b.spec.bucket
                                          : a.spec.name < b.spec.name;
  });
}

int ExitCode(const Entry& entry, const boost::json::object& step) {
  const auto& value = step.at("exit-code");
  if (!value.is_int64() && !value.is_uint64()) entry.Fail("\"exit-code\" must be an integer");
  const auto code = value.to_number<int64_t>();
  if (code < 0 || code > 255) entry.Fail("\"exit-code\" out of range");
  return static_cast<int>(code);
}

// Reads the cases of `dir`; `version`, when not empty, is what their
// meta.json must say.
void ReadCasesIn(const fs::path& dir, const std::string& output_type, const std::string& bucket,
                 const std::string& version, std::vector<StoredCase>& cases) {
  for (const auto& stem : MetaStems(dir)) {
    StoredCase stored = ReadStoredCase(stem, output_type, bucket);
    if (!version.empty() && stored.version != version) {
      throw HarnessError(FileOf(stem, kMetaSuffix).string() + ": \"version\" is \"" +
                         stored.version + "\", but the case is in the directory of " + version);
    }
    cases.push_back(std::move(stored));
  }
}

}  // namespace

fs::path BaselineDir(const fs::path& root, const CaseSpec& spec, const std::string& version) {
  return root / spec.output_type / spec.bucket / version;
}

fs::path ProfileDir(const fs::path& root, const std::string& output_type,
                    const std::string& profile, const std::string& bucket) {
  return root / output_type / profile / bucket;
}

std::vector<fs::path> RecordFiles(const fs::path& dir, const std::string& name) {
  return {FileOf(dir, name, kStdoutSuffix), FileOf(dir, name, kStderrSuffix),
          FileOf(dir, name, kMetaSuffix)};
}

std::string MetaJson(const CaseSpec& spec, const std::string& version,
                     const std::vector<StepOutcome>& outcomes, const std::string& content_digest) {
  boost::json::object meta;
  meta["case"] = spec.name;
  meta["command"] = spec.command;
  meta["output-type"] = spec.output_type;
  meta["bucket"] = spec.bucket;
  meta["version"] = version;
  meta["parameters"] = spec.parameters;
  if (!spec.filters.empty()) meta["filters"] = JsonStrings(spec.filters);
  boost::json::array steps;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    boost::json::object step;
    step["name"] = spec.steps[i].name;
    step["argv"] = JsonStrings(spec.steps[i].argv);
    step["exit-code"] = outcomes[i].exit_code;
    step["stdout-bytes"] = outcomes[i].stdout_bytes;
    step["stderr-bytes"] = outcomes[i].stderr_bytes;
    step["timed-out"] = outcomes[i].timed_out;
    steps.emplace_back(std::move(step));
  }
  meta["steps"] = std::move(steps);
  if (!spec.content_file.empty()) {
    boost::json::object content;
    content["file"] = spec.content_file;
    if (!content_digest.empty()) content["digest"] = content_digest;
    meta["content"] = std::move(content);
  }
  return WriteJson(meta);
}

CaseRecord BuildRecord(const CaseSpec& spec, const std::string& version,
                       const std::vector<StepRun>& runs) {
  std::vector<StepOutcome> outcomes;
  for (const auto& run : runs) {
    outcomes.push_back(
        {run.result.exit_code, run.result.out.size(), run.result.err.size(), run.result.timed_out});
  }
  const std::string digest = runs.empty() ? std::string() : runs.back().content_digest;
  return {CaseStdout(spec, runs), CaseStderr(spec, runs),
          MetaJson(spec, version, outcomes, digest)};
}

void WriteRecord(const fs::path& dir, const std::string& name, const CaseRecord& record) {
  // Regenerating an unchanged tree is the common case; reading three small
  // files is much cheaper than creating three new ones.
  if (SameContent(FileOf(dir, name, kMetaSuffix), record.meta_json) &&
      SameContent(FileOf(dir, name, kStdoutSuffix), record.stdout_text) &&
      SameContent(FileOf(dir, name, kStderrSuffix), record.stderr_text)) {
    return;
  }
  // An older meta.json goes first: until the new one is in place the case
  // must read as incomplete, whatever stops us in between.
  ::unlink(FileOf(dir, name, kMetaSuffix).c_str());
  WriteFileAtomic(FileOf(dir, name, kStdoutSuffix), record.stdout_text);
  WriteFileAtomic(FileOf(dir, name, kStderrSuffix), record.stderr_text);
  WriteFileAtomic(FileOf(dir, name, kMetaSuffix), record.meta_json);
}

bool IsRecorded(const fs::path& dir, const std::string& name) {
  return Exists(FileOf(dir, name, kMetaSuffix)) && Exists(FileOf(dir, name, kStdoutSuffix)) &&
         Exists(FileOf(dir, name, kStderrSuffix));
}

void CopyRecord(const fs::path& from_dir, const fs::path& to_dir, const std::string& name) {
  // meta.json last, as WriteRecord does: it marks a complete case.
  for (auto suffix : {kStdoutSuffix, kStderrSuffix, kMetaSuffix}) {
    const std::string data = ReadFile(FileOf(from_dir, name, suffix));
    const fs::path to = FileOf(to_dir, name, suffix);
    if (!SameContent(to, data)) WriteFileAtomic(to, data);
  }
}

size_t PruneBaselines(const fs::path& root, const std::set<std::string>& types,
                      const std::set<std::string>& versions, const std::set<fs::path>& keep) {
  size_t removed = 0;
  for (const auto& type : types) {
    for (const auto& bucket : Subdirectories(root / type)) {
      for (const auto& version : versions) {
        const fs::path dir = bucket / version;
        if (!fs::is_directory(dir)) continue;
        for (const auto& file : fs::directory_iterator(dir)) {
          if (!keep.contains(file.path())) {
            fs::remove_all(file.path());
            ++removed;
          }
        }
        if (fs::is_empty(dir)) fs::remove(dir);
      }
      if (fs::is_empty(bucket)) fs::remove(bucket);
    }
  }
  return removed;
}

std::string StoredCase::ReadStdout() const { return ReadFile(FileOf(stem, kStdoutSuffix)); }
std::string StoredCase::ReadStderr() const { return ReadFile(FileOf(stem, kStderrSuffix)); }

StoredCase ReadStoredCase(const fs::path& stem, const std::string& output_type,
                          const std::string& bucket) {
  const fs::path meta_path = FileOf(stem, kMetaSuffix);
  const boost::json::value document = ParseJsonFile(meta_path);
  const Entry top(meta_path.string(), "");
  const auto& root = top.AsObject(document);
  top.CheckKeys(root,
                {"case", "command", "output-type", "bucket", "version", "parameters", "steps"},
                {"filters", "content"});
  StoredCase stored;
  stored.stem = stem;
  CaseSpec& spec = stored.spec;
  spec.name = top.String(root, "case");
  spec.command = top.String(root, "command");
  spec.output_type = top.String(root, "output-type");
  spec.bucket = top.String(root, "bucket");
  if (spec.output_type != output_type || spec.bucket != bucket ||
      spec.name != stem.filename().string()) {
    top.Fail("describes " + spec.output_type + " " + spec.Id() + ", not " + output_type + " " +
             bucket + "/" + stem.filename().string());
  }
  const CommandSpec* command = FindCommand(spec.command);
  if (command == nullptr) top.Fail("unknown \"command\" \"" + spec.command + "\"");
  const auto type = std::find_if(command->output_types.begin(), command->output_types.end(),
                                 [&](const OutputTypeSpec& t) { return t.name == output_type; });
  if (type == command->output_types.end()) {
    top.Fail("command " + spec.command + " has no output type \"" + output_type + "\"");
  }
  stored.version = top.String(root, "version");
  if (!ParseVersionText(stored.version)) top.Fail("bad \"version\" \"" + stored.version + "\"");
  spec.parameters = top.Object(root, "parameters");
  command->check_parameters(top.Nested("parameters"), spec.parameters);
  if (root.contains("filters")) {
    spec.filters = top.StringArray(root, "filters");
    if (spec.filters.empty()) top.Fail("\"filters\" is empty (leave it out for none)");
    for (const auto& name : spec.filters) {
      try {
        (void)FindOutputFilter(name);
      } catch (const HarnessError& error) {
        top.Fail(error.what());
      }
    }
  }

  const auto& steps = top.Array(root, "steps");
  if (steps.empty()) top.Fail("\"steps\" is empty");
  for (size_t i = 0; i < steps.size(); ++i) {
    const Entry entry = top.Nested("steps[" + std::to_string(i) + "]");
    const auto& object = entry.AsObject(steps[i]);
    entry.CheckKeys(object,
                    {"name", "argv", "exit-code", "stdout-bytes", "stderr-bytes", "timed-out"});
    // An argument may be empty (`qemu-img measure ... -o ""`).
    StepSpec step{entry.String(object, "name"), entry.ArgumentArray(object, "argv")};
    if (step.argv.empty() || step.argv.front() != kBinaryWord) {
      entry.Fail("\"argv\" must start with \"" + std::string(kBinaryWord) + "\"");
    }
    spec.steps.push_back(std::move(step));
    stored.outcomes.push_back({ExitCode(entry, object), entry.Unsigned(object, "stdout-bytes"),
                               entry.Unsigned(object, "stderr-bytes"),
                               entry.Bool(object, "timed-out")});
  }
  if (root.contains("content")) {
    const Entry entry = top.Nested("content");
    const auto& content = top.Object(root, "content");
    entry.CheckKeys(content, {"file"}, {"digest"});
    spec.content_file = entry.String(content, "file");
    if (!spec.content_file.starts_with(kFilenamePlaceholder)) {
      entry.Fail("\"file\" must be a scratch file ($FILENAME...)");
    }
    if (content.contains("digest")) {
      stored.content_digest = entry.String(content, "digest");
      if (!stored.content_digest.starts_with(kContentDigestPrefix) ||
          stored.content_digest.size() != kContentDigestPrefix.size() + 16 ||
          stored.content_digest.find_first_not_of(
              "0123456789abcdef", kContentDigestPrefix.size()) != std::string::npos) {
        entry.Fail("\"digest\" is not " + std::string(kContentDigestPrefix) + "<16 hex digits>");
      }
    }
  }
  if (!Exists(FileOf(stem, kStdoutSuffix)) || !Exists(FileOf(stem, kStderrSuffix))) {
    top.Fail("the case is incomplete (regenerate it)");
  }
  return stored;
}

std::vector<StoredCase> ReadBaselineCases(const fs::path& root, const std::string& output_type,
                                          const std::string& version) {
  std::vector<StoredCase> cases;
  for (const auto& bucket : Subdirectories(root / output_type)) {
    ReadCasesIn(bucket / version, output_type, bucket.filename().string(), version, cases);
  }
  SortCases(cases);
  return cases;
}

std::vector<StoredCase> ReadProfileCases(const fs::path& root, const std::string& output_type,
                                         const std::string& profile) {
  std::vector<StoredCase> cases;
  for (const auto& bucket : Subdirectories(root / output_type / profile)) {
    ReadCasesIn(bucket, output_type, bucket.filename().string(), "", cases);
  }
  SortCases(cases);
  return cases;
}

std::vector<std::string> BaselineVersions(const fs::path& root, const std::string& output_type) {
  std::vector<std::string> versions;
  for (const auto& bucket : Subdirectories(root / output_type)) {
    for (const auto& dir : Subdirectories(bucket)) {
      const std::string name = dir.filename().string();
      if (!ParseVersionText(name)) {
        throw HarnessError(dir.string() + ": not a version directory (X.Y.Z)");
      }
      if (!Contains(versions, name)) versions.push_back(name);
    }
  }
  SortVersionTexts(versions);
  return versions;
}

}  // namespace instar::harness
