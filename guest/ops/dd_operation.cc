// `qemu-img dd`: img_dd()'s steps after its operand loop, inside the
// sandbox. The host parsed the operands (bs, count, skip, if, of, with
// cvtnum's words), created the output under a temporary name as device 0
// and opened the input; here, in qemu's order:
//
//   1. the input opened as img_open() opens it (-f or probed, with its
//      backing chain);
//   2. -O looked up: an unknown name is "Unknown file format", a format
//      without creation qemu's "does not support image creation";
//   3. the output's size: the input's virtual size, capped by count * bs,
//      less skip * bs (0 when skip is past the end);
//   4. bdrv_create() with -O's defaults and that size: the driver's create
//      hook on device 0;
//   5. the output opened by its driver's reader and, through open_writer,
//      for guest writes ("cannot skip" warned here, as qemu does after the
//      open);
//   6. the block loop: each block of bs bytes (the last one short) read
//      from the input and written at the same place less the skip, every
//      block written, zeros included, as blk_pwrite() is; then Finish().
//
// A failure anywhere is the error result in qemu's words, and the host
// removes the output (qemu would leave a partial file; instar's dd writes
// under a temporary name, see modify.h). The input's bytes are read in
// batches of whole blocks; the writes are block by block, as qemu's are,
// since where a write starts and ends decides what a qcow2 allocates.
#include "instar/engine/compare.h"
#include "instar/engine/format_driver.h"
#include "instar/engine/modify.h"
#include "instar/guest/dd_result.h"
#include "instar/guest/transport_device.h"
#include "ops/operation.h"

namespace instar::guest {

namespace {

constexpr char kQemuImg[] = "qemu-img: ";
// How many input bytes one batch reads: whole blocks up to this, or one
// block in pieces of this when bs is larger.
constexpr uint64_t kBatchBytes = uint64_t{1} << 20;

// What the block loop reads from and writes to: input byte `in_pos` goes
// to output byte in_pos - skip_bytes.
struct Copy {
  Image& input;
  ImageWriter& writer;
  uint8_t* buffer;  // kBatchBytes
  Arena& scratch;
  QemuVersion compat;
  uint64_t skip_bytes;
};

// "qemu-img: error while <what> image file: <reason>".
Status FailIo(OperationContext& ctx, const char* what, Status status) {
  ctx.error.Clear();
  ctx.error.Append(kQemuImg).Append("error while ").Append(what).Append(" image file: ");
  AppendReadFailure(ctx.error, status);
  return status;
}

// Step 6: blocks of bs from in_pos to size.
Status CopyBlocks(OperationContext& ctx, const Copy& copy, uint64_t block, uint64_t in_pos,
                  uint64_t size, uint64_t* blocks) {
  while (in_pos < size) {
    if (block <= kBatchBytes) {
      // Whole blocks, as many as fit the batch.
      uint64_t batch = (kBatchBytes / block) * block;
      if (batch > size - in_pos) batch = size - in_pos;
      if (Status s = ReadGuest(copy.input, in_pos, batch, copy.buffer, copy.compat, copy.scratch);
          !s.ok()) {
        return FailIo(ctx, "reading from input", s);
      }
      for (uint64_t done = 0; done < batch;) {
        const uint64_t bytes = batch - done < block ? batch - done : block;
        if (Status s = copy.writer.Write(in_pos + done - copy.skip_bytes, copy.buffer + done,
                                         static_cast<size_t>(bytes));
            !s.ok()) {
          return FailIo(ctx, "writing to output", s);
        }
        done += bytes;
        ++*blocks;
      }
      in_pos += batch;
      continue;
    }
    // One block larger than a batch: read and written in pieces, each
    // ending on a batch boundary of the block.
    const uint64_t end = size - in_pos < block ? size : in_pos + block;
    while (in_pos < end) {
      const uint64_t bytes = end - in_pos < kBatchBytes ? end - in_pos : kBatchBytes;
      if (Status s = ReadGuest(copy.input, in_pos, bytes, copy.buffer, copy.compat, copy.scratch);
          !s.ok()) {
        return FailIo(ctx, "reading from input", s);
      }
      if (Status s =
              copy.writer.Write(in_pos - copy.skip_bytes, copy.buffer, static_cast<size_t>(bytes));
          !s.ok()) {
        return FailIo(ctx, "writing to output", s);
      }
      in_pos += bytes;
    }
    ++*blocks;
  }
  return Status::Ok();
}

// The first line of the engine's words for `error` (FormatMeasureError()),
// without its "qemu-img: ", into `text`: img_dd() prints bdrv_create()'s
// and the format lookup's error alone, not measure's follow-up lines.
void AppendFirstLine(TextBuilder& text, const MeasureError& error) {
  char words[1024];
  FormatMeasureError(error, words, sizeof(words));
  const size_t length = BoundedLength(words, sizeof(words));
  constexpr size_t kPrefix = sizeof(kQemuImg) - 1;
  size_t start = 0;
  if (length >= kPrefix && BytesEqual(words, kQemuImg, kPrefix)) start = kPrefix;
  size_t end = start;
  while (end < length && words[end] != '\n') ++end;
  text.Append(words + start, end - start);
}

// bdrv_create()'s failure: "qemu-img: OUT: error while creating output
// image: " and the driver's words.
Status RefuseCreate(OperationContext& ctx, Status status, const MeasureError& error) {
  ctx.error.Clear();
  ctx.error.Append(kQemuImg)
      .Append(ctx.config.filename)
      .Append(": error while creating output image: ");
  if (error.kind == MeasureErrorKind::kNone) {
    ctx.error.Append(status);
  } else {
    AppendFirstLine(ctx.error, error);
  }
  return status;
}

}  // namespace

Status DdOperation(OperationContext& ctx) {
  // RunOperation() checked that the texts are terminated and the numbers
  // in range.
  const abi::DdConfig& c = ctx.config.dd;
  const bool no_output = (c.flags & abi::kDdNoOutput) != 0;

  // 1. The input.
  const ImageOpenFlags flags{BackingChain::kOpen, false};
  INSTAR_ASSIGN_OR_RETURN(OpenedImage input,
                          OpenNamedImage(ctx, c.input_device, c.input_filename,
                                         sizeof(c.input_filename), c.input_format, flags));

  // 2. The output's format.
  MeasureError error;
  ImageFormat target = ImageFormat::kUnknown;
  if (Status s = LookUpMeasureTarget(c.target_format, sizeof(c.target_format), ctx.compat, &target,
                                     &error);
      !s.ok()) {
    ctx.error.Clear();
    if (error.kind == MeasureErrorKind::kUnknownFormat) {
      ctx.error.Append(kQemuImg).Append("Unknown file format");
    } else {
      ctx.error.Append(kQemuImg);
      AppendFirstLine(ctx.error, error);
    }
    return s;
  }
  const FormatDriver* driver = FindFormatDriver(target);
  if (driver == nullptr || driver->create == nullptr) {
    error = MeasureError();
    error.kind = MeasureErrorKind::kNoImageCreation;
    error.target = target;
    ctx.error.Clear();
    ctx.error.Append(kQemuImg);
    AppendFirstLine(ctx.error, error);
    return Status::NotSupported("no writer for this format yet");
  }

  // 3. The size.
  const uint64_t block = c.block_size;
  uint64_t size = input.image->VirtualSize();
  uint64_t capped = 0;
  if ((c.flags & abi::kDdHasCount) != 0 && c.count <= static_cast<uint64_t>(INT64_MAX) / block &&
      (capped = c.count * block) < size) {
    size = capped;
  }
  const bool skip_past_end =
      (c.flags & abi::kDdHasSkip) != 0 &&
      (c.skip > static_cast<uint64_t>(INT64_MAX) / block || size < c.skip * block);
  const uint64_t skip_bytes =
      (c.flags & abi::kDdHasSkip) != 0 && !skip_past_end ? c.skip * block : 0;
  const uint64_t output_size = skip_past_end ? 0 : size - skip_bytes;

  // 4. bdrv_create().
  if (no_output) return ctx.writer.Bool(dd_result::kTagNoOutput, true);
  auto* options = ctx.arena.New<ParsedMeasureOptions>();
  if (options == nullptr) return Status::NoSpace("out of memory for the create options");
  if (Status s = ParseMeasureOptions(target, "", 0, ctx.compat, ctx.arena, options, &error);
      !s.ok()) {
    return RefuseCreate(ctx, s, error);
  }
  MeasureOptionValue& size_value = options->values[static_cast<size_t>(MeasureOptionKey::kSize)];
  size_value = MeasureOptionValue();
  size_value.present = true;
  size_value.number = output_size;
  INSTAR_ASSIGN_OR_RETURN(TransportWritableDevice * output,
                          TransportWritableDevice::Create(ctx.transport, 0, ctx.arena));
  CreateRequest request;
  request.options = options;
  request.size = output_size;
  request.target_name = MeasureText{
      ctx.config.filename, BoundedLength(ctx.config.filename, sizeof(ctx.config.filename))};
  request.now_seconds = c.now_seconds;
  CopyBytes(request.random, c.random, sizeof(request.random));
  error = MeasureError();
  if (Status s = driver->create(request, *output, ctx.compat, ctx.arena, &error); !s.ok()) {
    return RefuseCreate(ctx, s, error);
  }

  // 5. The output opened for writing.
  INSTAR_ASSIGN_OR_RETURN(OpenedTarget opened,
                          OpenTargetForWrites(ctx, *driver, *output, c.now_seconds, c.random));
  if (skip_past_end) {
    char line[1024];
    TextBuilder warning(line, sizeof(line));
    warning.Append(kQemuImg).Append(c.input_filename).Append(": cannot skip to specified offset");
    INSTAR_RETURN_IF_ERROR(
        ctx.writer.Bytes(dd_result::kTagWarning, warning.c_str(), warning.length()));
  }

  // 6. The blocks.
  uint8_t* buffer = ctx.arena.AllocateArray<uint8_t>(kBatchBytes);
  if (buffer == nullptr) return Status::NoSpace("out of memory for the dd buffer");
  const Copy copy{*input.image, *opened.writer, buffer, ctx.arena, ctx.compat, skip_bytes};
  uint64_t blocks = 0;
  INSTAR_RETURN_IF_ERROR(
      CopyBlocks(ctx, copy, block, skip_past_end ? size : skip_bytes, size, &blocks));
  if (Status s = opened.writer->Finish(); !s.ok()) return FailIo(ctx, "writing to output", s);
  return ctx.writer.U64(dd_result::kTagBlocks, blocks);
}

}  // namespace instar::guest
