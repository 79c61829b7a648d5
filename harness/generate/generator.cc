#include "harness/generate/generator.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "harness/cases/case_file.h"
#include "harness/cases/manifest.h"
#include "harness/core/error.h"
#include "harness/generate/baseline_store.h"
#include "harness/run/child.h"
#include "harness/run/corpus.h"
#include "harness/run/normalise.h"
#include "harness/run/scratch.h"

namespace instar::harness {

namespace fs = std::filesystem;

namespace {

double Seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

double CpuSeconds(int who) {
  rusage usage{};
  ::getrusage(who, &usage);
  return Seconds(usage.ru_utime) + Seconds(usage.ru_stime);
}

bool MatchesGlobs(const CaseSpec& spec, const std::vector<std::string>& globs) {
  if (globs.empty()) return true;
  std::string id = spec.Id();
  for (const auto& glob : globs) {
    if (::fnmatch(glob.c_str(), spec.name.c_str(), 0) == 0) return true;
    if (::fnmatch(glob.c_str(), id.c_str(), 0) == 0) return true;
  }
  return false;
}

std::string Substitute(std::string word, const std::string& filename, const std::string& corpus) {
  auto replace = [&word](std::string_view placeholder, const std::string& value) {
    for (size_t pos = word.find(placeholder); pos != std::string::npos;
         pos = word.find(placeholder, pos + value.size())) {
      word.replace(pos, placeholder.size(), value);
    }
  };
  replace(kFilenamePlaceholder, filename);
  replace(kTestdataPlaceholder, corpus);
  return word;
}

struct Job {
  const CaseSpec* spec;
  const MatrixEntry* version;
  fs::path version_dir;
};

void ClearDirectory(const fs::path& dir) {
  for (const auto& item : fs::directory_iterator(dir)) fs::remove_all(item.path());
}

// Removes files under <out>/<type>/*/<version>/ that `expected` does not
// list, and directories left empty. Returns the number of files removed.
size_t PruneStale(const fs::path& out, const std::set<std::string>& types,
                  const std::set<std::string>& versions, const std::set<fs::path>& expected) {
  size_t removed = 0;
  for (const auto& type : types) {
    fs::path type_dir = out / type;
    if (!fs::is_directory(type_dir)) continue;
    for (const auto& bucket : fs::directory_iterator(type_dir)) {
      if (!bucket.is_directory()) continue;
      for (const auto& version : versions) {
        fs::path dir = bucket.path() / version;
        if (!fs::is_directory(dir)) continue;
        for (const auto& file : fs::directory_iterator(dir)) {
          if (!expected.contains(file.path())) {
            fs::remove_all(file.path());
            ++removed;
          }
        }
        if (fs::is_empty(dir)) fs::remove(dir);
      }
      if (fs::is_empty(bucket.path())) fs::remove(bucket.path());
    }
  }
  return removed;
}

// Writes finished cases on a thread of its own, so that a worker starts its
// next child as soon as the last one is reaped instead of after three file
// creations: with as many workers as cores, any harness work on a worker's
// path between two children is a core standing idle.
class RecordWriter {
 public:
  explicit RecordWriter(Progress& progress) : progress_(progress), thread_([this] { Loop(); }) {}
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;
  ~RecordWriter() { Close(); }

  void Push(fs::path dir, std::string name, CaseRecord record) {
    size_t queued;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back({std::move(dir), std::move(name), std::move(record)});
      queued = queue_.size();
    }
    // Wake the writer for a batch, not for every case: each wake-up is two
    // context switches on a core that a child could use.
    if (queued == kBatch) ready_.notify_one();
  }

  // Writes what is queued and stops. Returns the first error, if any.
  std::string Close() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
    }
    ready_.notify_one();
    if (thread_.joinable()) thread_.join();
    return error_;
  }

  bool failed() {
    std::lock_guard<std::mutex> lock(mutex_);
    return !error_.empty();
  }

 private:
  static constexpr size_t kBatch = 16;

  struct Item {
    fs::path dir;
    std::string name;
    CaseRecord record;
  };

  void Loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      ready_.wait(lock, [this] { return closed_ || queue_.size() >= kBatch; });
      if (queue_.empty()) return;  // closed, and everything written
      std::deque<Item> batch;
      batch.swap(queue_);
      lock.unlock();
      std::string error;
      for (const Item& item : batch) {
        try {
          WriteRecord(item.dir, item.name, item.record);
          progress_.Advance();
        } catch (const std::exception& e) {
          if (error.empty()) error = e.what();
        }
      }
      lock.lock();
      if (!error.empty() && error_.empty()) error_ = error;
    }
  }

  Progress& progress_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Item> queue_;
  bool closed_ = false;
  std::string error_;
  std::thread thread_;
};

}  // namespace

std::vector<CaseSpec> PlanRequest(const GenerateRequest& request) {
  const CommandSpec* command = FindCommand(request.command);
  if (command == nullptr) {
    throw HarnessError("unknown command \"" + request.command +
                       "\" (known: measure, create, info)");
  }
  std::vector<std::string> types = request.output_types;
  if (types.empty()) {
    for (const auto& type : command->output_types) types.push_back(type.name);
  }
  for (const auto& type : types) {
    bool known = std::any_of(command->output_types.begin(), command->output_types.end(),
                             [&](const OutputTypeSpec& t) { return t.name == type; });
    if (!known) {
      std::string names;
      for (const auto& t : command->output_types) names += (names.empty() ? "" : ", ") + t.name;
      throw HarnessError("command " + request.command + " has no output type \"" + type +
                         "\" (it has " + names + ")");
    }
  }
  Manifest manifest = LoadManifest(request.cases_dir / "images" / "manifest.json");
  fs::path case_path = request.cases_dir / (request.command + ".json");
  CaseFile file = ParseCaseFile(case_path, manifest);
  if (file.command != request.command) {
    throw HarnessError(case_path.string() + ": \"command\" is \"" + file.command +
                       "\", expected \"" + request.command + "\"");
  }
  std::vector<CaseSpec> cases = PlanCases(file, manifest, types);
  std::erase_if(cases,
                [&](const CaseSpec& spec) { return !MatchesGlobs(spec, request.case_globs); });
  return cases;
}

GenerateReport Generate(const GenerateRequest& request, Interrupt& interrupt) {
  const auto wall_start = std::chrono::steady_clock::now();
  const double children_start = CpuSeconds(RUSAGE_CHILDREN);
  const double self_start = CpuSeconds(RUSAGE_SELF);

  std::vector<CaseSpec> cases = PlanRequest(request);
  if (!request.case_globs.empty() && cases.empty()) {
    throw HarnessError("no case of " + request.command + " matches the --case patterns");
  }
  GenerateReport report;
  report.versions = request.matrix.entries.size();
  report.jobs =
      request.jobs != 0 ? request.jobs : std::max(1u, std::thread::hardware_concurrency());

  std::string scratch_note;
  ScratchDir scratch(ScratchBase(&scratch_note));
  if (!scratch_note.empty()) report.notes.push_back(scratch_note);
  const fs::path corpus = scratch.path() / "corpus";
  bool uses_corpus = std::any_of(cases.begin(), cases.end(),
                                 [](const CaseSpec& spec) { return spec.UsesCorpus(); });
  if (uses_corpus) {
    fs::create_directory(corpus);
    Manifest manifest = LoadManifest(request.cases_dir / "images" / "manifest.json");
    MaterialiseCorpus(manifest, request.cases_dir / "images", corpus, report.jobs, &interrupt);
  }

  std::vector<Job> jobs;
  std::set<fs::path> expected_files;
  std::set<fs::path> version_dirs;
  for (const auto& entry : request.matrix.entries) {
    for (const auto& spec : cases) {
      fs::path dir = VersionDir(request.out_dir, spec, entry.version_text);
      version_dirs.insert(dir);
      for (auto suffix : {kStdoutSuffix, kStderrSuffix, kMetaSuffix}) {
        expected_files.insert(dir / (spec.name + std::string(suffix)));
      }
      jobs.push_back({&spec, &entry, std::move(dir)});
    }
  }
  for (const auto& dir : version_dirs) fs::create_directories(dir);
  report.cases = jobs.size();

  Progress progress("generate " + request.command, jobs.size(), request.progress);
  RecordWriter writer(progress);
  std::atomic<size_t> next{0};
  std::mutex mutex;  // guards report and first_error
  std::string first_error;

  auto worker = [&](unsigned index) {
    ChildRunner runner(&interrupt);
    const fs::path work_dir = scratch.path() / ("w" + std::to_string(index));
    fs::create_directory(work_dir);
    const std::string filename = (work_dir / "filename").string();
    const std::vector<PathRewrite> rewrites = {
        {filename, std::string(kFilenamePlaceholder)},
        {corpus.string(), std::string(kTestdataPlaceholder)}};
    const std::vector<std::string> environment = MinimalEnvironment();

    for (size_t i; (i = next.fetch_add(1)) < jobs.size();) {
      if (interrupt.stopping() || writer.failed()) return;
      const Job& job = jobs[i];
      const CaseSpec& spec = *job.spec;
      if (request.resume && IsRecorded(job.version_dir, spec.name)) {
        std::lock_guard<std::mutex> lock(mutex);
        ++report.skipped;
        progress.Advance();
        continue;
      }
      try {
        std::vector<StepRun> runs;
        for (const auto& step : spec.steps) {
          ChildRequest child{job.version->qemu_img, {}, environment, request.timeout};
          for (size_t w = 1; w < step.argv.size(); ++w) {
            child.arguments.push_back(Substitute(step.argv[w], filename, corpus.string()));
          }
          ChildResult result = runner.Run(child);
          result.out = RewritePaths(result.out, rewrites);
          result.err = RewritePaths(result.err, rewrites);
          if (spec.filter_random_cid) {
            result.out = FilterRandomCid(result.out);
            result.err = FilterRandomCid(result.err);
          }
          bool stop = result.exit_code != 0 || result.timed_out;
          runs.push_back({&step, std::move(result)});
          if (stop || interrupt.stopping()) break;
        }
        if (spec.UsesScratchFile()) ClearDirectory(work_dir);
        if (interrupt.stopping()) return;
        writer.Push(job.version_dir, spec.name, BuildRecord(spec, job.version->version_text, runs));
        std::lock_guard<std::mutex> lock(mutex);
        ++report.recorded;
        if (runs.back().result.exit_code != 0) ++report.nonzero_exits;
        for (const auto& run : runs) {
          if (run.result.timed_out) {
            report.timed_out.push_back(spec.output_type + "/" + spec.bucket + "/" +
                                       job.version->version_text + "/" + spec.name);
          }
        }
      } catch (const std::exception& error) {
        std::lock_guard<std::mutex> lock(mutex);
        if (first_error.empty()) first_error = error.what();
        next.store(jobs.size());
        return;
      }
    }
  };

  std::vector<std::thread> threads;
  for (unsigned i = 1; i < report.jobs; ++i) threads.emplace_back(worker, i);
  worker(0);
  for (auto& thread : threads) thread.join();
  // Cases taken from the workers are complete: they are written even when
  // the run was interrupted.
  std::string write_error = writer.Close();
  progress.Finish();
  if (first_error.empty()) first_error = write_error;
  if (!first_error.empty()) throw HarnessError(first_error);
  std::sort(report.timed_out.begin(), report.timed_out.end());

  report.interrupted_by = interrupt.signal_number();
  if (report.interrupted_by == 0 && request.case_globs.empty()) {
    std::set<std::string> types, versions;
    for (const auto& spec : cases) types.insert(spec.output_type);
    for (const auto& entry : request.matrix.entries) versions.insert(entry.version_text);
    report.pruned_files = PruneStale(request.out_dir, types, versions, expected_files);
  }

  report.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  report.children_cpu_seconds = CpuSeconds(RUSAGE_CHILDREN) - children_start;
  report.self_cpu_seconds = CpuSeconds(RUSAGE_SELF) - self_start;
  return report;
}

std::string FormatSummary(const GenerateRequest& request, const GenerateReport& report) {
  char line[512];
  std::string text;
  std::snprintf(line, sizeof(line),
                "generate %s: %zu cases over %zu version%s: %zu recorded, %zu skipped, "
                "%zu non-zero exits, %zu time-outs\n",
                request.command.c_str(), report.cases, report.versions,
                report.versions == 1 ? "" : "s", report.recorded, report.skipped,
                report.nonzero_exits, report.timed_out.size());
  text += line;
  double share = report.children_cpu_seconds > 0
                     ? 100.0 * report.self_cpu_seconds / report.children_cpu_seconds
                     : 0.0;
  std::snprintf(line, sizeof(line),
                "  wall %.2f s with %u jobs, children CPU %.2f s, harness CPU %.2f s (%.1f %% of "
                "the children's)\n",
                report.wall_seconds, report.jobs, report.children_cpu_seconds,
                report.self_cpu_seconds, share);
  text += line;
  if (report.pruned_files > 0) {
    text += "  removed " + std::to_string(report.pruned_files) + " stale file" +
            (report.pruned_files == 1 ? "" : "s") + "\n";
  }
  for (const auto& id : report.timed_out) text += "  timed out: " + id + "\n";
  for (const auto& note : report.notes) text += "  note: " + note + "\n";
  return text;
}

}  // namespace instar::harness
