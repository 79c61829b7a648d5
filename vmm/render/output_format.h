// OutputFormat: qemu-img's --output=human|json.
#ifndef INSTAR_VMM_RENDER_OUTPUT_FORMAT_H_
#define INSTAR_VMM_RENDER_OUTPUT_FORMAT_H_

namespace instar::vmm {

enum class OutputFormat { kHuman, kJson };

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RENDER_OUTPUT_FORMAT_H_
