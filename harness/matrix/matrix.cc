#include "harness/matrix/matrix.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "harness/core/error.h"

namespace instar::harness {

namespace fs = std::filesystem;

namespace {

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string Banner(const fs::path& binary, ChildRunner& runner) {
  ChildRequest request{binary, {"--version"}, MinimalEnvironment(), std::chrono::seconds(30)};
  ChildResult result = runner.Run(request);
  if (result.exit_code != 0 || result.timed_out) {
    throw HarnessError(binary.string() + " --version failed (exit " +
                       std::to_string(result.exit_code) + "): " + FirstLine(result.err));
  }
  return FirstLine(result.out);
}

MatrixEntry ProbeEntry(const fs::path& qemu_img, const fs::path& qemu_io, bool with_io,
                       ChildRunner& runner) {
  MatrixEntry entry;
  entry.qemu_img = qemu_img;
  entry.qemu_io = qemu_io;
  entry.qemu_img_banner = Banner(qemu_img, runner);
  auto parsed = ParseVersionBanner(entry.qemu_img_banner.data(), entry.qemu_img_banner.size());
  if (!parsed.ok()) {
    throw HarnessError(qemu_img.string() + ": no version in \"" + entry.qemu_img_banner + "\"");
  }
  entry.version = *parsed;
  entry.version_text = VersionText(entry.version);
  if (with_io && !qemu_io.empty()) entry.qemu_io_banner = Banner(qemu_io, runner);
  return entry;
}

bool IsExecutableFile(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::optional<QemuVersion> ParseVersionText(std::string_view text) {
  auto parsed = ParseQemuVersion(text.data(), text.size());
  if (!parsed.ok()) return std::nullopt;
  return *parsed;
}

std::string VersionText(const QemuVersion& version) {
  char buffer[24];
  size_t length = FormatQemuVersion(version, buffer);
  return std::string(buffer, length);
}

void SortVersionTexts(std::vector<std::string>& versions) {
  std::stable_sort(versions.begin(), versions.end(),
                   [](const std::string& a, const std::string& b) {
                     auto va = ParseVersionText(a), vb = ParseVersionText(b);
                     if (va && vb) return *va < *vb;
                     if (va.has_value() != vb.has_value()) return va.has_value();
                     return a < b;
                   });
}

Matrix MatrixOfDirectory(const fs::path& directory, bool with_qemu_io_banners,
                         ChildRunner& runner) {
  std::error_code ec;
  if (!fs::is_directory(directory, ec)) {
    throw HarnessError(directory.string() + ": not a directory of qemu-img versions");
  }
  Matrix matrix;
  matrix.source = directory.string();
  for (const auto& item : fs::directory_iterator(directory)) {
    const std::string name = item.path().filename().string();
    if (name.starts_with(".") || !item.is_directory()) continue;
    fs::path qemu_img = item.path() / "qemu-img";
    if (!IsExecutableFile(qemu_img)) continue;
    if (!ParseVersionText(name)) {
      throw HarnessError(item.path().string() + ": directory name is not a version (X.Y.Z)");
    }
    fs::path qemu_io = item.path() / "qemu-io";
    if (!IsExecutableFile(qemu_io)) qemu_io.clear();
    MatrixEntry entry =
        ProbeEntry(fs::absolute(qemu_img), qemu_io.empty() ? qemu_io : fs::absolute(qemu_io),
                   with_qemu_io_banners, runner);
    if (entry.version_text != name) {
      throw HarnessError(qemu_img.string() + " reports version " + entry.version_text +
                         ", but its directory says " + name);
    }
    matrix.entries.push_back(std::move(entry));
  }
  if (matrix.entries.empty()) {
    throw HarnessError(directory.string() + ": no <version>/qemu-img in it");
  }
  std::sort(matrix.entries.begin(), matrix.entries.end(),
            [](const MatrixEntry& a, const MatrixEntry& b) { return a.version < b.version; });
  return matrix;
}

Matrix MatrixOfBinary(const fs::path& qemu_img, bool with_qemu_io_banners, ChildRunner& runner) {
  Matrix matrix;
  matrix.source = "system qemu-img (" + qemu_img.string() + ")";
  fs::path qemu_io = qemu_img.parent_path() / "qemu-io";
  if (!IsExecutableFile(qemu_io)) qemu_io = FindOnPath("qemu-io");
  matrix.entries.push_back(ProbeEntry(qemu_img, qemu_io, with_qemu_io_banners, runner));
  return matrix;
}

Matrix DiscoverMatrix(const MatrixOptions& options, ChildRunner& runner) {
  if (options.binaries)
    return MatrixOfDirectory(*options.binaries, options.with_qemu_io_banners, runner);
  if (const char* env = std::getenv("INSTAR_QEMU_MATRIX"); env != nullptr && *env != '\0') {
    return MatrixOfDirectory(env, options.with_qemu_io_banners, runner);
  }
  std::error_code ec;
  const fs::path in_tree = "qemu-img-binaries/x86_64";
  if (fs::is_directory(in_tree, ec)) {
    return MatrixOfDirectory(in_tree, options.with_qemu_io_banners, runner);
  }
  fs::path system = FindOnPath("qemu-img");
  if (system.empty()) {
    throw HarnessError(
        "no qemu-img: no --binaries, no $INSTAR_QEMU_MATRIX, no qemu-img-binaries/x86_64 here "
        "and none on PATH (run ci/setup, or ci/fetch-qemu-matrix)");
  }
  return MatrixOfBinary(system, options.with_qemu_io_banners, runner);
}

Matrix SelectVersions(const Matrix& matrix, const std::vector<std::string>& wanted) {
  if (wanted.empty()) return matrix;
  Matrix selected;
  selected.source = matrix.source;
  for (const auto& version : wanted) {
    auto it = std::find_if(matrix.entries.begin(), matrix.entries.end(),
                           [&](const MatrixEntry& e) { return e.version_text == version; });
    if (it == matrix.entries.end()) {
      std::string have;
      for (const auto& e : matrix.entries) have += (have.empty() ? "" : ", ") + e.version_text;
      throw HarnessError("version " + version + " is not in the matrix " + matrix.source +
                         " (it has " + have + ")");
    }
    bool already = std::any_of(selected.entries.begin(), selected.entries.end(),
                               [&](const MatrixEntry& e) { return e.version_text == version; });
    if (!already) selected.entries.push_back(*it);
  }
  std::sort(selected.entries.begin(), selected.entries.end(),
            [](const MatrixEntry& a, const MatrixEntry& b) { return a.version < b.version; });
  return selected;
}

}  // namespace instar::harness
