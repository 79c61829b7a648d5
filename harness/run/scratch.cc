#include "harness/run/scratch.h"

#include <linux/magic.h>
#include <stdlib.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "harness/core/error.h"

namespace instar::harness {

namespace fs = std::filesystem;

fs::path ScratchBase(std::string* note) {
  if (const char* env = std::getenv("INSTAR_HARNESS_SCRATCH"); env != nullptr && *env != '\0') {
    return env;
  }
  struct statfs info;
  if (::statfs("/dev/shm", &info) == 0 && info.f_type == TMPFS_MAGIC &&
      ::access("/dev/shm", W_OK | X_OK) == 0) {
    return "/dev/shm";
  }
  const fs::path fallback = fs::temp_directory_path();
  *note = "/dev/shm is not a writable tmpfs: scratch in " + fallback.string() +
          ", so disk sizes may differ from baselines made on tmpfs";
  return fallback;
}

ScratchDir::ScratchDir(const fs::path& base) {
  std::string pattern = (base / "instar-harness.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw HarnessError("cannot create a scratch directory " + pattern + ": " +
                       std::strerror(errno));
  }
  // Children print the paths they were given; give them the canonical one
  // so there is exactly one spelling to rewrite.
  path_ = fs::canonical(pattern);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace instar::harness
