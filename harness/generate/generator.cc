#include "harness/generate/generator.h"

#include <sys/resource.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "harness/cases/case_file.h"
#include "harness/cases/manifest.h"
#include "harness/core/error.h"
#include "harness/core/words.h"
#include "harness/run/case_runner.h"
#include "harness/store/baseline_store.h"

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

struct Job {
  const CaseSpec* spec;
  const MatrixEntry* version;
  fs::path dir;  // where the case is recorded
};

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
                       "\" (known: " + JoinWords(CommandNames()) + ")");
  }
  const std::vector<std::string> types = SelectOutputTypes(*command, request.output_types);
  Manifest manifest = LoadManifest(request.cases_dir / "images" / "manifest.json");
  fs::path case_path = request.cases_dir / (request.command + ".json");
  CaseFile file = ParseCaseFile(case_path, manifest);
  if (file.command != request.command) {
    throw HarnessError(case_path.string() + ": \"command\" is \"" + file.command +
                       "\", expected \"" + request.command + "\"");
  }
  std::vector<CaseSpec> cases = PlanCases(file, manifest, types);
  std::erase_if(cases,
                [&](const CaseSpec& spec) { return !spec.MatchesAnyGlob(request.case_globs); });
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

  // A shard runs its own cases; the files of every case planned are the
  // ones its pruning keeps.
  std::set<std::string> own;
  if (request.shard) {
    std::vector<std::string> keys;
    for (const auto& spec : cases) keys.push_back(ShardKey(spec));
    own = DealKeys(std::move(keys), *request.shard);
  }
  std::vector<Job> jobs;
  std::vector<const CaseSpec*> job_cases;
  std::set<fs::path> planned_files;
  std::set<fs::path> dirs;
  for (const auto& entry : request.matrix.entries) {
    for (const auto& spec : cases) {
      fs::path dir = BaselineDir(request.out_dir, spec, entry.version_text);
      for (auto& file : RecordFiles(dir, spec.name)) planned_files.insert(std::move(file));
      ++report.planned;
      if (request.shard && !own.contains(ShardKey(spec))) continue;
      dirs.insert(dir);
      jobs.push_back({&spec, &entry, std::move(dir)});
      job_cases.push_back(&spec);
    }
  }
  report.cases = jobs.size();

  CasePool pool(std::move(job_cases), {request.cases_dir / "images", request.jobs, request.timeout},
                interrupt);
  report.jobs = pool.jobs();
  if (!pool.note().empty()) report.notes.push_back(pool.note());
  // A shard may hold no case at all (more shards than cases): its --out
  // is still there, empty, for `merge`.
  fs::create_directories(request.out_dir);
  for (const auto& dir : dirs) fs::create_directories(dir);

  Progress progress("generate " + request.command, jobs.size(), request.progress);
  RecordWriter writer(progress);
  std::mutex mutex;  // guards report
  std::string first_error;
  try {
    pool.Run([&](size_t i, CaseRunner& runner) {
      const Job& job = jobs[i];
      const CaseSpec& spec = *job.spec;
      // The writer's error is thrown below; the rest of the run is moot.
      if (writer.failed()) return;
      if (request.resume && IsRecorded(job.dir, spec.name)) {
        std::lock_guard<std::mutex> lock(mutex);
        ++report.skipped;
        progress.Advance();
        return;
      }
      const std::vector<StepRun> runs = runner.Run(spec, {job.version->qemu_img, {}});
      if (interrupt.stopping()) return;  // the case in flight is not written
      writer.Push(job.dir, spec.name, BuildRecord(spec, job.version->version_text, runs));
      std::lock_guard<std::mutex> lock(mutex);
      ++report.recorded;
      report.steps_run += runs.size();
      if (runs.back().result.exit_code != 0) ++report.nonzero_exits;
      for (const auto& run : runs) {
        if (run.result.timed_out) {
          report.timed_out.push_back(spec.output_type + "/" + spec.bucket + "/" +
                                     job.version->version_text + "/" + spec.name);
        }
      }
    });
  } catch (const HarnessError& error) {
    first_error = error.what();
  }
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
    report.pruned_files = PruneBaselines(request.out_dir, types, versions, planned_files);
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
  const std::string shard = request.shard ? " shard " + request.shard->Text() : "";
  (void)std::snprintf(line, sizeof(line),
                      "generate %s%s: %zu cases over %zu version%s: %zu recorded, %zu skipped, "
                      "%zu non-zero exits, %zu time-outs\n",
                      request.command.c_str(), shard.c_str(), report.cases, report.versions,
                      report.versions == 1 ? "" : "s", report.recorded, report.skipped,
                      report.nonzero_exits, report.timed_out.size());
  text += line;
  if (request.shard) {
    (void)std::snprintf(line, sizeof(line), "  its part: %zu of the %zu cases planned\n",
                        report.cases, report.planned);
    text += line;
  }
  double share = report.children_cpu_seconds > 0
                     ? 100.0 * report.self_cpu_seconds / report.children_cpu_seconds
                     : 0.0;
  (void)std::snprintf(
      line, sizeof(line),
      "  wall %.2f s with %u jobs, children CPU %.2f s, harness CPU %.2f s (%.1f %% of "
      "the children's)\n",
      report.wall_seconds, report.jobs, report.children_cpu_seconds, report.self_cpu_seconds,
      share);
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
