// MaterialiseCorpus: the image corpus as qemu-img reads it, in a scratch
// directory of the run.
//
// Each stored file of the manifest is copied under its image name (xz ones
// decompressed by spawning `xz -dc`), and every all-zero 4 KiB block is
// written as a hole. So "disk size" / "actual-size" depend on the bytes of
// the image alone, not on how git checked the files out or which file system
// made them sparse. Sizes and sha256 are checked against the manifest; the
// files are left read-only, since no case may change the corpus.
#ifndef INSTAR_HARNESS_RUN_CORPUS_H_
#define INSTAR_HARNESS_RUN_CORPUS_H_

#include <filesystem>
#include <string_view>

#include "harness/cases/manifest.h"
#include "harness/run/interrupt.h"

namespace instar::harness {

// Writes `data` to `path`, leaving each all-zero 4 KiB block as a hole.
void WriteSparseFile(const std::filesystem::path& path, std::string_view data);

// `stored_dir` is cases/images; `destination` must exist and be empty.
void MaterialiseCorpus(const Manifest& manifest, const std::filesystem::path& stored_dir,
                       const std::filesystem::path& destination, unsigned jobs,
                       Interrupt* interrupt);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_RUN_CORPUS_H_
