// A file of test bytes for the sandbox tests' device tables (test code
// only).
#ifndef INSTAR_VMM_SANDBOX_TEST_FILE_H_
#define INSTAR_VMM_SANDBOX_TEST_FILE_H_

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <sys/types.h>
#include <unistd.h>

namespace instar::vmm {

// Writes `bytes` to a new file /tmp/<prefix>-XXXXXX and returns its name, or
// "" when that fails. The caller removes the file.
inline std::string WriteTestFile(const std::string& prefix, const std::vector<uint8_t>& bytes) {
  std::string path = "/tmp/" + prefix + "-XXXXXX";
  const int fd = ::mkstemp(path.data());
  if (fd < 0) return "";
  const bool written =
      ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    return "";
  }
  return path;
}

}  // namespace instar::vmm

#endif  // INSTAR_VMM_SANDBOX_TEST_FILE_H_
