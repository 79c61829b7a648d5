// Whole-file reads and atomic writes.
//
// WriteFileAtomic writes to "<path>.tmp" beside the target and renames it
// over the target, so a reader (or a later --resume) sees either the old file
// or the complete new one, never a prefix. There is no fsync: the guarantee
// is against interruption of the harness (Ctrl-C, a time-out, a crash of the
// process), not against power loss, and an fsync per file would cost more
// than the qemu-img call the file records. Errors throw HarnessError naming
// the path.
#ifndef INSTAR_HARNESS_CORE_FILES_H_
#define INSTAR_HARNESS_CORE_FILES_H_

#include <filesystem>
#include <string>
#include <string_view>

namespace instar::harness {

// The suffix of the temporary beside a file being written.
inline constexpr std::string_view kTemporarySuffix = ".tmp";

std::string ReadFile(const std::filesystem::path& path);
void WriteFileAtomic(const std::filesystem::path& path, std::string_view data);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CORE_FILES_H_
