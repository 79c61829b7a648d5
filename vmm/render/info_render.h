// What `qemu-img info` prints on stdout, per qemu-img version. For now the
// fields every format has: the file name, the format, the virtual size and
// the disk size (host metadata: allocated blocks of the file). The
// format-specific parts are still to come.
#ifndef INSTAR_VMM_RENDER_INFO_RENDER_H_
#define INSTAR_VMM_RENDER_INFO_RENDER_H_

#include <cstdint>
#include <string>

#include "instar/engine/version.h"
#include "vmm/render/output_format.h"
#include "vmm/result/info_view.h"

namespace instar::vmm {

struct InfoHostFacts {
  std::string filename;    // as the user gave it
  uint64_t disk_size = 0;  // st_blocks * 512
};

std::string RenderInfo(const InfoView& info, const InfoHostFacts& host, OutputFormat format,
                       const QemuVersion& compat);

// qemu's size_to_str(): "3 MiB", "1.5 GiB", "416 KiB", "512 B".
std::string HumanSize(uint64_t bytes);

// A JSON string literal as qemu's JSON writer quotes it.
std::string JsonQuote(const std::string& text);

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RENDER_INFO_RENDER_H_
