#include "harness/run/content_digest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "harness/core/error.h"

namespace instar::harness {

namespace {

constexpr uint64_t kBlock = 4096;
constexpr uint64_t kChunk = 256 * kBlock;

struct StateDeleter {
  void operator()(XXH3_state_t* state) const { XXH3_freeState(state); }
};

[[noreturn]] void Fail(const std::filesystem::path& path, const char* what) {
  throw HarnessError(path.string() + ": " + what + ": " + std::strerror(errno));
}

void PutU64(XXH3_state_t* state, uint64_t value) {
  uint8_t bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
  XXH3_64bits_update(state, bytes, sizeof(bytes));
}

bool AllZero(const uint8_t* data, size_t length) {
  return length == 0 || (data[0] == 0 && std::memcmp(data, data + 1, length - 1) == 0);
}

}  // namespace

std::string ContentDigest(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Fail(path, "cannot open");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) Fail(path, "cannot stat");
  const uint64_t size = static_cast<uint64_t>(st.st_size);

  std::unique_ptr<XXH3_state_t, StateDeleter> state(XXH3_createState());
  XXH3_64bits_reset(state.get());
  PutU64(state.get(), size);
  std::vector<uint8_t> buffer(kChunk);
  uint64_t block = 0;  // the next block not yet hashed or passed over
  while (block * kBlock < size) {
    const off_t data = ::lseek(fd, static_cast<off_t>(block * kBlock), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // holes to the end
      Fail(path, "cannot seek");
    }
    block = static_cast<uint64_t>(data) / kBlock;
    const off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) Fail(path, "cannot seek");
    const uint64_t end = std::min<uint64_t>(static_cast<uint64_t>(hole), size);
    // Whole blocks from the one holding `data` to the one holding end - 1.
    while (block * kBlock < end) {
      const uint64_t from = block * kBlock;
      const size_t want = static_cast<size_t>(std::min<uint64_t>(
          kChunk, std::min<uint64_t>(size, (end + kBlock - 1) / kBlock * kBlock) - from));
      size_t got = 0;
      while (got < want) {
        const ssize_t n =
            ::pread(fd, buffer.data() + got, want - got, static_cast<off_t>(from + got));
        if (n < 0) {
          if (errno == EINTR) continue;
          Fail(path, "cannot read");
        }
        if (n == 0) break;
        got += static_cast<size_t>(n);
      }
      std::memset(buffer.data() + got, 0, want - got);  // shrank under us: zeros
      for (size_t at = 0; at < want; at += kBlock) {
        const size_t length = std::min<size_t>(kBlock, want - at);
        if (AllZero(buffer.data() + at, length)) continue;
        PutU64(state.get(), block + at / kBlock);
        XXH3_64bits_update(state.get(), buffer.data() + at, length);
      }
      block += (want + kBlock - 1) / kBlock;
    }
  }
  char hex[17];
  const int written = std::snprintf(hex, sizeof(hex), "%016" PRIx64,
                                    static_cast<uint64_t>(XXH3_64bits_digest(state.get())));
  if (written != 16) throw HarnessError(path.string() + ": cannot format the digest");
  return std::string(kContentDigestPrefix) + hex;
}

}  // namespace instar::harness
