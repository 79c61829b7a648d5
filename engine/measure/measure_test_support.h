// Test support for engine/measure: versions, error text, sparse files, a
// raw image over a sparse file and running the system qemu-img. What
// `instar measure` prints is compared with every qemu-img version by the
// harness (cases/measure.json), not here.
#ifndef INSTAR_ENGINE_MEASURE_MEASURE_TEST_SUPPORT_H_
#define INSTAR_ENGINE_MEASURE_MEASURE_TEST_SUPPORT_H_

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "instar/engine/measure.h"
#include "testing/memory_device.h"

namespace instar::measure_test {

inline QemuVersion Version(const std::string& text) {
  auto v = ParseQemuVersion(text.data(), text.size());
  return v.ok() ? *v : QemuVersion{};
}

inline std::vector<QemuVersion> Versions(const std::string& list) {
  std::vector<QemuVersion> out;
  size_t pos = 0;
  while (pos < list.size()) {
    size_t end = list.find(' ', pos);
    if (end == std::string::npos) end = list.size();
    if (end > pos) out.push_back(Version(list.substr(pos, end - pos)));
    pos = end + 1;
  }
  return out;
}

inline std::string ErrorText(const MeasureError& error) {
  std::string text(FormatMeasureError(error, nullptr, 0), '\0');
  FormatMeasureError(error, text.data(), text.size() + 1);
  return text;
}

// A raw image over a real (sparse) file whose block status comes from
// SEEK_DATA/SEEK_HOLE, as qemu's file-posix driver answers for a raw
// source: data runs are allocated data, holes read as zeros.
class SparseFileImage final : public Image {
 public:
  explicit SparseFileImage(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY)) {
    struct stat st;
    size_ = (fd_ >= 0 && ::fstat(fd_, &st) == 0) ? static_cast<uint64_t>(st.st_size) : 0;
  }
  ~SparseFileImage() {
    if (fd_ >= 0) ::close(fd_);
  }
  SparseFileImage(const SparseFileImage&) = delete;
  SparseFileImage& operator=(const SparseFileImage&) = delete;

  bool ok() const { return fd_ >= 0; }
  ImageFormat format() const override { return ImageFormat::kRaw; }
  uint64_t VirtualSize() const override { return size_; }
  // The file's bytes are never read through the image: block status only.
  BlockDevice& file() override { return unused_file_; }
  bool HasDriverBlockStatus() const override { return true; }
  Result<BlockStatus> DriverBlockStatus(bool, uint64_t offset, uint64_t bytes) override {
    const off_t data = ::lseek(fd_, static_cast<off_t>(offset), SEEK_DATA);
    BlockStatus s;
    uint64_t end;
    if (data < 0 || static_cast<uint64_t>(data) > offset) {
      s.flags = block_status::kZero | block_status::kAllocated;
      end = data < 0 ? size_ : static_cast<uint64_t>(data);
    } else {
      s.flags = block_status::kData | block_status::kAllocated;
      const off_t hole = ::lseek(fd_, static_cast<off_t>(offset), SEEK_HOLE);
      end = hole < 0 ? size_ : static_cast<uint64_t>(hole);
    }
    s.bytes = end - offset < bytes ? end - offset : bytes;
    return s;
  }

  static Result<BlockStatus> Status(Image& image, uint64_t offset, uint64_t bytes,
                                    const QemuVersion&) {
    return image.DriverBlockStatus(true, offset, bytes);
  }

 private:
  int fd_;
  uint64_t size_ = 0;
  testing::MemoryDevice unused_file_;
};

// Runs a shell command; returns its stdout.
inline std::string RunCommand(const std::string& command, int* exit_status) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    *exit_status = -1;
    return out;
  }
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  const int status = ::pclose(pipe);
  *exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// A fresh directory under $TMPDIR (or /tmp), removed by the destructor.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/instar-measure-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) != nullptr) path_ = buffer.data();
  }
  ~TempDir() {
    if (!path_.empty()) {
      int status;
      RunCommand("rm -rf '" + path_ + "'", &status);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Removes every file in the directory.
  void Clear() const {
    int status;
    RunCommand("rm -f '" + path_ + "'/*", &status);
  }
  // The sum of st_size over the directory's files.
  uint64_t TotalBytes() const {
    uint64_t total = 0;
    DIR* dir = ::opendir(path_.c_str());
    if (dir == nullptr) return 0;
    while (dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] == '.') continue;
      struct stat st;
      if (::stat((path_ + "/" + entry->d_name).c_str(), &st) == 0) total += st.st_size;
    }
    ::closedir(dir);
    return total;
  }

 private:
  std::string path_;
};

// The version of the qemu-img on PATH.
inline QemuVersion SystemQemuVersion() {
  int status;
  const std::string banner = RunCommand("qemu-img --version", &status);
  auto v = ParseVersionBanner(banner.data(), banner.size());
  return v.ok() ? *v : QemuVersion{};
}

// Writes `size` bytes of holes with `runs` (offset, length) of 0xab data.
inline bool MakeSparseFile(const std::string& path, uint64_t size,
                           const std::vector<std::pair<uint64_t, uint64_t>>& runs) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return false;
  bool ok = ::ftruncate(fd, static_cast<off_t>(size)) == 0;
  std::vector<char> data(1 << 20, static_cast<char>(0xab));
  for (const auto& [offset, length] : runs) {
    for (uint64_t done = 0; ok && done < length;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(data.size(), length - done));
      ok = ::pwrite(fd, data.data(), n, static_cast<off_t>(offset + done)) ==
           static_cast<ssize_t>(n);
      done += n;
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace instar::measure_test

#endif  // INSTAR_ENGINE_MEASURE_MEASURE_TEST_SUPPORT_H_
