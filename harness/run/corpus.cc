#include "harness/run/corpus.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "harness/core/error.h"
#include "harness/core/sha256.h"
#include "harness/run/child.h"

namespace instar::harness {

namespace fs = std::filesystem;

namespace {

constexpr size_t kBlock = 4096;
// Consecutive data blocks are written together, up to this much at once.
constexpr size_t kMaxRun = size_t{1} << 20;

bool IsZero(const char* data, size_t length) {
  static const char kZeros[kBlock] = {};
  return std::memcmp(data, kZeros, length) == 0;
}

// Receives a file's bytes in pieces of any size and writes them with every
// all-zero 4 KiB block left as a hole; hashes and counts them on the way.
class SparseWriter {
 public:
  explicit SparseWriter(const fs::path& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw HarnessError(path.string() + ": cannot create: " + std::strerror(errno));
  }
  SparseWriter(const SparseWriter&) = delete;
  SparseWriter& operator=(const SparseWriter&) = delete;
  ~SparseWriter() {
    if (fd_ >= 0) ::close(fd_);
  }

  void Append(const char* data, size_t length) {
    sha_.Update(data, length);
    size_ += length;
    while (length > 0) {
      if (partial_.empty() && length >= kBlock) {
        Block(data, kBlock);
        data += kBlock;
        length -= kBlock;
        continue;
      }
      size_t take = std::min(length, kBlock - partial_.size());
      partial_.append(data, take);
      data += take;
      length -= take;
      if (partial_.size() == kBlock) {
        Block(partial_.data(), kBlock);
        partial_.clear();
      }
    }
  }

  // Flushes, sets the size, closes; returns the sha256 of all bytes.
  std::string Finish() {
    if (!partial_.empty()) Block(partial_.data(), partial_.size());
    Flush();
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
      throw HarnessError(path_.string() + ": cannot set size: " + std::strerror(errno));
    }
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
      throw HarnessError(path_.string() + ": cannot write: " + std::strerror(errno));
    }
    return sha_.FinishHex();
  }

  uint64_t size() const { return size_; }

 private:
  void Block(const char* data, size_t length) {
    if (IsZero(data, length)) {
      Flush();
      offset_ += length;
      run_offset_ = offset_;
      return;
    }
    run_.append(data, length);
    offset_ += length;
    if (run_.size() >= kMaxRun) Flush();
  }

  void Flush() {
    const char* data = run_.data();
    size_t length = run_.size();
    off_t at = static_cast<off_t>(run_offset_);
    while (length > 0) {
      ssize_t n = ::pwrite(fd_, data, length, at);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw HarnessError(path_.string() + ": cannot write: " + std::strerror(errno));
      }
      data += n;
      length -= static_cast<size_t>(n);
      at += n;
    }
    run_.clear();
    run_offset_ = offset_;
  }

  fs::path path_;
  int fd_ = -1;
  Sha256 sha_;
  uint64_t size_ = 0;
  uint64_t offset_ = 0;      // of the next whole block
  uint64_t run_offset_ = 0;  // where run_ starts
  std::string run_;
  std::string partial_;
};

void CopyStored(const fs::path& stored, SparseWriter& writer, ChildRunner& runner,
                std::vector<char>& buffer) {
  if (stored.extension() == ".xz") {
    static const fs::path xz = FindOnPath("xz");
    if (xz.empty()) throw HarnessError("xz not found on PATH (ci/setup installs xz-utils)");
    ChildRequest request{xz,
                         {"-dc", "--", fs::absolute(stored).string()},
                         MinimalEnvironment(),
                         std::chrono::seconds(300)};
    request.stdout_sink = [&writer](const char* data, size_t length) {
      writer.Append(data, length);
    };
    ChildResult result = runner.Run(request);
    if (result.exit_code != 0 || result.timed_out) {
      throw HarnessError(stored.string() + ": xz -dc failed (exit " +
                         std::to_string(result.exit_code) +
                         "): " + result.err.substr(0, result.err.find('\n')));
    }
    return;
  }
  int fd = ::open(stored.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw HarnessError(stored.string() + ": cannot open: " + std::strerror(errno));
  for (;;) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      throw HarnessError(stored.string() + ": cannot read: " + std::strerror(error));
    }
    if (n == 0) break;
    writer.Append(buffer.data(), static_cast<size_t>(n));
  }
  ::close(fd);
}

void MaterialiseOne(const ManifestFile& file, const fs::path& stored_dir,
                    const fs::path& destination, ChildRunner& runner, std::vector<char>& buffer) {
  const fs::path stored = stored_dir / file.stored;
  std::error_code ec;
  if (!fs::exists(stored, ec)) {
    throw HarnessError(stored.string() + ": missing (listed in manifest.json)");
  }
  const fs::path target = destination / file.name;
  SparseWriter writer(target);
  CopyStored(stored, writer, runner, buffer);
  uint64_t size = writer.size();
  std::string digest = writer.Finish();
  if (size != file.size) {
    throw HarnessError(stored.string() + ": " + std::to_string(size) +
                       " bytes, but the manifest says " + std::to_string(file.size));
  }
  if (digest != file.sha256) {
    throw HarnessError(stored.string() + ": sha256 " + digest + " differs from the manifest's " +
                       file.sha256);
  }
  if (::chmod(target.c_str(), 0444) != 0) {
    throw HarnessError(target.string() + ": cannot chmod: " + std::strerror(errno));
  }
}

}  // namespace

void WriteSparseFile(const fs::path& path, std::string_view data) {
  SparseWriter writer(path);
  writer.Append(data.data(), data.size());
  (void)writer.Finish();
}

void MaterialiseCorpus(const Manifest& manifest, const fs::path& stored_dir,
                       const fs::path& destination, unsigned jobs, Interrupt* interrupt) {
  std::vector<const ManifestFile*> files;
  for (const auto& image : manifest.images) {
    for (const auto& file : image.files) files.push_back(&file);
  }
  // Largest first, so the long decompressions start early and overlap.
  std::stable_sort(files.begin(), files.end(),
                   [](const ManifestFile* a, const ManifestFile* b) { return a->size > b->size; });
  std::atomic<size_t> next{0};
  std::mutex error_mutex;
  std::string first_error;
  auto work = [&] {
    ChildRunner runner(interrupt);
    std::vector<char> buffer(size_t{1} << 20);  // one per thread, not per file
    for (size_t i; (i = next.fetch_add(1)) < files.size();) {
      if (interrupt != nullptr && interrupt->stopping()) return;
      try {
        MaterialiseOne(*files[i], stored_dir, destination, runner, buffer);
      } catch (const HarnessError& error) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (first_error.empty()) first_error = error.what();
        next.store(files.size());
      }
    }
  };
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < std::max(1u, jobs); ++i) threads.emplace_back(work);
  work();
  for (auto& thread : threads) thread.join();
  if (!first_error.empty()) throw HarnessError(first_error);
}

}  // namespace instar::harness
