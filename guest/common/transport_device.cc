#include "instar/guest/transport_device.h"

#include "instar/engine/bytes.h"

namespace instar::guest {

namespace {

Status CallStatus(int32_t error) {
  switch (static_cast<abi::CallError>(error)) {
    case abi::CallError::kOk:
      return Status::Ok();
    case abi::CallError::kNotFound:
      return Status::IOError("No such file or directory");
    case abi::CallError::kDenied:
      return Status::IOError("Permission denied");
    case abi::CallError::kBadRange:
      return Status::OutOfRange("the host refused an out-of-range request");
    case abi::CallError::kIOError:
      return Status::IOError("Input/output error");
    default:
      return Status::IOError("the host refused a request");
  }
}

}  // namespace

abi::CallReply SimpleCall(Transport& transport, abi::Call call, uint32_t device, uint64_t offset,
                          uint64_t length) {
  abi::CallRequest request{};
  request.call = static_cast<uint32_t>(call);
  request.device = device;
  request.offset = offset;
  request.length = length;
  return transport.Call(request, nullptr, nullptr);
}

Status ReadInTransfers(Transport& transport, uint32_t device, uint64_t offset, uint8_t* out,
                       size_t length) {
  while (length > 0) {
    const size_t chunk =
        length < abi::kMaxTransfer ? length : static_cast<size_t>(abi::kMaxTransfer);
    const abi::CallRequest request = abi::MakeRequest(abi::Call::kRead, device, offset, chunk);
    const abi::CallReply reply = transport.Call(request, nullptr, out);
    INSTAR_RETURN_IF_ERROR(CallStatus(reply.error));
    out += chunk;
    offset += chunk;
    length -= chunk;
  }
  return Status::Ok();
}

Result<TransportDevice*> TransportDevice::Create(Transport& transport, uint32_t device,
                                                 Arena& arena) {
  const abi::CallReply reply = SimpleCall(transport, abi::Call::kSize, device);
  INSTAR_RETURN_IF_ERROR(CallStatus(reply.error));
  TransportDevice* result =
      arena.New<TransportDevice>(transport, device, reply.value, nullptr, nullptr);
  if (result == nullptr) return Status::NoSpace("out of memory for a device");
  // Without room for the windows or the extent list the device still works,
  // one call a read or a seek.
  result->UseBuffers(arena.AllocateArray<uint8_t>(kReadAheadWindows * kReadAheadBytes),
                     arena.AllocateArray<abi::DataExtent>(kExtentCacheEntries));
  return result;
}

void TransportDevice::UseBuffers(uint8_t* windows, abi::DataExtent* extents) {
  for (size_t i = 0; i < kReadAheadWindows; ++i) {
    windows_[i].bytes = windows != nullptr ? windows + i * kReadAheadBytes : nullptr;
  }
  extents_ = extents;
}

Status TransportDevice::Read(uint64_t offset, void* buffer, size_t length) {
  uint64_t end;
  if (!CheckedAdd(offset, length, &end)) return Status::IOError("read range overflows");
  uint8_t* out = static_cast<uint8_t*>(buffer);
  // A window ends up to kReadAheadBytes past the read; the host refuses a
  // range that ends past kMaxRangeEnd, though the read itself may be one
  // it serves (qemu 5.2 reads a snapshot table just below 2^63).
  if (length >= kReadAheadBytes || windows_[0].bytes == nullptr ||
      end > abi::kMaxRangeEnd - kReadAheadBytes) {
    return ReadDirect(offset, out, length);
  }
  while (length > 0) {
    const uint64_t base = AlignDown(offset, kReadAheadBytes);
    INSTAR_ASSIGN_OR_RETURN(const uint8_t* window, WindowAt(base));
    const size_t at = static_cast<size_t>(offset - base);
    const size_t n = length < kReadAheadBytes - at ? length : kReadAheadBytes - at;
    CopyBytes(out, window + at, n);
    out += n;
    offset += n;
    length -= n;
  }
  return Status::Ok();
}

Result<const uint8_t*> TransportDevice::WindowAt(uint64_t base) {
  Window* victim = &windows_[0];
  for (Window& window : windows_) {
    if (window.last_use != 0 && window.base == base) {
      window.last_use = ++uses_;
      return static_cast<const uint8_t*>(window.bytes);
    }
    if (window.last_use < victim->last_use) victim = &window;
  }
  victim->last_use = 0;  // empty until the read succeeds
  INSTAR_RETURN_IF_ERROR(ReadDirect(base, victim->bytes, kReadAheadBytes));
  victim->base = base;
  victim->last_use = ++uses_;
  return static_cast<const uint8_t*>(victim->bytes);
}

Status TransportDevice::ReadDirect(uint64_t offset, uint8_t* out, size_t length) {
  return ReadInTransfers(transport_, device_, offset, out, length);
}

Result<bool> TransportDevice::CoverExtents(uint64_t offset) {
  if (extents_ == nullptr) return false;
  if (offset >= extents_from_ && offset < extents_to_) return true;
  abi::CallRequest request{};
  request.call = static_cast<uint32_t>(abi::Call::kDataExtents);
  request.device = device_;
  request.offset = offset;
  request.length = kExtentCacheEntries * sizeof(abi::DataExtent);
  extents_to_ = 0;  // nothing listed until the reply checks out
  const abi::CallReply reply = transport_.Call(request, nullptr, extents_);
  INSTAR_RETURN_IF_ERROR(CallStatus(reply.error));
  if (reply.value > kExtentCacheEntries) return Status::IOError("the host listed too many extents");
  uint64_t previous_end = offset;
  for (size_t i = 0; i < reply.value; ++i) {
    if (extents_[i].start < previous_end || extents_[i].end <= extents_[i].start) {
      return Status::IOError("the host listed extents out of order");
    }
    previous_end = extents_[i].end;
  }
  extent_count_ = static_cast<size_t>(reply.value);
  extents_from_ = offset;
  extents_to_ = extent_count_ == kExtentCacheEntries ? previous_end : UINT64_MAX;
  return true;
}

Result<uint64_t> TransportDevice::SeekData(uint64_t offset) {
  INSTAR_ASSIGN_OR_RETURN(const bool listed, CoverExtents(offset));
  if (!listed) {
    const abi::CallReply reply = SimpleCall(transport_, abi::Call::kSeekData, device_, offset);
    INSTAR_RETURN_IF_ERROR(CallStatus(reply.error));
    return reply.value == abi::kNoData ? BlockDevice::kNoData : reply.value;
  }
  // The first run that ends after `offset`: data from `offset` or from its
  // start. None: no data after `offset` (a full list ends past it).
  for (size_t i = 0; i < extent_count_; ++i) {
    if (extents_[i].end > offset) return extents_[i].start > offset ? extents_[i].start : offset;
  }
  return BlockDevice::kNoData;
}

Result<uint64_t> TransportDevice::SeekHole(uint64_t offset) {
  INSTAR_ASSIGN_OR_RETURN(const bool listed, CoverExtents(offset));
  if (!listed) {
    const abi::CallReply reply = SimpleCall(transport_, abi::Call::kSeekHole, device_, offset);
    INSTAR_RETURN_IF_ERROR(CallStatus(reply.error));
    return reply.value;
  }
  // Inside a run: its end. Anywhere else, `offset` is in a hole already (at
  // and past the end of the file too, as lseek has it).
  for (size_t i = 0; i < extent_count_; ++i) {
    if (extents_[i].start <= offset && offset < extents_[i].end) return extents_[i].end;
  }
  return offset;
}

Result<uint64_t> TransportDevice::AllocatedBytes() {
  const abi::CallReply reply = SimpleCall(transport_, abi::Call::kAllocatedSize, device_);
  INSTAR_RETURN_IF_ERROR(CallStatus(reply.error));
  return reply.value;
}

Result<TransportWritableDevice*> TransportWritableDevice::Create(Transport& transport,
                                                                 uint32_t device, Arena& arena) {
  const abi::CallReply reply = SimpleCall(transport, abi::Call::kSize, device);
  INSTAR_RETURN_IF_ERROR(CallStatus(reply.error));
  TransportWritableDevice* result =
      arena.New<TransportWritableDevice>(transport, device, reply.value);
  if (result == nullptr) return Status::NoSpace("out of memory for a device");
  return result;
}

Result<WritableDevice*> TransportWritableDevice::OpenSibling(const char* name, size_t length,
                                                             Arena& arena) {
  if (length == 0 || length > abi::kMaxName) {
    return Status::InvalidArgument("file name is empty or too long");
  }
  const abi::CallRequest request = abi::MakeRequest(
      abi::Call::kOpen, device_, static_cast<uint64_t>(abi::OpenBase::kOutput), length);
  const abi::CallReply reply = transport_.Call(request, name, nullptr);
  INSTAR_RETURN_IF_ERROR(CallStatus(reply.error));
  if (reply.value > UINT32_MAX) return Status::IOError("the host returned a bad device number");
  INSTAR_ASSIGN_OR_RETURN(TransportWritableDevice * device,
                          Create(transport_, static_cast<uint32_t>(reply.value), arena));
  return static_cast<WritableDevice*>(device);
}

Status TransportWritableDevice::Read(uint64_t offset, void* buffer, size_t length) {
  uint64_t end;
  if (!CheckedAdd(offset, length, &end)) return Status::IOError("read range overflows");
  return ReadInTransfers(transport_, device_, offset, static_cast<uint8_t*>(buffer), length);
}

Result<uint64_t> TransportWritableDevice::SeekData(uint64_t offset) {
  const abi::CallReply reply = SimpleCall(transport_, abi::Call::kSeekData, device_, offset);
  INSTAR_RETURN_IF_ERROR(CallStatus(reply.error));
  return reply.value == abi::kNoData ? BlockDevice::kNoData : reply.value;
}

Result<uint64_t> TransportWritableDevice::SeekHole(uint64_t offset) {
  const abi::CallReply reply = SimpleCall(transport_, abi::Call::kSeekHole, device_, offset);
  INSTAR_RETURN_IF_ERROR(CallStatus(reply.error));
  return reply.value;
}

Result<uint64_t> TransportWritableDevice::AllocatedBytes() {
  const abi::CallReply reply = SimpleCall(transport_, abi::Call::kAllocatedSize, device_);
  INSTAR_RETURN_IF_ERROR(CallStatus(reply.error));
  return reply.value;
}

Status TransportWritableDevice::Write(uint64_t offset, const void* data, size_t length) {
  return WriteCalls(offset, data, length, 0);
}

Status TransportWritableDevice::WriteLent(uint64_t offset, const void* data, size_t length) {
  return WriteCalls(offset, data, length, abi::kCallLent);
}

Status TransportWritableDevice::WriteCalls(uint64_t offset, const void* data, size_t length,
                                           uint64_t flags) {
  uint64_t end;
  if (!CheckedAdd(offset, length, &end) || end > abi::kMaxRangeEnd) {
    return Status::OutOfRange("write range overflows");
  }
  const auto* in = static_cast<const uint8_t*>(data);
  while (length > 0) {
    const size_t chunk =
        length < abi::kMaxTransfer ? length : static_cast<size_t>(abi::kMaxTransfer);
    const abi::CallRequest request =
        abi::MakeRequest(abi::Call::kWrite, device_, offset, chunk, 0, flags);
    const abi::CallReply reply = transport_.Call(request, in, nullptr);
    INSTAR_RETURN_IF_ERROR(CallStatus(reply.error));
    in += chunk;
    offset += chunk;
    length -= chunk;
    if (offset > size_) size_ = offset;
  }
  return Status::Ok();
}

Status TransportWritableDevice::Truncate(uint64_t size) {
  const abi::CallReply reply = SimpleCall(transport_, abi::Call::kTruncate, device_, size);
  INSTAR_RETURN_IF_ERROR(CallStatus(reply.error));
  size_ = size;
  return Status::Ok();
}

Status TransportWritableDevice::Allocate(uint64_t offset, uint64_t length) {
  uint64_t end;
  if (!CheckedAdd(offset, length, &end)) return Status::OutOfRange("allocation range overflows");
  const abi::CallReply reply =
      SimpleCall(transport_, abi::Call::kAllocate, device_, offset, length);
  INSTAR_RETURN_IF_ERROR(CallStatus(reply.error));
  if (end > size_) size_ = end;
  return Status::Ok();
}

Status TransportWritableDevice::ZeroRange(uint64_t offset, uint64_t length) {
  uint64_t end;
  if (!CheckedAdd(offset, length, &end)) return Status::OutOfRange("zero range overflows");
  const abi::CallReply reply =
      SimpleCall(transport_, abi::Call::kZeroRange, device_, offset, length);
  return CallStatus(reply.error);
}

Status TransportWritableDevice::Flush() {
  const abi::CallReply reply = SimpleCall(transport_, abi::Call::kFlush, device_);
  return CallStatus(reply.error);
}

Result<BlockDevice*> TransportDeviceOpener::Open(const char* name, size_t name_length) {
  Result<BlockDevice*> device = OpenFrom(abi::OpenBase::kImageDirectory, name, name_length);
  if (!device.ok() && name_length <= sizeof(relative_failure_name_)) {
    CopyBytes(relative_failure_name_, name, name_length);
    relative_failure_ = Failure{relative_failure_name_, name_length, device.status()};
  }
  return device;
}

Result<BlockDevice*> TransportDeviceOpener::OpenAsGiven(const char* name, size_t name_length) {
  Result<BlockDevice*> device = OpenFrom(abi::OpenBase::kWorkingDirectory, name, name_length);
  if (!device.ok()) as_given_failure_ = Failure{name, name_length, device.status()};
  return device;
}

Result<BlockDevice*> TransportDeviceOpener::OpenFrom(abi::OpenBase base, const char* name,
                                                     size_t name_length) {
  if (name_length == 0 || name_length > abi::kMaxName) {
    return Status::InvalidArgument("file name is empty or too long");
  }
  const abi::CallRequest request =
      abi::MakeRequest(abi::Call::kOpen, root_, static_cast<uint64_t>(base), name_length);
  const abi::CallReply reply = transport_.Call(request, name, nullptr);
  INSTAR_RETURN_IF_ERROR(CallStatus(reply.error));
  if (reply.value > UINT32_MAX) return Status::IOError("the host returned a bad device number");
  INSTAR_ASSIGN_OR_RETURN(
      TransportDevice * device,
      TransportDevice::Create(transport_, static_cast<uint32_t>(reply.value), arena_));
  return static_cast<BlockDevice*>(device);
}

}  // namespace instar::guest
