// `qemu-img compare A B`: both images the user named (device 0 and 1) are
// opened as img_compare() opens them, each with its backing chain, and
// walked against each other (instar/engine/compare.h); the result says
// which line qemu-img printed last (compare_result.h). The bytes of both
// images stay in the sandbox: the host learns only the verdict.
#include "instar/engine/compare.h"
#include "instar/guest/compare_result.h"
#include "ops/operation.h"

namespace instar::guest {

namespace {

using namespace compare_result;

}  // namespace

Status CompareOperation(OperationContext& ctx) {
  // RunOperation() checked that filename2 is terminated.
  const abi::CompareConfig& c = ctx.config.compare;
  const ImageOpenFlags flags{BackingChain::kOpen, false};
  INSTAR_ASSIGN_OR_RETURN(OpenedImage a, OpenUserImage(ctx, flags));
  INSTAR_ASSIGN_OR_RETURN(OpenedImage b, OpenNamedImage(ctx, 1, c.filename2, sizeof(c.filename2),
                                                        c.format_hint2, flags));

  // img_compare() asks for both lengths before it reads: one qemu cannot
  // give ends it, exit 4.
  const char* names[2] = {ctx.config.filename, c.filename2};
  const Image* images[2] = {a.image, b.image};
  for (int i = 0; i < 2; ++i) {
    const QemuLength length = images[i]->Length();
    if (length.ok) continue;
    char text[640];
    TextBuilder line(text, sizeof(text));
    line.Append("qemu-img: Can't get size of ").Append(names[i]).Append(": ");
    AppendStrError(line, length.error_number);
    INSTAR_RETURN_IF_ERROR(ctx.writer.Bytes(kTagFailure, line.c_str(), line.length()));
    return ctx.writer.U64(kTagFailureExit, 4);
  }

  uint8_t* buffer1 = ctx.arena.AllocateArray<uint8_t>(kCompareChunkBytes);
  uint8_t* buffer2 = ctx.arena.AllocateArray<uint8_t>(kCompareChunkBytes);
  if (buffer1 == nullptr || buffer2 == nullptr) return Status::NoSpace("out of memory");

  const bool strict = (c.flags & abi::kCompareStrict) != 0;
  const CompareOutcome outcome =
      CompareImages(*a.image, *b.image, strict, ctx.compat, buffer1, buffer2, ctx.arena);
  if (outcome.size_warning) INSTAR_RETURN_IF_ERROR(ctx.writer.Bool(kTagSizeWarning, true));
  const CompareFailure& failure = outcome.failure;
  if (failure.exit_code == 0) {
    INSTAR_RETURN_IF_ERROR(ctx.writer.U64(kTagVerdict, static_cast<uint64_t>(outcome.verdict)));
    if (outcome.verdict == CompareVerdict::kContentMismatch ||
        outcome.verdict == CompareVerdict::kStrictStatusMismatch) {
      INSTAR_RETURN_IF_ERROR(ctx.writer.U64(kTagOffset, outcome.offset));
    }
    return Status::Ok();
  }
  const char* name = failure.image == 0 ? ctx.config.filename : c.filename2;
  char text[2048];
  TextBuilder line(text, sizeof(text));
  if (failure.exit_code == 3) {
    line.Append("qemu-img: Sector allocation test failed for ").Append(name);
  } else {
    line.Append("qemu-img: Error while reading offset ")
        .AppendDecimal(failure.offset)
        .Append(" of ")
        .Append(name)
        .Append(": ");
    AppendReadFailure(line, failure.status);
  }
  INSTAR_RETURN_IF_ERROR(ctx.writer.Bytes(kTagFailure, line.c_str(), line.length()));
  return ctx.writer.U64(kTagFailureExit, failure.exit_code);
}

}  // namespace instar::guest
