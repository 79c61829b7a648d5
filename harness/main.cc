// instar-harness: runs qemu-img of every matrix version over the case files,
// records baselines and groups versions into profiles. See docs/harness.md.

#include <cstdio>
#include <cstring>
#include <exception>

#include "harness/builtins.h"
#include "harness/core/error.h"

namespace instar::harness {

namespace {

constexpr Builtin kBuiltins[] = {
    {"matrix", "list the qemu-img versions of the matrix", RunMatrix},
    {"generate", "record baselines of one command for the matrix", RunGenerate},
    {"profiles", "group versions with equal baselines into profiles", RunProfiles},
    {"conform", "run instar on every case and diff it against the baselines", RunConform},
    {"merge", "join the outputs of a sharded generate or conform (--shard K/N)", RunMerge},
    {"repro", "run one recorded case with qemu-img and instar and diff them", RunRepro},
    {"difffuzz", "random images through instar and every qemu-img; minimised disagreements",
     RunDifffuzz},
    {"report", "one page, JUnit XML and JSON for the conform reports of a run", RunReportCommand},
    {"commands", "print the command table (--names, --conform: one name a line)", RunCommands},
};

void PrintUsage(std::FILE* to) {
  (void)std::fprintf(
      to, "usage: instar-harness <command> [options]   (<command> --help for its options)\n\n");
  for (const auto& builtin : kBuiltins)
    (void)std::fprintf(to, "  %-10s %s\n", builtin.name, builtin.summary);
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stderr);
    return 2;
  }
  if (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    PrintUsage(stdout);
    return 0;
  }
  for (const auto& builtin : kBuiltins) {
    if (std::strcmp(argv[1], builtin.name) == 0) return builtin.run(argc - 1, argv + 1);
  }
  (void)std::fprintf(stderr, "instar-harness: unknown command '%s'\n", argv[1]);
  PrintUsage(stderr);
  return 2;
}

}  // namespace

}  // namespace instar::harness

int main(int argc, char** argv) {
  try {
    return instar::harness::Main(argc, argv);
  } catch (const std::exception& error) {
    (void)std::fprintf(stderr, "instar-harness: %s\n", error.what());
    return 1;
  } catch (...) {
    (void)std::fprintf(stderr, "instar-harness: unexpected error\n");
    return 1;
  }
}
