#include "vmm/sandbox/device_table.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <climits>
#include <cstdlib>

#include <csignal>

#include <pthread.h>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "host/fd.h"

namespace instar::vmm {

namespace {

// Opens the file the user named, read-only, without blocking on a FIFO or
// a device that waits for a peer, and refuses anything but a regular file,
// a block device or a character device (qemu's host_device: /dev/null),
// which stays non-blocking so a read can never hang the host.
int OpenUserFile(const std::string& path, int* error, int access = O_RDONLY) {
  host::Fd fd(::open(path.c_str(), access | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) {
    *error = errno;
    return -1;
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    *error = errno;
    return -1;
  }
  // A character device is read (qemu's host_device: /dev/null), never
  // written through.
  if (S_ISCHR(st.st_mode) && access == O_RDONLY) return fd.Release();
  if (!(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
    *error = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    return -1;
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    *error = errno;
    return -1;
  }
  return fd.Release();
}

// Whether `path` (absolute, resolved) is `tree` or below it.
bool Under(const std::string& path, const char* tree) {
  const size_t n = std::strlen(tree);
  return path.compare(0, n, tree) == 0 && (path.size() == n || path[n] == '/');
}

// Whether `path` (absolute, resolved) is in one of the kernel's own trees,
// where no file a guest names may lead. /dev/shm is the exception: a tmpfs
// of users' files (instar-harness keeps its scratch corpus there), where
// the regular-file check below still holds.
bool InKernelTree(const std::string& path) {
  if (Under(path, "/dev/shm") && path != "/dev/shm") return false;
  return Under(path, "/proc") || Under(path, "/sys") || Under(path, "/dev");
}

// Where the open file `fd` (opened as `path`) really is: the kernel's own
// name for it from /proc/self/fd, else (no /proc) realpath(3) of `path`.
// Empty when neither answers.
std::string ResolvedPath(int fd, const std::string& path) {
  char link[64];
  (void)std::snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  char target[PATH_MAX];
  const ssize_t n = ::readlink(link, target, sizeof(target) - 1);
  if (n > 0 && target[0] == '/') return std::string(target, static_cast<size_t>(n));
  char* resolved = ::realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return "";
  std::string result(resolved);
  std::free(resolved);
  return result;
}

// The one path by which a file the guest names (a backing file, an extent,
// an external data file) is opened. It follows no magic link (openat2's
// RESOLVE_NO_MAGICLINKS where the kernel has openat2; the confined host's
// filter answers ENOSYS to openat2, and then openat is used and the check
// below is what holds), then asks the kernel where the file it opened
// really is: never in /proc, /sys or /dev, whatever symlinks led there, and
// only a regular file (a block device is for the user to name, not the
// guest). A refused file is EACCES (or EISDIR, EINVAL), as a guest should
// see a denied open.
int OpenGuestNamedFile(const std::string& path, int* error) {
  constexpr int kFlags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  open_how how{};
  how.flags = kFlags;
  how.resolve = RESOLVE_NO_MAGICLINKS;
  host::Fd fd(static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof(how))));
  if (!fd.valid() && errno == ENOSYS) fd.Reset(::open(path.c_str(), kFlags));
  if (!fd.valid()) {
    *error = errno;
    return -1;
  }
  const std::string resolved = ResolvedPath(fd.get(), path);
  if (resolved.empty() || InKernelTree(resolved)) {
    *error = EACCES;
    return -1;
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    *error = errno;
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    *error = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    return -1;
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    *error = errno;
    return -1;
  }
  return fd.Release();
}

// qemu's path_combine(): `name` relative to the directory of `base`.
std::string CombinePath(const std::string& base, const std::string& name) {
  if (!name.empty() && name[0] == '/') return name;
  const size_t slash = base.rfind('/');
  if (slash == std::string::npos) return name;
  return base.substr(0, slash + 1) + name;
}

// lseek(fd, offset, whence) into *result: `if_none` where there is no such
// offset (ENXIO).
abi::CallError Seek(int fd, uint64_t offset, int whence, uint64_t if_none, uint64_t* result) {
  const off_t pos = ::lseek(fd, static_cast<off_t>(offset), whence);
  if (pos < 0) {
    if (errno != ENXIO) return abi::CallError::kIOError;
    *result = if_none;
  } else {
    *result = static_cast<uint64_t>(pos);
  }
  return abi::CallError::kOk;
}

// The temporary names of the outputs while they are pending, for the
// signal handlers: fixed buffers, as they may not allocate. A slot is live
// while its first byte is not NUL.
char pending_outputs[DeviceTable::kMaxOutputs][PATH_MAX];

void OnTerminationSignal(int signal) {
  UnlinkPendingOutput();
  ::_exit(128 + signal);
}

constexpr int kTerminationSignals[] = {SIGINT, SIGTERM, SIGHUP};

// SIGINT, SIGTERM and SIGHUP remove the pending outputs and end the
// process as the signal would have (its exit status).
void CatchTerminationSignals() {
  struct sigaction action {};
  action.sa_handler = &OnTerminationSignal;
  sigemptyset(&action.sa_mask);
  for (int signal : kTerminationSignals) (void)::sigaction(signal, &action, nullptr);
}

void SetPendingOutput(size_t slot, const std::string& path) {
  char* pending = pending_outputs[slot];
  if (path.empty() || path.size() >= PATH_MAX) return;
  // Written before the name is live: a signal sees either nothing or the
  // whole name.
  std::memcpy(pending + 1, path.data() + 1, path.size() - 1);
  pending[path.size()] = '\0';
  __atomic_store_n(&pending[0], path[0], __ATOMIC_SEQ_CST);
}

void ClearPendingOutput(size_t slot) {
  __atomic_store_n(&pending_outputs[slot][0], '\0', __ATOMIC_SEQ_CST);
}

// The termination signals held back while the outputs are renamed, so that
// a signal sees every output pending or every output committed.
class TerminationSignalsHeld {
 public:
  TerminationSignalsHeld() {
    sigset_t held;
    sigemptyset(&held);
    for (int signal : kTerminationSignals) sigaddset(&held, signal);
    (void)::pthread_sigmask(SIG_BLOCK, &held, &previous_);
  }
  ~TerminationSignalsHeld() { (void)::pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  TerminationSignalsHeld(const TerminationSignalsHeld&) = delete;
  TerminationSignalsHeld& operator=(const TerminationSignalsHeld&) = delete;

 private:
  sigset_t previous_;
};

// Whether `name` may be a sibling output's: one file name in the target's
// directory, nothing that climbs out of it or names it.
bool PlainFileName(const std::string& name) {
  return !name.empty() && name.size() <= NAME_MAX && name != "." && name != ".." &&
         name.find('/') == std::string::npos && name.find('\0') == std::string::npos;
}

// qemu's file-posix creates an image with mode 0644, less the umask.
mode_t CreationMode() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0644 & ~mask;
}

}  // namespace

void UnlinkPendingOutput() {
  for (char* pending : pending_outputs) {
    if (__atomic_load_n(&pending[0], __ATOMIC_SEQ_CST) != '\0') ::unlink(pending);
  }
}

DeviceTable::~DeviceTable() {
  DiscardOutput();
  write_behind_.reset();
  for (int fd : fds_) ::close(fd);
}

const DeviceTable::Output* DeviceTable::FindOutput(uint32_t device) const {
  for (const Output& output : outputs_) {
    if (output.device == device) return &output;
  }
  return nullptr;
}

DeviceTable::Output* DeviceTable::FindOutput(uint32_t device) {
  for (Output& output : outputs_) {
    if (output.device == device) return &output;
  }
  return nullptr;
}

std::vector<int> DeviceTable::output_fds() const {
  std::vector<int> fds;
  for (const Output& output : outputs_) fds.push_back(fds_[output.device]);
  return fds;
}

const std::string& DeviceTable::output_temp_path() const {
  static const std::string kNone;
  return outputs_.empty() ? kNone : outputs_[0].temp;
}

bool DeviceTable::WithinWriteLimit(uint32_t device, uint64_t end) const {
  const Output* output = FindOutput(device);
  if (output == nullptr) return false;
  uint64_t total = 0;
  for (const Output& other : outputs_) {
    const uint64_t reach = &other == output && end > other.reach ? end : other.reach;
    if (__builtin_add_overflow(total, reach, &total)) return false;
  }
  return total <= write_limit_;
}

void DeviceTable::Reached(uint32_t device, uint64_t end) {
  Output* output = FindOutput(device);
  if (output != nullptr && end > output->reach) output->reach = end;
}

bool DeviceTable::CreateOutput(const std::string& target, std::string* error) {
  const size_t slash = target.rfind('/');
  const std::string directory = slash == std::string::npos ? "" : target.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? target : target.substr(slash + 1);
  if (base.empty()) {
    *error = "Could not create '" + target + "': Is a directory";
    return false;
  }
  std::string temp = directory + "." + base + ".instar-XXXXXX";
  CatchTerminationSignals();
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) {
    *error = "Could not create '" + target + "': " + std::strerror(errno);
    return false;
  }
  const size_t slot = outputs_.size();
  SetPendingOutput(slot, temp);
  if (::fchmod(fd, CreationMode()) != 0) {
    *error = "Could not create '" + target + "': " + std::strerror(errno);
    ::close(fd);
    ::unlink(temp.c_str());
    ClearPendingOutput(slot);
    return false;
  }
  Output output;
  output.device = static_cast<uint32_t>(fds_.size());
  output.target = target;
  output.temp = temp;
  outputs_.push_back(output);
  fds_.push_back(fd);
  paths_.push_back(target);
  return true;
}

bool DeviceTable::OpenOutput(const std::string& target, uint64_t write_limit, std::string* error) {
  if (!fds_.empty()) {
    *error = "Could not create '" + target + "': the output must be the first device";
    return false;
  }
  if (target.empty()) {
    *error = "Could not create '': " + std::string(std::strerror(ENOENT));
    return false;
  }
  if (!CreateOutput(target, error)) return false;
  ++roots_;
  write_limit_ = write_limit;
  // Now, before the host confinement forbids new threads.
  write_behind_ = std::make_unique<WriteBehind>();
  return true;
}

bool DeviceTable::OpenSiblingOutput(const std::string& name, std::string* error) {
  if (outputs_.empty() || outputs_[0].temp.empty()) {
    *error = "Could not create '" + name + "': no output to put it beside";
    return false;
  }
  const std::string path = BesideTarget(name);
  if (!PlainFileName(name)) {
    *error = "Could not create '" + path + "': not a file name beside the image";
    return false;
  }
  for (const Output& output : outputs_) {
    if (output.target == path) {
      *error = "Could not create '" + path + "': the command writes it already";
      return false;
    }
  }
  if (outputs_.size() >= kMaxOutputs || fds_.size() >= abi::kMaxDevices) {
    *error = "Could not create '" + path + "': too many output files";
    return false;
  }
  return CreateOutput(path, error);
}

bool DeviceTable::OpenInPlace(const std::string& path, uint64_t write_limit, std::string* error) {
  if (!fds_.empty()) {
    *error = "Could not open '" + path + "': the image must be the first device";
    return false;
  }
  if (!AddInPlaceOutput(path, error)) return false;
  ++roots_;
  write_limit_ = write_limit;
  return true;
}

bool DeviceTable::AddInPlaceOutput(const std::string& path, std::string* error) {
  int err = 0;
  const int fd = OpenUserFile(path, &err, O_RDWR);
  if (fd < 0) {
    *error = "Could not open '" + path + "': " + std::strerror(err);
    return false;
  }
  // No temporary name: CommitOutput() and DiscardOutput() have nothing to
  // do, and no signal handler removes anything.
  Output output;
  output.device = static_cast<uint32_t>(fds_.size());
  output.target = path;
  outputs_.push_back(output);
  fds_.push_back(fd);
  paths_.push_back(path);
  return true;
}

std::string DeviceTable::BesideTarget(const std::string& name) const {
  const std::string& target = outputs_[0].target;
  const size_t slash = target.rfind('/');
  return (slash == std::string::npos ? "" : target.substr(0, slash + 1)) + name;
}

bool DeviceTable::OpenSiblingInPlace(const std::string& name, std::string* error, bool* found) {
  if (found != nullptr) *found = false;
  if (outputs_.empty() || !outputs_[0].temp.empty()) {
    *error = "Could not open '" + name + "': no image written in place to put it beside";
    return false;
  }
  const std::string path = BesideTarget(name);
  if (!PlainFileName(name)) {
    *error = "Could not open '" + path + "': not a file name beside the image";
    return false;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return true;
  if (found != nullptr) *found = true;
  for (const Output& output : outputs_) {
    if (output.target == path) return true;  // the image itself, or opened already
  }
  if (outputs_.size() >= kMaxOutputs || fds_.size() >= abi::kMaxDevices) {
    *error = "Could not open '" + path + "': too many output files";
    return false;
  }
  return AddInPlaceOutput(path, error);
}

bool DeviceTable::CommitOutput(std::string* error) {
  if (outputs_.empty() || outputs_[0].temp.empty()) {
    *error = "no output to commit";
    return false;
  }
  if (write_behind_ != nullptr && write_behind_->Drain() != abi::CallError::kOk) {
    *error = "Could not write '" + outputs_[0].target + "': " + std::strerror(EIO);
    DiscardOutput();
    return false;
  }
  for (const Output& output : outputs_) {
    if (!skip_flushes_ && (output.opened || output.device == outputs_[0].device) &&
        ::fdatasync(fds_[output.device]) != 0) {
      *error = "Could not create '" + output.target + "': " + std::strerror(errno);
      DiscardOutput();
      return false;
    }
  }
  // Device 0's last: while it is absent, the image it describes is.
  TerminationSignalsHeld held;
  std::vector<const Output*> renamed;
  for (size_t i = outputs_.size(); i-- > 0;) {
    const Output& output = outputs_[i];
    const bool used = i == 0 || output.opened;
    if (!used) {
      ::unlink(output.temp.c_str());
      continue;
    }
    if (::rename(output.temp.c_str(), output.target.c_str()) != 0) {
      *error = "Could not create '" + output.target + "': " + std::strerror(errno);
      for (const Output* done : renamed) ::unlink(done->target.c_str());
      for (size_t j = 0; j <= i; ++j) ::unlink(outputs_[j].temp.c_str());
      for (size_t slot = 0; slot < outputs_.size(); ++slot) ClearPendingOutput(slot);
      for (Output& each : outputs_) each.temp.clear();
      return false;
    }
    renamed.push_back(&output);
  }
  for (size_t slot = 0; slot < outputs_.size(); ++slot) ClearPendingOutput(slot);
  for (Output& output : outputs_) output.temp.clear();
  return true;
}

void DeviceTable::DiscardOutput() {
  if (write_behind_ != nullptr) (void)write_behind_->Drain();
  for (size_t slot = 0; slot < outputs_.size(); ++slot) {
    Output& output = outputs_[slot];
    if (output.temp.empty()) continue;
    ::unlink(output.temp.c_str());
    ClearPendingOutput(slot);
    output.temp.clear();
  }
}

bool DeviceTable::OpenPath(const std::string& path, std::string* error) {
  if (fds_.size() >= abi::kMaxDevices) {
    *error = "Could not open '" + path + "': too many open files";
    return false;
  }
  int err = 0;
  const int fd = OpenUserFile(path, &err);
  if (fd < 0) {
    *error = "Could not open '" + path + "': " + std::strerror(err);
    return false;
  }
  fds_.push_back(fd);
  paths_.push_back(path);
  // A device the guest opened comes after every root.
  if (roots_ + 1 == fds_.size()) ++roots_;
  return true;
}

abi::CallError DeviceTable::OpenByName(const std::string& name, abi::OpenBase base, uint32_t root,
                                       uint32_t* device) {
  if (root >= roots_) return abi::CallError::kBadDevice;
  if (name.empty() || name.size() > abi::kMaxName || name.find('\0') != std::string::npos) {
    return abi::CallError::kDenied;
  }
  const std::string path =
      base == abi::OpenBase::kWorkingDirectory ? name : CombinePath(paths_[root], name);
  // An output of this run is the file the name will be once committed: the
  // guest reads what it wrote, never what lies at the target now.
  for (Output& output : outputs_) {
    // (Not device 0 written in place: the guest reads that as device 0.)
    if ((output.temp.empty() && &output == &outputs_[0]) || output.target != path) continue;
    if (base == abi::OpenBase::kOutput) output.opened = true;
    *device = output.device;
    return abi::CallError::kOk;
  }
  // Only the outputs the host created are writable; kOutput opens nothing
  // else.
  if (base == abi::OpenBase::kOutput) return abi::CallError::kNotFound;
  if (fds_.size() >= abi::kMaxDevices) return abi::CallError::kDenied;
  int err = 0;
  const int fd = OpenGuestNamedFile(path, &err);
  if (fd < 0) {
    if (err == ENOENT || err == ENOTDIR) return abi::CallError::kNotFound;
    if (err == EACCES || err == EPERM || err == EISDIR || err == EINVAL || err == ELOOP) {
      return abi::CallError::kDenied;
    }
    return abi::CallError::kIOError;
  }
  *device = static_cast<uint32_t>(fds_.size());
  fds_.push_back(fd);
  paths_.push_back(path);
  return abi::CallError::kOk;
}

abi::CallError DeviceTable::Read(uint32_t device, uint64_t offset, uint8_t* out, uint64_t length) {
  if (!Valid(device)) return abi::CallError::kBadDevice;
  if (const abi::CallError e = Settle(device); e != abi::CallError::kOk) return e;
  uint64_t end;
  if (__builtin_add_overflow(offset, length, &end) || end > static_cast<uint64_t>(INT64_MAX)) {
    return abi::CallError::kBadRange;
  }
  uint64_t done = 0;
  while (done < length) {
    const ssize_t n =
        ::pread(fds_[device], out + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return abi::CallError::kIOError;
    }
    if (n == 0) break;  // end of file: the rest reads as zeros
    done += static_cast<uint64_t>(n);
  }
  if (done < length) std::memset(out + done, 0, length - done);
  return abi::CallError::kOk;
}

abi::CallError DeviceTable::Write(uint32_t device, uint64_t offset, const uint8_t* data,
                                  uint64_t length, bool lent) {
  if (!Writable(device)) return abi::CallError::kDenied;
  abi::CallError error;
  if (write_behind_ != nullptr) {
    uint64_t ticket = 0;
    error = write_behind_->Post(fds_[device], offset, data, length, lent, &ticket);
    if (error == abi::CallError::kOk && lent) lent_write_ = ticket;
  } else {
    error = WriteAll(fds_[device], offset, data, length);
  }
  if (error != abi::CallError::kOk) return error;
  Reached(device, offset + length);
  return abi::CallError::kOk;
}

void DeviceTable::ReleaseLent(uint64_t ticket) {
  if (ticket == 0) ticket = lent_write_;
  if (ticket == 0 || write_behind_ == nullptr) return;
  write_behind_->WaitFor(ticket);
  if (lent_write_ == ticket) lent_write_ = 0;
}

abi::CallError DeviceTable::Settle(uint32_t device) {
  if (write_behind_ == nullptr || FindOutput(device) == nullptr) return abi::CallError::kOk;
  return write_behind_->Drain();
}

abi::CallError DeviceTable::Truncate(uint32_t device, uint64_t size) {
  if (!Writable(device)) return abi::CallError::kDenied;
  if (const abi::CallError e = Settle(device); e != abi::CallError::kOk) return e;
  // To the size the file has already, a truncation changes nothing but the
  // file's times, and is not made: on ext4 one to 0 bytes (a new raw
  // image's first, as qemu's raw_co_create makes it) marks the file for a
  // flush of all that is written to it when it is closed (auto_da_alloc),
  // which took 300 ms (strace -T) of a 512 MiB convert's 404 ms here. qemu-img
  // converts into the image it reopened after the create: no mark then.
  struct stat st {};
  if (::fstat(fds_[device], &st) != 0 || static_cast<uint64_t>(st.st_size) != size) {
    if (::ftruncate(fds_[device], static_cast<off_t>(size)) != 0) return abi::CallError::kIOError;
  }
  Reached(device, size);
  return abi::CallError::kOk;
}

abi::CallError DeviceTable::Allocate(uint32_t device, uint64_t offset, uint64_t length) {
  if (!Writable(device)) return abi::CallError::kDenied;
  if (const abi::CallError e = Settle(device); e != abi::CallError::kOk) return e;
  if (length == 0) return abi::CallError::kOk;
  // posix_fallocate(3) returns the error rather than setting errno.
  if (::posix_fallocate(fds_[device], static_cast<off_t>(offset), static_cast<off_t>(length)) !=
      0) {
    return abi::CallError::kIOError;
  }
  Reached(device, offset + length);
  return abi::CallError::kOk;
}

abi::CallError DeviceTable::ZeroRange(uint32_t device, uint64_t offset, uint64_t length) {
  if (!Writable(device)) return abi::CallError::kDenied;
  if (const abi::CallError e = Settle(device); e != abi::CallError::kOk) return e;
  if (length == 0) return abi::CallError::kOk;
  const int fd = fds_[device];
  const auto at = static_cast<off_t>(offset);
  const auto bytes = static_cast<off_t>(length);
  if (::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, at, bytes) == 0) {
    return abi::CallError::kOk;
  }
  if (errno != EOPNOTSUPP && errno != EINVAL && errno != EBUSY) return abi::CallError::kIOError;
  if (::fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, at, bytes) == 0) {
    return abi::CallError::kOk;
  }
  // Zeros written, no further than the file's end (the length is kept).
  struct stat st {};
  if (::fstat(fd, &st) != 0) return abi::CallError::kIOError;
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  const uint64_t end = offset + length < size ? offset + length : size;
  static constexpr uint8_t kZeros[64 << 10] = {};
  for (uint64_t done = offset; done < end;) {
    const size_t n = end - done < sizeof(kZeros) ? static_cast<size_t>(end - done) : sizeof(kZeros);
    const ssize_t written = ::pwrite(fd, kZeros, n, static_cast<off_t>(done));
    if (written <= 0) return abi::CallError::kIOError;
    done += static_cast<uint64_t>(written);
  }
  return abi::CallError::kOk;
}

abi::CallError DeviceTable::Flush(uint32_t device) {
  if (!Valid(device)) return abi::CallError::kBadDevice;
  if (const abi::CallError e = Settle(device); e != abi::CallError::kOk) return e;
  // A read-only device has nothing to make durable.
  if (!Writable(device) || skip_flushes_) return abi::CallError::kOk;
  if (::fdatasync(fds_[device]) != 0) return abi::CallError::kIOError;
  return abi::CallError::kOk;
}

abi::CallError DeviceTable::Size(uint32_t device, uint64_t* size) {
  if (!Valid(device)) return abi::CallError::kBadDevice;
  if (const abi::CallError e = Settle(device); e != abi::CallError::kOk) return e;
  struct stat st;
  if (::fstat(fds_[device], &st) != 0) return abi::CallError::kIOError;
  if (S_ISBLK(st.st_mode)) {
    const off_t end = ::lseek(fds_[device], 0, SEEK_END);
    if (end < 0) return abi::CallError::kIOError;
    *size = static_cast<uint64_t>(end);
  } else {
    *size = static_cast<uint64_t>(st.st_size);
  }
  return abi::CallError::kOk;
}

abi::CallError DeviceTable::SeekData(uint32_t device, uint64_t offset, uint64_t* result) {
  if (!Valid(device)) return abi::CallError::kBadDevice;
  if (const abi::CallError e = Settle(device); e != abi::CallError::kOk) return e;
  if (offset > static_cast<uint64_t>(INT64_MAX)) {
    *result = abi::kNoData;
    return abi::CallError::kOk;
  }
  return Seek(fds_[device], offset, SEEK_DATA, abi::kNoData, result);
}

abi::CallError DeviceTable::SeekHole(uint32_t device, uint64_t offset, uint64_t* result) {
  if (!Valid(device)) return abi::CallError::kBadDevice;
  uint64_t size = 0;
  if (const abi::CallError e = Size(device, &size); e != abi::CallError::kOk) return e;
  // At or past the end of the file everything is a hole; lseek says ENXIO.
  if (offset >= size) {
    *result = offset;
    return abi::CallError::kOk;
  }
  return Seek(fds_[device], offset, SEEK_HOLE, offset, result);
}

abi::CallError DeviceTable::AllocatedSize(uint32_t device, uint64_t* bytes) {
  if (!Valid(device)) return abi::CallError::kBadDevice;
  if (const abi::CallError e = Settle(device); e != abi::CallError::kOk) return e;
  struct stat st {};
  if (::fstat(fds_[device], &st) != 0) return abi::CallError::kIOError;
  *bytes = static_cast<uint64_t>(st.st_blocks) * 512;
  return abi::CallError::kOk;
}

abi::CallError DeviceTable::DataExtents(uint32_t device, uint64_t offset, abi::DataExtent* extents,
                                        size_t capacity, uint64_t* count) {
  *count = 0;
  uint64_t at = offset;
  while (*count < capacity) {
    uint64_t start = 0;
    uint64_t end = 0;
    if (const abi::CallError e = SeekData(device, at, &start); e != abi::CallError::kOk) return e;
    if (start == abi::kNoData) break;
    if (const abi::CallError e = SeekHole(device, start, &end); e != abi::CallError::kOk) return e;
    if (end <= start) break;  // the file shrank under us; what was found stands
    extents[(*count)++] = {start, end};
    at = end;
  }
  return abi::CallError::kOk;
}

}  // namespace instar::vmm
