// The content digest of a file: a digest of its bytes that costs nothing
// for the zeros in it, however they are allocated.
//
//   "xxh3-64-sparse:<16 lowercase hex digits>"
//
// is XXH3-64 (seed 0) over: the file's size as a little-endian uint64, then
// for each 4 KiB block of the file (the last one as long as the file) that
// is not all zeros, in order, its index as a little-endian uint64 followed
// by its bytes. Holes (lseek SEEK_DATA/SEEK_HOLE) are not read. Two files
// with the same bytes have the same digest, allocated or not; a file of
// several GiB of holes takes no time.
//
// A convert case reads its output back as raw through the program under
// test and records this digest of the raw file: the guest-visible content
// of the output, whatever its format (docs/baselines.md).
#ifndef INSTAR_HARNESS_RUN_CONTENT_DIGEST_H_
#define INSTAR_HARNESS_RUN_CONTENT_DIGEST_H_

#include <filesystem>
#include <string>

namespace instar::harness {

inline constexpr std::string_view kContentDigestPrefix = "xxh3-64-sparse:";

// Throws HarnessError when the file cannot be read.
std::string ContentDigest(const std::filesystem::path& path);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_RUN_CONTENT_DIGEST_H_
