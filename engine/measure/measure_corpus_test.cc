// Source-image mode over the image corpus, against the real qemu-img.
//
// The corpus (cases/images) is materialised in a temporary directory the
// way the harness does it (sparse copies, .xz images decompressed), each
// image is opened with the engine's readers, and `qemu-img measure ARGS
// IMAGE` of every matrix version found under qemu-img-binaries/x86_64 (the
// system qemu-img when there is no matrix) is compared byte for byte with
// what the engine computes for the same version.
//
// Images are opened with their backing chain, as `qemu-img measure` opens
// them: the overlay's unallocated clusters count its backing file's data.
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "instar/engine/measure.h"
#include "measure/measure_test_support.h"

namespace instar {
namespace {

using measure_test::MeasureImageLikeQemuImg;
using measure_test::RunCommand;
using measure_test::TempDir;
using measure_test::Version;

// A host file as qemu's file-posix sees it: pread, st_size, lseek holes.
class FileDevice final : public BlockDevice {
 public:
  explicit FileDevice(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY)) {}
  ~FileDevice() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDevice(const FileDevice&) = delete;
  FileDevice& operator=(const FileDevice&) = delete;

  bool ok() const { return fd_ >= 0; }
  Status Read(uint64_t offset, void* buffer, size_t length) override {
    std::memset(buffer, 0, length);
    size_t done = 0;
    while (done < length) {
      const ssize_t n = ::pread(fd_, static_cast<char*>(buffer) + done, length - done,
                                static_cast<off_t>(offset + done));
      if (n < 0) return Status::IOError("pread failed");
      if (n == 0) break;  // past the end: zeros
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }
  uint64_t Size() const override {
    struct stat st;
    return ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  }
  Result<uint64_t> SeekData(uint64_t offset) override {
    const off_t r = ::lseek(fd_, static_cast<off_t>(offset), SEEK_DATA);
    if (r < 0) return errno == ENXIO ? kNoData : Result<uint64_t>(Status::IOError("SEEK_DATA"));
    return static_cast<uint64_t>(r);
  }
  Result<uint64_t> SeekHole(uint64_t offset) override {
    const off_t r = ::lseek(fd_, static_cast<off_t>(offset), SEEK_HOLE);
    if (r < 0) return Status::IOError("SEEK_HOLE");
    return static_cast<uint64_t>(r);
  }

 private:
  int fd_;
};

class DirectoryOpener final : public DeviceOpener {
 public:
  explicit DirectoryOpener(std::string dir) : dir_(std::move(dir)) {}
  Result<BlockDevice*> Open(const char* name, size_t length) override {
    std::string path(name, length);
    if (path.empty() || path[0] != '/') path = dir_ + "/" + path;
    auto device = std::make_unique<FileDevice>(path);
    if (!device->ok()) return Status::IOError("no such file");
    devices_.push_back(std::move(device));
    return static_cast<BlockDevice*>(devices_.back().get());
  }

 private:
  std::string dir_;
  std::vector<std::unique_ptr<FileDevice>> devices_;
};

// One opened corpus image.
struct OpenedImage {
  std::unique_ptr<FileDevice> device;
  std::unique_ptr<DirectoryOpener> opener;
  std::vector<uint8_t> arena_buffer;
  std::unique_ptr<Arena> arena;
  Image* image = nullptr;
  Status status;
};

std::unique_ptr<OpenedImage> OpenCorpusImage(const std::string& dir, const std::string& name,
                                             const QemuVersion& version) {
  auto opened = std::make_unique<OpenedImage>();
  opened->device = std::make_unique<FileDevice>(dir + "/" + name);
  opened->opener = std::make_unique<DirectoryOpener>(dir);
  opened->arena_buffer.resize(1 << 20);
  opened->arena = std::make_unique<Arena>(opened->arena_buffer.data(), opened->arena_buffer.size());
  Result<ImageFormat> format = ProbeFormat(*opened->device, name.data(), name.size());
  if (!format.ok()) {
    opened->status = format.status();
    return opened;
  }
  OpenOptions options;
  options.compat = version;
  Result<Image*> image =
      OpenImage(*format, *opened->device, *opened->opener, *opened->arena, options);
  if (!image.ok()) {
    opened->status = image.status();
    return opened;
  }
  if (Status s = OpenBackingChain(**image, *opened->opener, *opened->arena, options); !s.ok()) {
    opened->status = s;
    return opened;
  }
  opened->image = *image;
  return opened;
}

// The first file of every image in the manifest (the one qemu-img opens),
// and every stored file.
struct Corpus {
  std::vector<std::string> images;
  std::vector<std::pair<std::string, std::string>> files;  // name, stored
};

Corpus ReadManifest() {
  Corpus corpus;
  const std::string root = std::string(INSTAR_SOURCE_ROOT) + "/cases/images/";
  int status;
  const std::string text = RunCommand("cat '" + root + "manifest.json'", &status);
  size_t pos = 0;
  while ((pos = text.find("\"files\": [", pos)) != std::string::npos) {
    const size_t end = text.find(']', pos);
    bool first = true;
    size_t at = pos;
    while ((at = text.find("\"name\": \"", at)) != std::string::npos && at < end) {
      at += 9;
      const std::string name = text.substr(at, text.find('"', at) - at);
      const size_t stored_at = text.find("\"stored\": \"", at) + 11;
      const std::string stored = text.substr(stored_at, text.find('"', stored_at) - stored_at);
      corpus.files.emplace_back(name, stored);
      if (first) corpus.images.push_back(name);
      first = false;
    }
    pos = end;
  }
  return corpus;
}

struct Binary {
  std::string version_text;
  std::string path;
};

std::vector<Binary> MatrixBinaries() {
  std::vector<Binary> out;
  const std::string root = std::string(INSTAR_SOURCE_ROOT) + "/qemu-img-binaries/x86_64";
  if (DIR* dir = ::opendir(root.c_str())) {
    while (dirent* entry = ::readdir(dir)) {
      const std::string path = root + "/" + entry->d_name + "/qemu-img";
      if (entry->d_name[0] != '.' && ::access(path.c_str(), X_OK) == 0) {
        int status;
        const std::string banner = RunCommand("'" + path + "' --version", &status);
        auto v = ParseVersionBanner(banner.data(), banner.size());
        if (v.ok()) {
          char text[18];
          FormatQemuVersion(*v, text);
          out.push_back({text, path});
        }
      }
    }
    ::closedir(dir);
  }
  if (out.empty()) {
    int status;
    const std::string banner = RunCommand("qemu-img --version", &status);
    auto v = ParseVersionBanner(banner.data(), banner.size());
    char text[18];
    FormatQemuVersion(v.ok() ? *v : QemuVersion{}, text);
    out.push_back({text, "qemu-img"});
  }
  return out;
}

// qemu-img takes some 60 ms a run here, serially, whatever the load; so
// the readers' version differences are checked with the plain qcow2 target
// on every version, and the other targets on the oldest and the newest
// (raw) or the newest only (qcow2 option variants: the same qcow2_measure
// in every version).
enum class Versions { kEvery, kOldestAndNewest, kNewest };

struct TargetCase {
  std::vector<std::string> args;
  Versions versions;
};

const std::vector<TargetCase>& TargetCases() {
  static const std::vector<TargetCase> cases = {
      {{"-O", "qcow2"}, Versions::kEvery},
      {{"-O", "raw"}, Versions::kOldestAndNewest},
      {{"-O", "qcow2", "-o", "cluster_size=512"}, Versions::kNewest},
      {{"-O", "qcow2", "-o", "cluster_size=4k,refcount_bits=1"}, Versions::kNewest},
      {{"-O", "qcow2", "-o", "compat=0.10"}, Versions::kNewest},
      {{"-O", "qcow2", "-o", "cluster_size=2M,extended_l2=on"}, Versions::kNewest},
      {{"-O", "qcow2", "-o", "preallocation=full"}, Versions::kNewest},
  };
  return cases;
}

TEST(MeasureCorpusTest, EveryImageEveryTargetEveryVersion) {
  const Corpus corpus = ReadManifest();
  ASSERT_GE(corpus.images.size(), 20u);
  TempDir dir;
  const std::string root = std::string(INSTAR_SOURCE_ROOT) + "/cases/images/";
  for (const auto& [name, stored] : corpus.files) {
    int status;
    const std::string target = dir.path() + "/" + name;
    const std::string command =
        stored.size() > 3 && stored.compare(stored.size() - 3, 3, ".xz") == 0
            ? "xz -dc '" + root + stored + "' > '" + target + "'"
            : "cp --sparse=always '" + root + stored + "' '" + target + "'";
    RunCommand(command, &status);
    ASSERT_EQ(status, 0) << command;
  }
  // Every qemu-img run first, concurrently and before the engine holds any
  // memory (each run forks this process); then the engine, in order.
  struct Check {
    QemuVersion version;
    size_t image;
    const std::vector<std::string>* args;
    std::string command;
  };
  std::vector<Check> checks;
  const std::vector<Binary> binaries = MatrixBinaries();
  QemuVersion oldest = Version(binaries.front().version_text), newest = oldest;
  for (const Binary& binary : binaries) {
    const QemuVersion v = Version(binary.version_text);
    if (v < oldest) oldest = v;
    if (newest < v) newest = v;
  }
  for (const Binary& binary : binaries) {
    const QemuVersion version = Version(binary.version_text);
    auto wanted = [&](Versions which) {
      return which == Versions::kEvery || version == newest ||
             (which == Versions::kOldestAndNewest && version == oldest);
    };
    for (size_t i = 0; i < corpus.images.size(); ++i) {
      const std::string& name = corpus.images[i];
      const std::string qemu_source = "'" + name + "'";
      for (const TargetCase& target : TargetCases()) {
        if (!wanted(target.versions)) continue;
        std::string command = "cd '" + dir.path() + "' && '" + binary.path + "' measure";
        for (const std::string& a : target.args) command += " '" + a + "'";
        checks.push_back({version, i, &target.args, command + " " + qemu_source + " 2>&1"});
      }
    }
  }
  std::vector<std::string> commands;
  for (const Check& check : checks) commands.push_back(check.command);
  const auto results = measure_test::RunCommandsParallel(commands);
  int compared = 0;
  for (size_t i = 0; i < checks.size(); ++i) {
    const Check& check = checks[i];
    const std::string& expected = results[i].first;
    const int status = results[i].second;
    std::unique_ptr<OpenedImage> image =
        OpenCorpusImage(dir.path(), corpus.images[check.image], check.version);
    if (image->image == nullptr) {
      // qemu could not open it either (5.2 has no zstd).
      EXPECT_NE(status, 0) << check.command << " / engine: " << image->status.message();
      continue;
    }
    MeasureSource source;
    ASSERT_TRUE(DescribeMeasureSource(*image->image, &source).ok()) << check.command;
    measure_test::CliOutcome outcome = MeasureImageLikeQemuImg(check.version, *check.args, &source);
    EXPECT_EQ(outcome.output, expected) << check.command;
    EXPECT_EQ(outcome.exit_code, status) << check.command;
    ++compared;
  }
  EXPECT_GT(compared, 100);
}

}  // namespace
}  // namespace instar
