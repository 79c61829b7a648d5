// Real qemu issuing the write sequences of testing/write_sequence.h, for
// the guest-data writers' tests: `qemu-img dd` and `qemu-img convert`
// (every qemu-img of testing/qemu_img.h, or of the whole matrix) and
// `qemu-io -c 'write [-c] -P ...'` (the system qemu-io; the matrix has
// none); `qemu-img compare` to hold a result against its input.
#ifndef INSTAR_ENGINE_TESTING_QEMU_WRITES_H_
#define INSTAR_ENGINE_TESTING_QEMU_WRITES_H_

#include <string>
#include <vector>

#include "testing/qemu_img.h"
#include "testing/write_sequence.h"

namespace instar::testing {

// `qemu-img dd -f raw -O FORMAT OPERANDS if=INPUT of=OUTPUT`.
inline int QemuImgDd(const QemuImgBinary& qemu, const std::string& format, const DdOperands& dd,
                     const std::string& input, const std::string& output, std::string* text) {
  std::vector<std::string> argv = {qemu.path, "dd", "-f", "raw", "-O", format};
  for (const std::string& a : DdArguments(dd)) argv.push_back(a);
  argv.push_back("if=" + input);
  argv.push_back("of=" + output);
  return RunProgram(argv, text);
}

// `qemu-img convert -f raw -O FORMAT [-c] [-o OPTIONS] INPUT OUTPUT`.
inline int QemuImgConvert(const QemuImgBinary& qemu, const std::string& format, bool compress,
                          const std::string& options, const std::string& input,
                          const std::string& output, std::string* text) {
  std::vector<std::string> argv = {qemu.path, "convert", "-f", "raw", "-O", format};
  if (compress) argv.push_back("-c");
  if (!options.empty()) {
    argv.push_back("-o");
    argv.push_back(options);
  }
  argv.push_back(input);
  argv.push_back(output);
  return RunProgram(argv, text);
}

// `qemu-img compare -f FORMAT_A -F FORMAT_B A B`'s exit status (0: the
// images are identical).
inline int QemuImgCompare(const QemuImgBinary& qemu, const std::string& format_a,
                          const std::string& a, const std::string& format_b, const std::string& b,
                          std::string* text) {
  return RunProgram({qemu.path, "compare", "-f", format_a, "-F", format_b, a, b}, text);
}

// The system qemu-img and every version of the matrix present under the
// source tree (all seven, where QemuImgBinaries() takes three).
inline std::vector<QemuImgBinary> MatrixQemuImgBinaries() {
  std::vector<QemuImgBinary> out = QemuImgBinaries();
  const std::string matrix = std::string(INSTAR_SOURCE_ROOT) + "/qemu-img-binaries/x86_64/";
  for (const char* v : {"5.2.0", "7.2.18", "7.2.22", "10.0.2", "10.0.13", "11.1.2", "11.1.3"}) {
    const std::string path = matrix + v + "/qemu-img";
    bool known = false;
    for (const QemuImgBinary& b : out) known = known || b.version_text == v;
    if (known || ::access(path.c_str(), X_OK) != 0) continue;
    const std::string text = QemuImgVersionText(path);
    auto version = ParseQemuVersion(text.data(), text.size());
    if (text == v && version.ok()) out.push_back({path, *version, text});
  }
  return out;
}

// The system qemu-io, one open of `path`, a `write [-c] -P` per entry of
// `writes` (which must have no source).
inline int QemuIoWrites(const std::string& format, const std::string& path,
                        const std::vector<GuestWrite>& writes, std::string* text) {
  std::vector<std::string> argv = {"qemu-io", "-f", format};
  for (const GuestWrite& w : writes) {
    argv.push_back("-c");
    argv.push_back(std::string(w.compressed ? "write -c -P " : "write -P ") +
                   std::to_string(w.pattern) + " " + std::to_string(w.offset) + " " +
                   std::to_string(w.length));
  }
  argv.push_back(path);
  return RunProgram(argv, text);
}

}  // namespace instar::testing

#endif  // INSTAR_ENGINE_TESTING_QEMU_WRITES_H_
