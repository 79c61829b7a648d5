// Real qemu issuing the write sequences of testing/write_sequence.h, for
// the guest-data writers' tests: `qemu-img dd` (every qemu-img of
// testing/qemu_img.h) and `qemu-io -c 'write -P ...'` (the system
// qemu-io; the matrix has none).
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

// The system qemu-io, one open of `path`, a `write -P` per entry of
// `writes` (which must have no source).
inline int QemuIoWrites(const std::string& format, const std::string& path,
                        const std::vector<GuestWrite>& writes, std::string* text) {
  std::vector<std::string> argv = {"qemu-io", "-f", format};
  for (const GuestWrite& w : writes) {
    argv.push_back("-c");
    argv.push_back("write -P " + std::to_string(w.pattern) + " " + std::to_string(w.offset) + " " +
                   std::to_string(w.length));
  }
  argv.push_back(path);
  return RunProgram(argv, text);
}

}  // namespace instar::testing

#endif  // INSTAR_ENGINE_TESTING_QEMU_WRITES_H_
