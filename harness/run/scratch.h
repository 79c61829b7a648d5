// The scratch space of a run: one temporary directory, removed however the
// run ends (generate and conform both make one).
//
// It goes on /dev/shm when that is a writable tmpfs, else in $TMPDIR (with a
// note for the summary); $INSTAR_HARNESS_SCRATCH overrides both. Why tmpfs:
// qemu-img's (and instar's) "disk size" / "actual-size" depend on the file
// system of the files they look at. ext4 counts an extent index block that
// tmpfs does not (vhdx images show it), and ext4 without a journal, xfs or
// btrfs differ again; tmpfs behaves the same on every Linux, so outputs do
// not depend on what $TMPDIR is on the machine. (It also makes qemu-img
// create's fdatasync calls free instead of disk waits.)
//
// A run killed outright (SIGKILL, OOM) cannot remove its directory, and on
// tmpfs what it held (the materialised corpus, preallocated images of up
// to 1 GiB) would stay in memory. So each run holds a flock on its
// directory for as long as it lives, and a new run first removes every
// instar-harness.* directory of the same base that nobody holds: runs
// that share a scratch base never remove each other's directory.
#ifndef INSTAR_HARNESS_RUN_SCRATCH_H_
#define INSTAR_HARNESS_RUN_SCRATCH_H_

#include <filesystem>
#include <string>

#include "host/fd.h"

namespace instar::harness {

// Where the scratch directory goes; sets *note when it is not on tmpfs.
std::filesystem::path ScratchBase(std::string* note);

class ScratchDir {
 public:
  // Removes the directories that killed runs left in `base`, then creates
  // and locks <base>/instar-harness.XXXXXX; throws HarnessError on failure.
  explicit ScratchDir(const std::filesystem::path& base);
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir();
  // Canonical, so children see one spelling of it to rewrite.
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  host::Fd lock_;  // the directory, open and flock'ed while the run lives
};

// Removes the instar-harness.* directories in `base` that no living run
// holds; returns how many. Exposed for tests.
size_t RemoveAbandonedScratch(const std::filesystem::path& base);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_RUN_SCRATCH_H_
