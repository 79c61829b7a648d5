#include "harness/core/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "harness/core/error.h"
#include "host/fd.h"

namespace instar::harness {

namespace {

std::string ErrnoText(int error) { return std::strerror(error); }

using host::Fd;

}  // namespace

std::string ReadFile(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw HarnessError(path.string() + ": cannot open: " + ErrnoText(errno));
  std::string data;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw HarnessError(path.string() + ": cannot read: " + ErrnoText(errno));
    }
    if (n == 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  return data;
}

void WriteFileAtomic(const std::filesystem::path& path, std::string_view data) {
  std::string temporary = path.string();
  temporary += kTemporarySuffix;
  Fd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) throw HarnessError(temporary + ": cannot create: " + ErrnoText(errno));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int error = errno;
      ::unlink(temporary.c_str());
      throw HarnessError(temporary + ": cannot write: " + ErrnoText(error));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd.Release()) != 0) {
    int error = errno;
    ::unlink(temporary.c_str());
    throw HarnessError(temporary + ": cannot write: " + ErrnoText(error));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    int error = errno;
    ::unlink(temporary.c_str());
    throw HarnessError(path.string() + ": cannot rename into place: " + ErrnoText(error));
  }
}

}  // namespace instar::harness
