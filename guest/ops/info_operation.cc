// `qemu-img info` of one image: for now its format and virtual size.
#include "instar/guest/info_result.h"
#include "ops/operation.h"

namespace instar::guest {

Status InfoOperation(OperationContext& ctx) {
  INSTAR_ASSIGN_OR_RETURN(OpenedImage opened, OpenUserImage(ctx, ImageOpenFlags{BackingChain::kSkip, true}));
  INSTAR_RETURN_IF_ERROR(
      ctx.writer.String(info_result::kTagFormat, ImageFormatName(opened.format)));
  INSTAR_RETURN_IF_ERROR(ctx.writer.U64(info_result::kTagVirtualSize, opened.image->VirtualSize()));
  return Status::Ok();
}

}  // namespace instar::guest
