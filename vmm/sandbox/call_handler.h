// CallHandler: the host side of the call table, shared by every backend.
//
// A backend receives a CallRequest from the guest, asks Check() whether it is
// acceptable before touching any memory it names, resolves the payload (guest
// memory for kvm/emulated, a local buffer for the process pipe), and then
// calls Handle(). Every check on guest-supplied values lives here, once:
// call number and sequence, device number, offset + length overflow, per-call
// length limits, read-only devices, the write limit of the one writable
// device (a producing command's output), the single kEmit within kMaxResult.
#ifndef INSTAR_VMM_SANDBOX_CALL_HANDLER_H_
#define INSTAR_VMM_SANDBOX_CALL_HANDLER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "instar/guest/abi.h"
#include "vmm/sandbox/device_table.h"

namespace instar::vmm {

// Where kProgress goes: work done, of the whole.
using ProgressSink = std::function<void(uint64_t done, uint64_t total)>;

class CallHandler {
 public:
  // `progress`, when set, is given every kProgress (done <= total, total
  // not 0).
  explicit CallHandler(DeviceTable& devices, ProgressSink progress = nullptr);

  // kOk when the request is well-formed and may proceed to Handle(); the
  // error to reply with otherwise. Never touches a payload.
  abi::CallError Check(const abi::CallRequest& request) const;

  // Number of payload bytes the backend must provide for `request`: the
  // bytes the guest sends (kWrite, kOpen, kEmit, kLog, kAbort) or the bytes
  // the host returns (kRead); 0 for the others. Only after Check() == kOk.
  static uint64_t PayloadLength(const abi::CallRequest& request);
  // True when the payload flows host -> guest (kRead).
  static bool PayloadIsOutput(const abi::CallRequest& request);

  // Serves a checked request. `payload` is PayloadLength() bytes. A write
  // the guest lent before this call (abi::kCallLent) is done with the
  // guest's memory when it returns, unless this is a kRead.
  abi::CallReply Handle(const abi::CallRequest& request, uint8_t* payload);
  // The reply to a request the backend refuses without Handle() (Check()
  // failed, or the payload lies where the guest may keep none): `error`,
  // once a lent write is done with the guest's memory, as for any answer.
  abi::CallReply Refuse(abi::CallError error);

  bool exited() const { return exited_; }
  uint64_t exit_status() const { return exit_status_; }
  bool aborted() const { return aborted_; }
  const std::string& abort_message() const { return abort_message_; }
  bool emitted() const { return emitted_; }
  const std::vector<uint8_t>& result() const { return result_; }
  const std::vector<std::string>& log() const { return log_; }

 private:
  // Handle() but for the lent write before it.
  abi::CallReply Serve(const abi::CallRequest& request, uint8_t* payload);
  // kWrite, kTruncate, kAllocate: `device` is the writable one and the
  // range ends (`end`) within its write limit.
  abi::CallError CheckWritable(uint32_t device, uint64_t end) const;

  DeviceTable& devices_;
  ProgressSink progress_;
  bool exited_ = false;
  uint64_t exit_status_ = 0;
  bool aborted_ = false;
  std::string abort_message_;
  bool emitted_ = false;
  std::vector<uint8_t> result_;
  std::vector<std::string> log_;
};

}  // namespace instar::vmm

#endif  // INSTAR_VMM_SANDBOX_CALL_HANDLER_H_
