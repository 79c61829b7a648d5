#include "instar/guest/command_table.h"
#include "instar/guest/transport.h"
#include "ops/operation.h"

namespace instar::guest {

namespace {

// Room for the error result when the arena cannot even hold the normal
// result buffer.
constexpr size_t kFallbackResultBytes = 2048;
constexpr size_t kErrorTextBytes = 1024;

bool Terminated(const char* text, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    if (text[i] == '\0') return true;
  }
  return false;
}

Status CheckConfig(const abi::OperationConfig& config) {
  if (config.magic != abi::kConfigMagic || config.abi_version != abi::kAbiVersion ||
      config.size != sizeof(abi::OperationConfig)) {
    return Status::InvalidArgument("the sandbox received a bad operation config");
  }
  if (!Terminated(config.filename, sizeof(config.filename))) {
    return Status::InvalidArgument("the sandbox received an unterminated file name");
  }
  if (config.operation == static_cast<uint32_t>(abi::Operation::kMeasure)) {
    const abi::MeasureConfig& m = config.measure;
    if (!Terminated(m.target_format, sizeof(m.target_format)) ||
        !Terminated(m.options, sizeof(m.options)) || !Terminated(m.snapshot, sizeof(m.snapshot))) {
      return Status::InvalidArgument("the sandbox received an unterminated measure option");
    }
  }
  if (config.operation == static_cast<uint32_t>(abi::Operation::kCreate)) {
    const abi::CreateConfig& c = config.create;
    if (!Terminated(c.target_format, sizeof(c.target_format)) ||
        !Terminated(c.options, sizeof(c.options)) ||
        !Terminated(c.backing_file, sizeof(c.backing_file)) ||
        !Terminated(c.backing_format, sizeof(c.backing_format))) {
      return Status::InvalidArgument("the sandbox received an unterminated create option");
    }
  }
  if (config.operation == static_cast<uint32_t>(abi::Operation::kAmend) &&
      !Terminated(config.amend.options, sizeof(config.amend.options))) {
    return Status::InvalidArgument("the sandbox received an unterminated amend option");
  }
  if (config.operation == static_cast<uint32_t>(abi::Operation::kDd)) {
    const abi::DdConfig& d = config.dd;
    if (!Terminated(d.target_format, sizeof(d.target_format)) ||
        !Terminated(d.input_filename, sizeof(d.input_filename))) {
      return Status::InvalidArgument("the sandbox received an unterminated dd operand");
    }
    // img_dd_bs()'s range; the host parsed it.
    if (d.block_size == 0 || d.block_size > INT32_MAX || d.input_device > 1 ||
        ((d.flags & abi::kDdNoOutput) != 0) != (d.input_device == 0)) {
      return Status::InvalidArgument("the sandbox received a bad dd config");
    }
  }
  if (config.operation == static_cast<uint32_t>(abi::Operation::kConvert)) {
    const abi::ConvertConfig& c = config.convert;
    if (!Terminated(c.target_format, sizeof(c.target_format)) ||
        !Terminated(c.options, sizeof(c.options)) || !Terminated(c.snapshot, sizeof(c.snapshot)) ||
        !Terminated(c.snapshot_id, sizeof(c.snapshot_id)) ||
        !Terminated(c.backing_file, sizeof(c.backing_file)) ||
        !Terminated(c.backing_format, sizeof(c.backing_format))) {
      return Status::InvalidArgument("the sandbox received an unterminated convert option");
    }
    // Every source's name terminated within source_names.
    if (c.source_count == 0 || c.source_count > abi::kMaxConvertSources) {
      return Status::InvalidArgument("the sandbox received a bad convert source count");
    }
    size_t at = 0;
    for (uint32_t i = 0; i < c.source_count; ++i) {
      while (at < sizeof(c.source_names) && c.source_names[at] != '\0') ++at;
      if (at == sizeof(c.source_names)) {
        return Status::InvalidArgument("the sandbox received an unterminated source name");
      }
      ++at;
    }
    // The host parsed -S: at most 16 MiB in sectors.
    if (c.min_sparse > 32768) {
      return Status::InvalidArgument("the sandbox received a bad convert config");
    }
  }
  if (config.operation == static_cast<uint32_t>(abi::Operation::kCompare) &&
      !Terminated(config.compare.filename2, sizeof(config.compare.filename2))) {
    return Status::InvalidArgument("the sandbox received an unterminated file name");
  }
  return Status::Ok();
}

// The operation of each command the command table marks IMPLEMENTED.
Status Dispatch(OperationContext& ctx) {
  INSTAR_RETURN_IF_ERROR(CheckConfig(ctx.config));
  switch (static_cast<abi::Operation>(ctx.config.operation)) {
#define INSTAR_DISPATCH_OPERATION(name, Name, operation) \
  case abi::Operation::k##Name:                          \
    return Name##Operation(ctx);
    INSTAR_COMMAND_TABLE(INSTAR_DISPATCH_OPERATION, INSTAR_COMMAND_SKIPPED)
#undef INSTAR_DISPATCH_OPERATION
  }
  return Status::InvalidArgument("the sandbox does not know this operation");
}

bool Emit(Transport& transport, ByteView stream) {
  abi::CallRequest request{};
  request.call = static_cast<uint32_t>(abi::Call::kEmit);
  request.length = stream.size;
  const abi::CallReply reply = transport.Call(request, stream.data, nullptr);
  return reply.error == static_cast<int32_t>(abi::CallError::kOk);
}

}  // namespace

int RunOperation(const abi::OperationConfig& config, Transport& transport, Arena& arena) {
  uint8_t fallback[kFallbackResultBytes];
  char error_text[kErrorTextBytes];
  TextBuilder error(error_text, sizeof(error_text));

  uint8_t* buffer = arena.AllocateArray<uint8_t>(abi::kMaxResult);
  size_t capacity = abi::kMaxResult;
  if (buffer == nullptr) {
    buffer = fallback;
    capacity = sizeof(fallback);
  }
  ResultWriter writer(buffer, capacity);
  writer.Start(config.operation);

  OperationContext ctx{
      config, transport,
      arena,  writer,
      error,  QemuVersion{config.compat_major, config.compat_minor, config.compat_micro}};
  Status status = Dispatch(ctx);
  if (status.ok()) {
    Result<ByteView> stream = writer.Finish();
    if (stream.ok()) return Emit(transport, *stream) ? 0 : 2;
    status = stream.status();  // the result did not fit: report that instead
    error.Clear();
  }
  if (error.empty()) error.Append("qemu-img: ").Append(status);
  if (!WriteErrorResult(writer, config.operation, status.code(), error.c_str(), error.length())
           .ok()) {
    return 2;
  }
  Result<ByteView> stream = writer.Finish();
  return stream.ok() && Emit(transport, *stream) ? 0 : 2;
}

}  // namespace instar::guest
