#include "harness/run/scratch.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

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

namespace {

constexpr std::string_view kScratchPrefix = "instar-harness.";
// mkdtemp's six characters: instar-harness-repro.* (kept on purpose) and
// other names never match.
constexpr size_t kScratchNameLength = kScratchPrefix.size() + 6;

// A run locks its directory right after mkdtemp() made it; one younger than
// this may be a run's that has not locked it yet.
constexpr time_t kLockGraceSeconds = 2;

bool IsScratchName(const std::string& name) {
  return name.size() == kScratchNameLength && name.starts_with(kScratchPrefix);
}

}  // namespace

size_t RemoveAbandonedScratch(const fs::path& base) {
  size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(base, ec)) {
    if (!IsScratchName(entry.path().filename().string())) continue;
    host::Fd dir(::open(entry.path().c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (dir.get() < 0) continue;
    struct stat info;
    if (::fstat(dir.get(), &info) != 0 || info.st_uid != ::geteuid()) continue;
    if (::time(nullptr) - info.st_ctime < kLockGraceSeconds) continue;
    // Held by a living run: not ours to remove.
    if (::flock(dir.get(), LOCK_EX | LOCK_NB) != 0) continue;
    std::error_code remove_error;
    fs::remove_all(entry.path(), remove_error);
    if (!remove_error) ++removed;
  }
  return removed;
}

ScratchDir::ScratchDir(const fs::path& base) {
  RemoveAbandonedScratch(base);
  std::string pattern = (base / (std::string(kScratchPrefix) + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw HarnessError("cannot create a scratch directory " + pattern + ": " +
                       std::strerror(errno));
  }
  lock_ = host::Fd(::open(pattern.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (lock_.get() < 0 || ::flock(lock_.get(), LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::rmdir(pattern.c_str());
    throw HarnessError("cannot lock the scratch directory " + pattern + ": " +
                       std::strerror(error));
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
