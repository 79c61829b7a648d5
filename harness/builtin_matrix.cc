// instar-harness matrix: lists the versions of the matrix, ascending, with
// what each version's qemu-img and qemu-io print for --version.

#include <cstdio>

#include "harness/builtins.h"
#include "harness/matrix/matrix.h"

namespace instar::harness {

namespace po = boost::program_options;

int RunMatrix(int argc, char** argv) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "binaries", po::value<std::string>(),
      "matrix directory (default: $INSTAR_QEMU_MATRIX, else qemu-img-binaries/x86_64, else the "
      "qemu-img on PATH)");
  po::variables_map values;
  if (!ParseOptions("matrix", "instar-harness matrix [--binaries DIR]", argc, argv, options,
                    values)) {
    return 0;
  }
  MatrixOptions matrix_options;
  if (values.count("binaries") > 0) matrix_options.binaries = values["binaries"].as<std::string>();
  matrix_options.with_qemu_io_banners = true;
  ChildRunner runner;
  Matrix matrix = DiscoverMatrix(matrix_options, runner);

  size_t version_width = 7, img_width = 18;
  for (const auto& entry : matrix.entries) {
    version_width = std::max(version_width, entry.version_text.size());
    img_width = std::max(img_width, entry.qemu_img_banner.size());
  }
  std::printf("matrix: %s, %zu version%s\n", matrix.source.c_str(), matrix.entries.size(),
              matrix.entries.size() == 1 ? "" : "s");
  std::printf("%-*s  %-*s  %s\n", static_cast<int>(version_width), "version",
              static_cast<int>(img_width), "qemu-img --version", "qemu-io --version");
  for (const auto& entry : matrix.entries) {
    std::printf("%-*s  %-*s  %s\n", static_cast<int>(version_width), entry.version_text.c_str(),
                static_cast<int>(img_width), entry.qemu_img_banner.c_str(),
                entry.qemu_io.empty() ? "(no qemu-io)" : entry.qemu_io_banner.c_str());
  }
  return 0;
}

}  // namespace instar::harness
