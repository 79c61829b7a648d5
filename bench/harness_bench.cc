// instar-bench-harness: generates the measure and create baselines of the
// whole matrix into a scratch directory, as `make baselines-measure
// baselines-create` would, and reports how well the harness keeps the
// cores busy with qemu-img and how little it costs itself:
//
//   wall ÷ (children's CPU ÷ jobs)    1.0 when the workers never wait on
//                                      the harness; target ≤ 1.10
//   harness CPU ÷ children's CPU       target ≤ 3 %
//
// and, since the share depends on how costly the children are, the
// harness's CPU per qemu-img run (its fixed costs, planning and the
// corpus, included).
//
// Children's CPU is every child's user + system time (qemu-img, and the xz
// that decompresses the corpus). The baselines are written into a scratch
// directory under --out-base (default /dev/shm), removed at the end. Run it
// on an otherwise idle machine: other load steals the cores the ratio
// assumes (the last line says how much other processes used).
//
// Usage: instar-bench-harness [--binaries DIR] [--jobs N] [--cases DIR]
//                             [--out-base DIR]

#include <stdlib.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <boost/program_options.hpp>

#include "harness/core/error.h"
#include "harness/generate/generator.h"

namespace instar::harness {
namespace {

namespace po = boost::program_options;

// CPU seconds the whole machine spent busy (all but idle and iowait), from
// /proc/stat; 0 where it cannot be read.
double MachineBusySeconds() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                     steal = 0;
  if (!(stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) ||
      cpu != "cpu") {
    return 0;
  }
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return static_cast<double>(user + nice + system + irq + softirq + steal) / tick;
}

int Main(int argc, char** argv) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "binaries", po::value<std::string>(), "matrix directory (default as for the harness)")(
      "jobs,j", po::value<unsigned>(), "parallel workers (default: one per core)")(
      "cases", po::value<std::string>()->default_value("cases"), "case files and images/")(
      "out-base", po::value<std::string>()->default_value("/dev/shm"),
      "where the scratch baseline tree goes (e.g. the build directory, for ext4)");
  po::variables_map values;
  po::store(po::parse_command_line(argc, argv, options), values);
  po::notify(values);
  if (values.count("help") > 0) {
    std::printf(
        "usage: instar-bench-harness [--binaries DIR] [--jobs N] [--cases DIR] "
        "[--out-base DIR]\n\n");
    std::cout << options;
    return 0;
  }

  ChildRunner runner;
  MatrixOptions matrix_options;
  if (values.count("binaries") > 0) matrix_options.binaries = values["binaries"].as<std::string>();
  Matrix matrix = DiscoverMatrix(matrix_options, runner);

  // The baselines go to a scratch directory under --out-base: by default
  // /dev/shm (tmpfs), like the harness's own scratch, so that the figures
  // measure the harness and not the file system's inode allocator (ext4
  // without a journal, as on the reference machine, gets slower at creating
  // files the more were deleted in the last minutes: repeated runs into the
  // same ext4 directory cost the harness up to half again as much CPU).
  std::filesystem::path base = values["out-base"].as<std::string>();
  std::string pattern = (base / "instar-bench-harness.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw HarnessError("cannot create " + pattern);
  const std::filesystem::path out = pattern;

  Interrupt interrupt;
  SignalWatcher watcher(&interrupt);
  const double busy_start = MachineBusySeconds();
  double wall = 0, children = 0, self = 0;
  unsigned jobs = 0;
  size_t cases = 0, steps = 0;
  int status = 0;
  for (const char* command : {"measure", "create"}) {
    GenerateRequest request;
    request.command = command;
    request.cases_dir = values["cases"].as<std::string>();
    request.out_dir = out;
    request.matrix = matrix;
    if (values.count("jobs") > 0) request.jobs = values["jobs"].as<unsigned>();
    request.progress = ProgressStyle::kSilent;
    GenerateReport report = Generate(request, interrupt);
    std::fputs(FormatSummary(request, report).c_str(), stdout);
    wall += report.wall_seconds;
    children += report.children_cpu_seconds;
    self += report.self_cpu_seconds;
    jobs = report.jobs;
    cases += report.recorded;
    steps += report.steps_run;
    if (report.interrupted_by != 0) {
      status = 128 + report.interrupted_by;
      break;
    }
  }
  const double busy = MachineBusySeconds() - busy_start;
  std::error_code ec;
  std::filesystem::remove_all(out, ec);
  if (status != 0) return status;

  const double ratio = children > 0 ? wall / (children / jobs) : 0;
  const double share = children > 0 ? 100.0 * self / children : 0;
  std::printf("\nbench-harness: %zu cases over %zu versions, %u jobs on %u cores\n", cases,
              matrix.entries.size(), jobs, std::thread::hardware_concurrency());
  std::printf("  wall time                      %8.2f s\n", wall);
  std::printf("  children's CPU                 %8.2f s\n", children);
  std::printf("  wall / (children CPU / jobs)   %8.3f   (target <= 1.10: %s)\n", ratio,
              ratio <= 1.10 ? "met" : "missed");
  std::printf(
      "  harness CPU                    %8.2f s = %.2f %% of the children's (target <= 3 %%: "
      "%s)\n",
      self, share, share <= 3.0 ? "met" : "missed");
  if (steps > 0) {
    std::printf("  per qemu-img run (%zu runs)    %8.0f us of harness CPU, %.2f ms of children's\n",
                steps, 1e6 * self / static_cast<double>(steps),
                1e3 * children / static_cast<double>(steps));
  }
  // Whatever else ran meanwhile took cores the ratio counts on.
  const double others = std::max(0.0, busy - children - self);
  const double capacity = wall * std::thread::hardware_concurrency();
  std::printf("  other processes' CPU meanwhile %8.2f s = %.1f %% of the machine%s\n", others,
              capacity > 0 ? 100.0 * others / capacity : 0.0,
              others > 0.02 * capacity ? " (not an idle machine: the ratio is not clean)" : "");
  return 0;
}

}  // namespace
}  // namespace instar::harness

int main(int argc, char** argv) {
  try {
    return instar::harness::Main(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "instar-bench-harness: %s\n", error.what());
    return 1;
  }
}
