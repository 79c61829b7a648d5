#include "vmm/sandbox/call_handler.h"

#include <cstring>

namespace instar::vmm {

namespace {

// kLog lines kept per run; later ones are dropped so a guest cannot make
// the host's memory grow without bound.
constexpr size_t kMaxLogLines = 1024;

bool NeedsDevice(abi::Call call) {
  switch (call) {
    case abi::Call::kRead:
    case abi::Call::kWrite:
    case abi::Call::kSize:
    case abi::Call::kFlush:
    case abi::Call::kSeekData:
    case abi::Call::kSeekHole:
    case abi::Call::kDataExtents:
    case abi::Call::kAllocatedSize:
    case abi::Call::kTruncate:
    case abi::Call::kAllocate:
    case abi::Call::kZeroRange:
      return true;
    default:
      return false;
  }
}

bool KnownCall(uint32_t call) {
  return call >= static_cast<uint32_t>(abi::Call::kRead) &&
         call <= static_cast<uint32_t>(abi::kLastCall);
}

// Text from the guest, made safe for a terminal: no control characters.
std::string Printable(const uint8_t* data, uint64_t length) {
  std::string text(reinterpret_cast<const char*>(data), static_cast<size_t>(length));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  for (char& c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return text;
}

}  // namespace

CallHandler::CallHandler(DeviceTable& devices, ProgressSink progress)
    : devices_(devices), progress_(std::move(progress)) {}

abi::CallError CallHandler::Check(const abi::CallRequest& request) const {
  if (exited_ || aborted_) return abi::CallError::kBadCall;
  if (!KnownCall(request.call)) return abi::CallError::kBadCall;
  const auto call = static_cast<abi::Call>(request.call);
  if (request.flags != 0 && !(call == abi::Call::kWrite && request.flags == abi::kCallLent)) {
    return abi::CallError::kBadCall;
  }
  if (NeedsDevice(call) && !devices_.Valid(request.device)) return abi::CallError::kBadDevice;

  uint64_t end;
  switch (call) {
    case abi::Call::kRead:
    case abi::Call::kWrite:
      if (request.length > abi::kMaxTransfer ||
          __builtin_add_overflow(request.offset, request.length, &end) || end > abi::kMaxRangeEnd) {
        return abi::CallError::kBadRange;
      }
      if (call == abi::Call::kWrite) return CheckWritable(request.device, end);
      return abi::CallError::kOk;
    case abi::Call::kTruncate:
      return CheckWritable(request.device, request.offset);
    case abi::Call::kAllocate:
    case abi::Call::kZeroRange:
      if (__builtin_add_overflow(request.offset, request.length, &end) || end > abi::kMaxRangeEnd) {
        return abi::CallError::kBadRange;
      }
      return CheckWritable(request.device, end);
    case abi::Call::kSize:
    case abi::Call::kFlush:
    case abi::Call::kSeekData:
    case abi::Call::kSeekHole:
    case abi::Call::kAllocatedSize:
      return abi::CallError::kOk;
    case abi::Call::kDataExtents:
      if (request.length == 0 || request.length > abi::kMaxTransfer ||
          request.length % sizeof(abi::DataExtent) != 0) {
        return abi::CallError::kBadRange;
      }
      return abi::CallError::kOk;
    case abi::Call::kOpen:
      if (request.length == 0 || request.length > abi::kMaxName) return abi::CallError::kBadRange;
      if (request.offset != static_cast<uint64_t>(abi::OpenBase::kImageDirectory) &&
          request.offset != static_cast<uint64_t>(abi::OpenBase::kWorkingDirectory) &&
          request.offset != static_cast<uint64_t>(abi::OpenBase::kOutput)) {
        return abi::CallError::kBadRange;
      }
      // The device names the root the file belongs to.
      if (request.device >= devices_.roots()) return abi::CallError::kBadDevice;
      if (devices_.count() >= abi::kMaxDevices) return abi::CallError::kDenied;
      return abi::CallError::kOk;
    case abi::Call::kEmit:
      if (emitted_) return abi::CallError::kBadCall;
      if (request.length > abi::kMaxResult) return abi::CallError::kTooLarge;
      return abi::CallError::kOk;
    case abi::Call::kLog:
    case abi::Call::kAbort:
      if (request.length > abi::kMaxLog) return abi::CallError::kBadRange;
      return abi::CallError::kOk;
    case abi::Call::kExit:
    case abi::Call::kProgress:
      return abi::CallError::kOk;
  }
  return abi::CallError::kBadCall;
}

abi::CallError CallHandler::CheckWritable(uint32_t device, uint64_t end) const {
  // Every device but a producing command's output is read-only.
  if (!devices_.Writable(device)) return abi::CallError::kDenied;
  if (!devices_.WithinWriteLimit(device, end)) return abi::CallError::kBadRange;
  return abi::CallError::kOk;
}

uint64_t CallHandler::PayloadLength(const abi::CallRequest& request) {
  switch (static_cast<abi::Call>(request.call)) {
    case abi::Call::kRead:
    case abi::Call::kWrite:
    case abi::Call::kOpen:
    case abi::Call::kEmit:
    case abi::Call::kLog:
    case abi::Call::kAbort:
    case abi::Call::kDataExtents:
      return request.length;
    default:
      return 0;
  }
}

bool CallHandler::PayloadIsOutput(const abi::CallRequest& request) {
  const auto call = static_cast<abi::Call>(request.call);
  return call == abi::Call::kRead || call == abi::Call::kDataExtents;
}

abi::CallReply CallHandler::Refuse(abi::CallError error) {
  devices_.ReleaseLent();
  abi::CallReply reply{};
  reply.error = static_cast<int32_t>(error);
  return reply;
}

abi::CallReply CallHandler::Handle(const abi::CallRequest& request, uint8_t* payload) {
  // A lent write reads the guest's memory until the answer to the next call
  // that is not a kRead (abi.h, kCallLent): the reads of the next data run
  // beside it, and the next write is queued behind it before the wait, so
  // the file is written without a pause.
  const uint64_t lent = devices_.lent_write();
  abi::CallReply reply = Serve(request, payload);
  if (lent != 0 && request.call != static_cast<uint32_t>(abi::Call::kRead)) {
    devices_.ReleaseLent(lent);
  }
  return reply;
}

abi::CallReply CallHandler::Serve(const abi::CallRequest& request, uint8_t* payload) {
  abi::CallReply reply{};
  // Check() again: a backend that forgot it must not reach the devices.
  const abi::CallError checked = Check(request);
  if (checked != abi::CallError::kOk) {
    reply.error = static_cast<int32_t>(checked);
    return reply;
  }
  abi::CallError error = abi::CallError::kOk;
  switch (static_cast<abi::Call>(request.call)) {
    case abi::Call::kRead:
      error = devices_.Read(request.device, request.offset, payload, request.length);
      if (error == abi::CallError::kOk) reply.value = request.length;
      break;
    case abi::Call::kWrite:
      error = devices_.Write(request.device, request.offset, payload, request.length,
                             request.flags == abi::kCallLent);
      if (error == abi::CallError::kOk) reply.value = request.length;
      break;
    case abi::Call::kTruncate:
      error = devices_.Truncate(request.device, request.offset);
      break;
    case abi::Call::kAllocate:
      error = devices_.Allocate(request.device, request.offset, request.length);
      break;
    case abi::Call::kZeroRange:
      error = devices_.ZeroRange(request.device, request.offset, request.length);
      break;
    case abi::Call::kSize:
      error = devices_.Size(request.device, &reply.value);
      break;
    case abi::Call::kFlush:
      error = devices_.Flush(request.device);
      break;
    case abi::Call::kSeekData:
      error = devices_.SeekData(request.device, request.offset, &reply.value);
      break;
    case abi::Call::kSeekHole:
      error = devices_.SeekHole(request.device, request.offset, &reply.value);
      break;
    case abi::Call::kAllocatedSize:
      error = devices_.AllocatedSize(request.device, &reply.value);
      break;
    case abi::Call::kDataExtents: {
      // Built apart and copied: the payload may be guest memory, whose
      // alignment is the guest's choice.
      std::vector<abi::DataExtent> extents(request.length / sizeof(abi::DataExtent));
      error = devices_.DataExtents(request.device, request.offset, extents.data(), extents.size(),
                                   &reply.value);
      std::memset(payload, 0, request.length);
      std::memcpy(payload, extents.data(), reply.value * sizeof(abi::DataExtent));
      break;
    }
    case abi::Call::kOpen: {
      uint32_t device = 0;
      error = devices_.OpenByName(
          std::string(reinterpret_cast<const char*>(payload), static_cast<size_t>(request.length)),
          static_cast<abi::OpenBase>(request.offset), request.device, &device);
      if (error == abi::CallError::kOk) reply.value = device;
      break;
    }
    case abi::Call::kEmit:
      result_.assign(payload, payload + request.length);
      emitted_ = true;
      reply.value = request.length;
      break;
    case abi::Call::kLog:
      if (log_.size() < kMaxLogLines) log_.push_back(Printable(payload, request.length));
      break;
    case abi::Call::kAbort:
      aborted_ = true;
      abort_message_ = Printable(payload, request.length);
      break;
    case abi::Call::kExit:
      exited_ = true;
      exit_status_ = request.offset;
      break;
    case abi::Call::kProgress:
      // Shown only where the user asked for it; any numbers will do.
      if (progress_ && request.length != 0 && request.offset <= request.length) {
        progress_(request.offset, request.length);
      }
      break;
  }
  reply.error = static_cast<int32_t>(error);
  return reply;
}

}  // namespace instar::vmm
