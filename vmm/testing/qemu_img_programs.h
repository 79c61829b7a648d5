// The qemu-img programs a CLI test compares instar with, and how it puts
// their output and instar's side by side: the system's qemu-img and each
// version of the matrix (qemu-img-binaries/x86_64/<version>/qemu-img), one
// per version, and the program's own name and the test's directory
// replaced by placeholders.
#ifndef INSTAR_VMM_TESTING_QEMU_IMG_PROGRAMS_H_
#define INSTAR_VMM_TESTING_QEMU_IMG_PROGRAMS_H_

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "vmm/testing/subprocess.h"

namespace instar::vmm::testing {

struct QemuImg {
  std::string version;  // "7.2.22"
  std::string path;
};

// "qemu-img version 7.2.22 (Debian ...)" -> "7.2.22"; "" when `path` is no
// qemu-img.
inline std::string QemuImgVersionOf(const std::string& path) {
  const ProgramResult r = RunProgram({path, "--version"});
  const std::string head = "qemu-img version ";
  if (r.exit_code != 0 || r.out.rfind(head, 0) != 0) return "";
  const size_t end = r.out.find_first_of(" \n", head.size());
  return r.out.substr(head.size(), end - head.size());
}

// The system's qemu-img and the matrix's, one per version, in version
// order (the matrix's binary where both have a version).
inline std::vector<QemuImg> QemuImgs() {
  namespace fs = std::filesystem;
  std::map<std::string, std::string> by_version;
  const fs::path matrix = fs::path(INSTAR_SOURCE_ROOT) / "qemu-img-binaries" / "x86_64";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(matrix, ec)) {
    const fs::path program = entry.path() / "qemu-img";
    if (::access(program.c_str(), X_OK) != 0) continue;
    if (const std::string v = QemuImgVersionOf(program.string()); !v.empty()) {
      by_version[v] = program;
    }
  }
  for (const char* system : {"/usr/bin/qemu-img", "/usr/local/bin/qemu-img"}) {
    if (::access(system, X_OK) != 0) continue;
    if (const std::string v = QemuImgVersionOf(system); !v.empty()) {
      by_version.emplace(v, system);
    }
  }
  std::vector<QemuImg> out;
  for (const auto& [version, path] : by_version) out.push_back({version, path});
  return out;
}

inline std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// `program`'s path and base name (at the start of a line) become PROG,
// `dir` becomes $DIR.
inline std::string Normalise(std::string text, const std::string& program, const std::string& dir) {
  text = ReplaceAll(text, dir, "$DIR");
  text = ReplaceAll(text, program, "PROG");
  const std::string base = program.substr(program.rfind('/') + 1);
  text = ReplaceAll("\n" + text, "\n" + base + ":", "\nPROG:").substr(1);
  // Before 10.0 the "Try ..." hint names the program by its base name.
  text = ReplaceAll(text, "'" + base + " ", "'PROG ");
  return text;
}

// The whole file, in one read (a character at a time, a 256 MiB image took
// seconds in a test built at -Og); empty when it cannot be read.
inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::error_code error;
  const uintmax_t size = std::filesystem::file_size(path, error);
  if (!in || error) return {};
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

// What a run of a producing command in a fresh directory of its own left:
// its exit status and output (Normalise()d), the output file $DIR/out.img
// and the directory's entries.
struct MadeInDirectory {
  int exit_code = 0;
  std::string out;
  std::string err;
  bool exists = false;
  std::string bytes;
  std::vector<std::string> names;  // sorted
};

// Runs `prefix` + `args` ($DIR replaced by `dir`) in `dir`, made afresh
// with `write_input`(dir / "in.raw") in it first.
inline MadeInDirectory RunInDirectory(const std::vector<std::string>& prefix,
                                      const std::vector<std::string>& args,
                                      const std::filesystem::path& dir,
                                      void (*write_input)(const std::filesystem::path&)) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  write_input(dir / "in.raw");
  std::vector<std::string> argv = prefix;
  for (const std::string& arg : args) argv.push_back(ReplaceAll(arg, "$DIR", dir.string()));
  const ProgramResult r = RunProgram(argv);
  MadeInDirectory made;
  made.exit_code = r.exit_code;
  made.out = Normalise(r.out, prefix[0], dir.string());
  made.err = Normalise(r.err, prefix[0], dir.string());
  const std::filesystem::path file = dir / "out.img";
  made.exists = std::filesystem::exists(file);
  if (made.exists) made.bytes = ReadFile(file);
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    made.names.push_back(entry.path().filename().string());
  }
  std::sort(made.names.begin(), made.names.end());
  return made;
}

}  // namespace instar::vmm::testing

#endif  // INSTAR_VMM_TESTING_QEMU_IMG_PROGRAMS_H_
