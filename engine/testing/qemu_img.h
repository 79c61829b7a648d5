// Running real qemu-img binaries from engine tests: the writers' tests
// (engine/{vpc,vhdx,vmdk}/*_create_test.cc) create an image with qemu-img
// and with the engine's create hook and compare the two files.
//
// QemuImgBinaries() lists the system `qemu-img` (the machine's setup
// installs it; a missing one is a failure, not a skip) and, when the
// matrix is present under the source tree
// (qemu-img-binaries/x86_64/<version>/qemu-img), its 5.2.0, 10.0.13 and
// 11.1.3: the oldest, and the newest of each later series.
#ifndef INSTAR_ENGINE_TESTING_QEMU_IMG_H_
#define INSTAR_ENGINE_TESTING_QEMU_IMG_H_

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "instar/engine/version.h"

#ifndef INSTAR_SOURCE_ROOT
#error "qemu_img.h needs INSTAR_SOURCE_ROOT (set for engine_tests)"
#endif

namespace instar::testing {

struct QemuImgBinary {
  std::string path;
  QemuVersion version;
  std::string version_text;  // "7.2.22"
};

// The qemu-io beside `qemu` (the same release: the matrix has one in each
// version's folder, the system one in /usr/bin).
inline std::string QemuIoFor(const QemuImgBinary& qemu) {
  std::string path = qemu.path;
  const size_t at = path.rfind("qemu-img");
  return path.replace(at, 8, "qemu-io");
}

// Runs `argv` (no shell), stdin on /dev/null, stderr joined to stdout;
// returns the exit status (-1 when it could not run or died by a signal).
inline int RunProgram(const std::vector<std::string>& argv, std::string* output) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::close(pipe_fds[0]);
    FILE* null_in = std::freopen("/dev/null", "r", stdin);
    (void)null_in;
    ::dup2(pipe_fds[1], 1);
    ::dup2(pipe_fds[1], 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  std::string out;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buffer, sizeof(buffer))) > 0) out.append(buffer, n);
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (output != nullptr) *output = std::move(out);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The version qemu-img prints first ("qemu-img version 7.2.22 (Debian
// ...)"), or empty.
inline std::string QemuImgVersionText(const std::string& path) {
  std::string out;
  if (RunProgram({path, "--version"}, &out) != 0) return "";
  const std::string prefix = "qemu-img version ";
  const size_t at = out.find(prefix);
  if (at == std::string::npos) return "";
  const size_t start = at + prefix.size();
  size_t end = start;
  while (end < out.size() && (out[end] == '.' || (out[end] >= '0' && out[end] <= '9'))) ++end;
  return out.substr(start, end - start);
}

inline std::vector<QemuImgBinary> QemuImgBinaries() {
  std::vector<QemuImgBinary> out;
  auto add = [&](const std::string& path) {
    const std::string text = QemuImgVersionText(path);
    if (text.empty()) return;
    auto version = ParseQemuVersion(text.data(), text.size());
    if (!version.ok()) return;
    for (const QemuImgBinary& b : out) {
      if (b.version_text == text) return;
    }
    out.push_back({path, *version, text});
  };
  add("qemu-img");
  const std::string matrix = std::string(INSTAR_SOURCE_ROOT) + "/qemu-img-binaries/x86_64/";
  for (const char* v : {"5.2.0", "10.0.13", "11.1.3"}) {
    const std::string path = matrix + v + "/qemu-img";
    if (::access(path.c_str(), X_OK) == 0) add(path);
  }
  return out;
}

// A fresh directory under $TMPDIR (or /tmp), removed with its files by the
// destructor.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/instar-create-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) != nullptr) path_ = buffer.data();
  }
  ~ScratchDir() {
    if (!path_.empty()) RunProgram({"rm", "-rf", path_}, nullptr);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The first `limit` bytes of the file at `path` (all of it by default);
// empty when it cannot be read.
inline std::vector<uint8_t> ReadWholeFile(const std::string& path, uint64_t limit = UINT64_MAX) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return {};
  const uint64_t size = static_cast<uint64_t>(st.st_size) < limit ? st.st_size : limit;
  std::vector<uint8_t> bytes(size);
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return {};
  const size_t n = std::fread(bytes.data(), 1, bytes.size(), file);
  std::fclose(file);
  if (n != bytes.size()) return {};
  return bytes;
}

inline uint64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// Writes `bytes` to `path` the way a sparse writer leaves it: 4 KiB blocks
// of zeros become holes, so that qemu-img info's actual-size is what a
// real create leaves. Returns false on an I/O error.
inline bool WriteSparseFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return false;
  bool ok = true;
  constexpr size_t kBlock = 4096;
  for (size_t offset = 0; offset < bytes.size() && ok; offset += kBlock) {
    const size_t n = bytes.size() - offset < kBlock ? bytes.size() - offset : kBlock;
    bool zero = true;
    for (size_t i = 0; i < n && zero; ++i) zero = bytes[offset + i] == 0;
    if (zero) continue;
    ok = std::fseek(file, static_cast<long>(offset), SEEK_SET) == 0 &&
         std::fwrite(bytes.data() + offset, 1, n, file) == n;
  }
  ok = std::fflush(file) == 0 && ok;
  ok = ::ftruncate(::fileno(file), static_cast<off_t>(bytes.size())) == 0 && ok;
  return std::fclose(file) == 0 && ok;
}

// `qemu-img create -f FORMAT [-o OPTIONS] PATH SIZE`; the exit status, the
// output in `*output`.
inline int QemuImgCreate(const QemuImgBinary& qemu, const std::string& format,
                         const std::string& options, const std::string& path,
                         const std::string& size, std::string* output) {
  std::vector<std::string> argv = {qemu.path, "create", "-q", "-f", format};
  if (!options.empty()) {
    argv.push_back("-o");
    argv.push_back(options);
  }
  argv.push_back(path);
  argv.push_back(size);
  return RunProgram(argv, output);
}

// The "virtual-size" of `qemu-img info --output=json -f FORMAT PATH`, or
// -1 when qemu-img fails.
inline int64_t QemuImgVirtualSize(const QemuImgBinary& qemu, const std::string& format,
                                  const std::string& path) {
  std::string out;
  if (RunProgram({qemu.path, "info", "--output=json", "-f", format, path}, &out) != 0) return -1;
  // The image's own entry is the last "virtual-size" (10.0 lists the
  // protocol layer's first, under "children").
  const std::string key = "\"virtual-size\": ";
  const size_t at = out.rfind(key);
  if (at == std::string::npos) return -1;
  return std::strtoll(out.c_str() + at + key.size(), nullptr, 10);
}

// qemu-img info --output=json text with `path` replaced by $FILENAME and
// every actual-size by 0 (it depends on the file system), as a stored
// baseline (whose path is already $FILENAME) and a fresh run are compared.
inline std::string NormaliseInfoJson(std::string text, const std::string& path) {
  for (size_t at; !path.empty() && (at = text.find(path)) != std::string::npos;) {
    text.replace(at, path.size(), "$FILENAME");
  }
  const std::string key = "\"actual-size\": ";
  for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) {
    size_t end = at + key.size();
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    text.replace(at + key.size(), end - (at + key.size()), "0");
  }
  return text;
}

// `qemu-img info --output=json PATH` (the format probed, as the
// create-info-json baselines run it), normalised; empty when qemu-img
// fails.
inline std::string QemuImgInfoJson(const QemuImgBinary& qemu, const std::string& path) {
  std::string out;
  if (RunProgram({qemu.path, "info", "--output=json", path}, &out) != 0) return "";
  return NormaliseInfoJson(out, path);
}

inline std::string ReadTextFile(const std::string& path) {
  const std::vector<uint8_t> bytes = ReadWholeFile(path);
  return std::string(bytes.begin(), bytes.end());
}

// `qemu-img check -f FORMAT PATH`'s exit status (0: no errors nor leaks).
inline int QemuImgCheck(const QemuImgBinary& qemu, const std::string& format,
                        const std::string& path, std::string* output) {
  return RunProgram({qemu.path, "check", "-f", format, path}, output);
}

// Whether baselines/create-info-json/BUCKET/VERSION exists: the matrix's
// versions have one; a system qemu-img of another version has none.
inline bool HasCreateBaselines(const std::string& bucket, const std::string& version) {
  const std::string dir =
      std::string(INSTAR_SOURCE_ROOT) + "/baselines/create-info-json/" + bucket + "/" + version;
  struct stat st;
  return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The create-info-json baseline of `case_name` for `bucket` and
// `version`, normalised as QemuImgInfoJson() normalises qemu-img's output;
// "" (with a note on stderr) when the version has no baselines here. A
// case without a name has none either; a missing file of a version that
// has baselines is a text no info equals.
inline std::string CreateBaselineInfo(const std::string& bucket, const std::string& version,
                                      const char* case_name) {
  if (case_name[0] == '\0') return "";
  if (!HasCreateBaselines(bucket, version)) {
    std::fprintf(stderr, "note: no create-info-json baselines for qemu-img %s\n", version.c_str());
    return "";
  }
  const std::string baseline = std::string(INSTAR_SOURCE_ROOT) + "/baselines/create-info-json/" +
                               bucket + "/" + version + "/" + case_name + ".stdout.txt";
  const std::string text = NormaliseInfoJson(ReadTextFile(baseline), "");
  // A version with baselines must have this case's: what is compared with
  // it then says which file is missing.
  return text.empty() ? "(no baseline " + baseline + ")" : text;
}

// What qemu-img printed for a refused create, with the "PATH: " it puts
// after "qemu-img: " taken out: the driver's words, as FormatMeasureError()
// writes them.
inline std::string WithoutPath(std::string output, const std::string& path) {
  const std::string prefix = path + ": ";
  for (size_t at; (at = output.find(prefix)) != std::string::npos;) output.erase(at, prefix.size());
  return output;
}

// A byte range the comparison skips: qemu fills it from its clock or its
// random generator (or it is a checksum over such bytes).
struct MaskedRange {
  uint64_t offset;
  uint64_t length;
};

// Empty when `a` and `b` are equal outside `masked`; otherwise where and
// how they first differ.
inline std::string FirstDifference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b,
                                   const std::vector<MaskedRange>& masked) {
  auto is_masked = [&](uint64_t offset) {
    for (const MaskedRange& m : masked) {
      if (offset >= m.offset && offset - m.offset < m.length) return true;
    }
    return false;
  };
  const size_t common = a.size() < b.size() ? a.size() : b.size();
  for (size_t i = 0; i < common; ++i) {
    if (a[i] != b[i] && !is_masked(i)) {
      char text[128];
      std::snprintf(text, sizeof(text), "first difference at offset %zu (0x%zx): 0x%02x vs 0x%02x",
                    i, i, a[i], b[i]);
      return text;
    }
  }
  if (a.size() != b.size()) {
    return "lengths differ: " + std::to_string(a.size()) + " vs " + std::to_string(b.size());
  }
  return "";
}

}  // namespace instar::testing

#endif  // INSTAR_ENGINE_TESTING_QEMU_IMG_H_
