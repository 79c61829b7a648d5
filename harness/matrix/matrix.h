// The qemu-img matrix: which versions there are and where their binaries are.
//
// Where it comes from, first match wins: --binaries DIR; $INSTAR_QEMU_MATRIX;
// ./qemu-img-binaries/x86_64 when it exists; else the qemu-img on PATH as a
// matrix of one. A matrix directory holds one subdirectory per version, named
// as the version ("7.2.22"), with an executable qemu-img (and usually qemu-io).
// The version is what `qemu-img --version` prints on its first line; a
// directory whose name disagrees with its binary is an error, not a guess.
// Entries are sorted by version (numerically: 5.2.0 < 7.2.22 < 10.0.2).
#ifndef INSTAR_HARNESS_MATRIX_MATRIX_H_
#define INSTAR_HARNESS_MATRIX_MATRIX_H_

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/run/child.h"
#include "instar/engine/version.h"

namespace instar::harness {

struct MatrixEntry {
  QemuVersion version;
  std::string version_text;  // "7.2.22"
  std::filesystem::path qemu_img;
  std::filesystem::path qemu_io;  // empty when there is none
  std::string qemu_img_banner;    // first line of `qemu-img --version`
  std::string qemu_io_banner;     // first line of `qemu-io --version`, when asked for
};

struct Matrix {
  std::string source;  // where it came from, for messages
  std::vector<MatrixEntry> entries;
};

// "X.Y.Z" <-> QemuVersion, through the engine's parser.
std::optional<QemuVersion> ParseVersionText(std::string_view text);
std::string VersionText(const QemuVersion& version);
// Sorts version strings numerically; strings that are not versions sort
// last, by text.
void SortVersionTexts(std::vector<std::string>& versions);

struct MatrixOptions {
  std::optional<std::filesystem::path> binaries;  // --binaries
  bool with_qemu_io_banners = false;              // `matrix` lists them
};

Matrix DiscoverMatrix(const MatrixOptions& options, ChildRunner& runner);
Matrix MatrixOfDirectory(const std::filesystem::path& directory, bool with_qemu_io_banners,
                         ChildRunner& runner);
Matrix MatrixOfBinary(const std::filesystem::path& qemu_img, bool with_qemu_io_banners,
                      ChildRunner& runner);

// The entries whose version is in `wanted` (all when empty); an unknown
// version is an error that lists the ones there are.
Matrix SelectVersions(const Matrix& matrix, const std::vector<std::string>& wanted);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_MATRIX_MATRIX_H_
