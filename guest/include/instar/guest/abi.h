// The sandbox ABI: the only interface between the untrusted guest and the
// host. Shared by every backend (kvm, emulated, process) and by both sides.
//
// The call table. The guest asks the host for one thing at a time with a
// CallRequest and gets a CallReply back:
//
//   kvm, emulated  the request is written at kMailboxAddress (see
//                  kvm_layout.h) and the guest stores 4 bytes to
//                  kHypercallAddress, a page with no memory behind it; the
//                  host validates the request, moves bytes to or from guest
//                  memory at `buffer`, and writes the reply just after the
//                  request.
//   process        the helper's memory for data is shared with the host: a
//                  memfd of kProcessSharedBytes the host maps, and passes
//                  on fd 2, before the helper starts (the helper maps it
//                  before it enters seccomp strict mode). Its first
//                  kProcessWindowBytes are the data window, the rest is
//                  the helper's arena. The request is written to fd 1 with
//                  `buffer` the offset in that memory of the payload (the
//                  bytes of kWrite, kOpen, kEmit, kLog, kAbort; the room
//                  for those of kRead and kDataExtents): an arena buffer
//                  is named where it lies, so data moves between the file
//                  and the helper's buffers with no copy, and a payload
//                  elsewhere (the stack, static data) goes through the
//                  window at offset 0. The host answers on fd 0 with a
//                  CallReply, after which a kRead's or kDataExtents' bytes
//                  are at `buffer`. The helper waits for the reply in
//                  read(2) and has one thread, so the payload holds still
//                  while the host uses it; the host copies what it must
//                  check before it uses it.
//
// Every field a guest supplies is untrusted: the host checks the call
// number, the device number, offset + length against overflow, length
// against kMaxTransfer (kMaxResult for kEmit), and `buffer` against guest
// memory, and answers a bad request with an error reply, never a crash.
//
// Writable devices. Every device is read-only but the outputs of a
// producing command, which the host opens for writing for that one
// operation: device 0, and the files beside it a format of several files
// writes (kOpen with OpenBase::kOutput; created and renamed as device 0 is):
//   create, dd     a new file under a temporary name beside the target,
//                  renamed over the target only when the guest's result
//                  reports success;
//   resize, amend  the existing image itself, opened read-write in place
//                  (O_RDWR, never created or truncated by the host), as
//                  qemu-img modifies it: what the guest wrote stays
//                  written, whatever the result says.
// kWrite, kTruncate and kAllocate are refused (kDenied) on any other
// device, and on the writable ones every range must keep the outputs'
// sizes summed within the operation's write limit (kBadRange past it);
// kFlush on one is fdatasync(2).
//
// The operation. Before the guest starts, the host places an
// OperationConfig (kvm: at kConfigAddress; process: the first bytes on
// fd 0). The guest answers with exactly one kEmit of a result stream (see
// ResultHeader/RecordHeader below) and then kExit.
//
// All integers are little endian; every struct here has a fixed layout
// checked by static_assert.
#ifndef INSTAR_GUEST_ABI_H_
#define INSTAR_GUEST_ABI_H_

#include <cstddef>
#include <cstdint>

#include "instar/guest/command_table.h"

namespace instar::abi {

// ---------------------------------------------------------------------------
// Calls.

enum class Call : uint32_t {
  kRead = 1,      // device, offset, length -> `length` bytes (zeros past EOF)
  kWrite = 2,     // device, offset, length, payload -> value = bytes written
  kSize = 3,      // device -> value = file size in bytes
  kFlush = 4,     // device
  kSeekData = 5,  // device, offset -> value = next data offset, or kNoData
  kSeekHole = 6,  // device, offset -> value = next hole offset (size at EOF)
  // payload = file name, offset = a kOpenBase, device = the named image it
  // belongs to -> value = new device number
  kOpen = 7,
  kEmit = 8,    // payload = the result stream; at most once
  kLog = 9,     // payload = one line of text for the host's debug log
  kAbort = 10,  // payload = message; the guest stops, the run fails
  kExit = 11,   // offset = exit status (0: a result was emitted); no reply
  // device, offset, length -> `length` bytes holding up to length / 16
  // DataExtents from offset on; value = how many were written.
  kDataExtents = 12,
  // device -> value = bytes the file occupies on its file system
  // (st_blocks * 512), fallocated but unwritten ranges included.
  kAllocatedSize = 13,
  // device, offset = the new length: ftruncate(2) of a writable device.
  kTruncate = 14,
  // device, offset, length: posix_fallocate(2) of [offset, offset + length)
  // on a writable device (qemu's preallocation=falloc).
  kAllocate = 15,
  // offset = work done, length = the whole work, in any one unit: how far
  // the operation is, for a progress display the user asked for (convert
  // -p); no payload, no device, value 0.
  kProgress = 16,
  // device, offset, length: the range of a writable device made to read as
  // zeros, deallocated where the file system can (ABI version 16): qemu's
  // write-zeroes with BDRV_REQ_MAY_UNMAP on a file (file-posix: a punched
  // hole, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE; else zeros written).
  // The file's length is left as it is.
  kZeroRange = 17,
};
// The highest call number: every number from kRead to it is a call.
constexpr Call kLastCall = Call::kZeroRange;

struct CallRequest {
  uint32_t call;  // a Call
  // The device number: 0 is the image the user named, 1 the second one
  // (compare's). kOpen: the named image whose directory a relative name
  // starts from (kImageDirectory), 0 or 1.
  uint32_t device;
  uint64_t offset;
  uint64_t length;  // payload or transfer length in bytes
  // The payload: kvm/emulated its guest-physical address, process its
  // offset in the shared memory.
  uint64_t buffer;
  uint64_t flags;  // kCallLent on a kWrite; otherwise 0 (else kBadCall)
};
static_assert(sizeof(CallRequest) == 40);

// A kWrite whose payload the guest lends (ABI version 13): the host may
// write the file from the guest's memory after it has answered, until it
// answers the guest's next call that is not a kRead, and the guest leaves
// that memory as it is until then (no kRead before it reads into it).
// Without the flag the host takes a copy before it answers. convert lends
// its data from two buffers in turn: the next data is read into the other
// one while the file is written, and the next write is queued behind this
// one, with no copy and no pause.
constexpr uint64_t kCallLent = 1;

// A request for `call`, its fields in the struct's order; the transports
// fill in `buffer` for a call that has a payload.
constexpr CallRequest MakeRequest(Call call, uint32_t device = 0, uint64_t offset = 0,
                                  uint64_t length = 0, uint64_t buffer = 0, uint64_t flags = 0) {
  return CallRequest{static_cast<uint32_t>(call), device, offset, length, buffer, flags};
}

enum class CallError : int32_t {
  kOk = 0,
  kBadCall = -1,    // unknown call number, or a call out of sequence
  kBadDevice = -2,  // no such device
  kBadRange = -3,   // offset/length overflow or beyond a limit
  kBadBuffer = -4,  // buffer outside guest memory
  kIOError = -5,    // the host's I/O failed
  kNotFound = -6,   // kOpen: no such file
  kDenied = -7,     // kOpen refused (too many devices, bad name), or a write to a read-only device
  kTooLarge = -8,   // kEmit beyond kMaxResult
};

// Where a relative kOpen name starts from (the request's offset).
enum class OpenBase : uint64_t {
  // The directory of the image the user named (the request's device: 0, or
  // 1 for compare's second image): qemu's path_combine(), as for a backing
  // file or a vmdk extent.
  kImageDirectory = 0,
  // The working directory of the instar process, the name taken as given:
  // how qemu opens a qcow2's external data file.
  kWorkingDirectory = 1,
  // Another output of a producing command, which the host created before
  // the run beside device 0's target (a vmdk's flat extent): the name is
  // resolved as kImageDirectory resolves it, and the reply is that output's
  // device, writable as device 0 is; kNotFound when the host made no such
  // output. The host renames at the end only the outputs the guest opened
  // so. ABI version 12.
  kOutput = 2,
};

struct CallReply {
  int32_t error;  // a CallError
  uint32_t reserved;
  uint64_t value;
};
static_assert(sizeof(CallReply) == 16);

// One run of data in a device's file, [start, end): where lseek(SEEK_DATA)
// lands and where lseek(SEEK_HOLE) from there lands. kDataExtents lists the
// runs from its offset on, in order, each start >= the offset and >= the
// previous end; when it fills the whole buffer the list may go on after the
// last end, otherwise there is no data after the last one. One call instead
// of a kSeekData/kSeekHole pair per run: an exit costs 15-20 us under KVM.
struct DataExtent {
  uint64_t start;
  uint64_t end;
};
static_assert(sizeof(DataExtent) == 16);

constexpr uint64_t kNoData = UINT64_MAX;  // kSeekData past the last data
// Bytes per kRead/kWrite (ABI version 14; 1 MiB before): convert's
// 2 MiB step (qemu-img's buffer) in one call, not two. A call is an exit
// under KVM: a 1 GiB raw > qcow2 convert made 1563 of them at 1 MiB, and
// spent 118 ms in KVM_RUN (its own work included) of a 272 ms run.
constexpr uint64_t kMaxTransfer = 2u << 20;
constexpr uint64_t kMaxResult = 1u << 20;  // bytes in the one kEmit
constexpr uint64_t kMaxName = 4096;        // bytes in a kOpen name
constexpr uint64_t kMaxLog = 4096;         // bytes per kLog/kAbort
// Open devices per run: a split vmdk target's 257 files and the sources
// (64 before version 15).
constexpr uint32_t kMaxDevices = 384;
// The process backend's shared memory: the data window, room for the
// largest payload either way (kMaxTransfer, kMaxResult) from a buffer
// outside the arena, then the helper's arena.
constexpr uint64_t kProcessWindowBytes = 2u << 20;
constexpr uint64_t kProcessArenaBytes = 128ull << 20;
constexpr uint64_t kProcessSharedBytes = kProcessWindowBytes + kProcessArenaBytes;
// The furthest a kRead/kWrite range may end: a file offset is an off_t.
constexpr uint64_t kMaxRangeEnd = static_cast<uint64_t>(INT64_MAX);

// ---------------------------------------------------------------------------
// The operation config.

constexpr uint32_t kConfigMagic = 0x54534E49;  // "INST"
constexpr uint32_t kAbiVersion = 16;

// One per command instar implements, numbered in the command table
// (command_table.h): abi::Operation::k<Name>.
#define INSTAR_OPERATION_ENUMERATOR(name, Name, operation) k##Name = (operation),
enum class Operation : uint32_t {
  INSTAR_COMMAND_TABLE(INSTAR_OPERATION_ENUMERATOR, INSTAR_COMMAND_SKIPPED)
};
#undef INSTAR_OPERATION_ENUMERATOR

// `qemu-img info` of one image (the host walks a backing chain itself).
struct InfoConfig {
  uint32_t flags;  // reserved, 0
  uint32_t reserved;
};

// A secret object `qemu-img measure --object secret,...` made, as the
// guest sees it: its id and what LUKS asks of its data. The data itself
// never enters the sandbox (the size does not depend on it).
struct MeasureSecret {
  char id[56];      // NUL-terminated
  uint32_t flags;   // kSecret*
  uint32_t length;  // bytes of the data, for an encrypted secret's key check
};
static_assert(sizeof(MeasureSecret) == 64);
constexpr uint32_t kSecretValidUtf8 = 1u << 0;  // qcrypto_secret_lookup_as_utf8() takes it

// -l: which snapshot of the source to measure.
enum class MeasureSnapshotKind : uint32_t {
  kNone = 0,
  kIdOrName = 1,   // -l TEXT: `snapshot` is the id, else the name
  kIdAndName = 2,  // -l snapshot.id=I,snapshot.name=N: see snapshot_flags
};
constexpr uint32_t kSnapshotHasId = 1u << 0;    // snapshot_id holds snapshot.id
constexpr uint32_t kSnapshotHasName = 1u << 1;  // snapshot holds snapshot.name

// `qemu-img measure`. Either a source image (device 0) or a size.
struct MeasureConfig {
  uint32_t has_size;        // 1: --size mode, no source device
  uint32_t snapshot_kind;   // a MeasureSnapshotKind; not kNone only with a source
  uint64_t size;            // bytes, when has_size
  char target_format[16];   // NUL-terminated driver name after -O ("raw", "qcow2" ...)
  char options[1024];       // NUL-terminated text after -o, as the user typed it
  char snapshot[512];       // NUL-terminated: -l TEXT, or snapshot.name
  char snapshot_id[256];    // NUL-terminated: snapshot.id
  uint32_t snapshot_flags;  // kSnapshotHas*
  uint32_t secret_count;    // entries of secrets[] in use
  MeasureSecret secrets[16];
  uint32_t flags;  // kMeasure*
};
static_assert(sizeof(MeasureConfig) <= 3072);
// --instar-targets: predict vmdk, vpc and vhdx targets (instar's own
// measure) instead of refusing them as qemu-img does.
constexpr uint32_t kMeasureInstarTargets = 1u << 0;

// `qemu-img map`: the range to walk, as --start-offset and --max-length
// gave it (each at most INT64_MAX, as qemu-img's cvtnum() allows).
struct MapConfig {
  uint64_t start_offset;
  uint64_t max_length;      // only when has_max_length
  uint32_t has_max_length;  // 1: --max-length was given
  uint32_t reserved;
};

// `qemu-img compare A B`: A is device 0 (`filename`, `format_hint`), B is
// device 1, which the host opens before the run as it opens device 0.
struct CompareConfig {
  char filename2[512];    // NUL-terminated name the user gave for B
  uint32_t format_hint2;  // an instar::ImageFormat from -F, or 0 to probe
  uint32_t flags;         // kCompare*
};
constexpr uint32_t kCompareStrict = 1u << 0;  // -s

// `qemu-img create`: device 0 is the output, opened for writing under a
// temporary name (`filename` is the name the user gave). A backing file
// whose size the guest needs (no SIZE, no -u) it opens with kOpen on
// behalf of device 0, so a relative name starts from the new image's
// directory, as qemu resolves it.
struct CreateConfig {
  uint64_t size;            // bytes, when has_size
  uint32_t has_size;        // 1: SIZE was given
  uint32_t flags;           // kCreate*
  char target_format[16];   // NUL-terminated driver name after -f
  char options[1024];       // NUL-terminated -o text, as the user typed it
  char backing_file[512];   // NUL-terminated -b, as the user typed it
  char backing_format[16];  // NUL-terminated -F
  uint64_t now_seconds;     // CreateRequest::now_seconds
  uint8_t random[64];       // CreateRequest::random
};
static_assert(sizeof(CreateConfig) <= 3072);
constexpr uint32_t kCreateHasBacking = 1u << 0;        // -b was given
constexpr uint32_t kCreateHasBackingFormat = 1u << 1;  // -F was given
constexpr uint32_t kCreateUnsafe = 1u << 2;            // -u: the backing file is not opened
constexpr uint32_t kCreateSizeOnly = 1u << 3;          // report the size (kTagSize) and stop

// `qemu-img resize FILE [+-]SIZE`: device 0 is the image, opened
// read-write in place. The host parsed SIZE (qemu's size option syntax)
// and its sign; the guest resolves it against the image's current virtual
// size, as img_resize does after opening the image.
struct ResizeConfig {
  uint64_t size;           // bytes, as typed after the sign
  int32_t relative;        // 0: SIZE is the new size; +1/-1: grow/shrink by it
  uint32_t flags;          // kResize*
  uint32_t preallocation;  // an instar::Preallocation, when kResizeHasPreallocation
  uint32_t reserved;
};
constexpr uint32_t kResizeShrink = 1u << 0;            // --shrink
constexpr uint32_t kResizeHasPreallocation = 1u << 1;  // --preallocation was given

// `qemu-img amend -o OPTIONS FILE`: device 0 is the image, opened
// read-write in place.
struct AmendConfig {
  char options[1024];  // NUL-terminated -o text (every -o joined with ','), as typed
  uint32_t flags;      // kAmend*
  uint32_t reserved;
};
static_assert(sizeof(AmendConfig) <= 3072);
constexpr uint32_t kAmendForce = 1u << 0;  // --force

// `qemu-img dd`: the output is device 0, opened for writing under a
// temporary name as create's is (`filename` is of=), and the input is
// `input_device` (1), opened read-only as a named image, with its backing
// chain. When the host could not create the output (kDdNoOutput) the
// input is device 0 and the guest stops where bdrv_create() would have
// failed (dd_result.h). The operands are img_dd()'s, already parsed.
struct DdConfig {
  uint64_t block_size;    // bs= (1 to INT_MAX), 512 when not given
  uint64_t count;         // count= blocks, when kDdHasCount
  uint64_t skip;          // skip= blocks, when kDdHasSkip
  uint32_t flags;         // kDd*
  uint32_t input_device;  // 1, or 0 with kDdNoOutput
  uint32_t input_format;  // an instar::ImageFormat from -f, or 0 to probe
  uint32_t reserved;
  char target_format[16];    // NUL-terminated -O (default "raw")
  char input_filename[512];  // NUL-terminated if=
  uint64_t now_seconds;      // WriterEntropy::now_seconds (and CreateRequest's)
  uint8_t random[64];        // WriterEntropy::random (and CreateRequest's)
};
static_assert(sizeof(DdConfig) <= 3072);
constexpr uint32_t kDdHasCount = 1u << 0;  // count= was given
constexpr uint32_t kDdHasSkip = 1u << 1;   // skip= was given
constexpr uint32_t kDdNoOutput = 1u << 2;  // the host could not create of=

// `qemu-img convert [-f F] [-l SNAPSHOT] [-O F] [-o OPTIONS] [-c] [-S N]
// [-n] SRC... DST`: the output is device 0, created under a temporary name
// as dd's is (with -n: the existing target opened read-write in place, as
// resize's is), and the sources are devices 1 .. source_count, opened
// read-only as named images with their backing chains. When the host could
// not create the output (kConvertNoOutput) the sources are devices 0 ..
// source_count - 1 and the guest stops where bdrv_create() would have
// failed. The names of the sources are NUL-terminated, one after the other,
// in `source_names`. -B (or 10.1's -b) and -F are kept apart from the -o
// text, as img_convert() sets them into the parsed options after it
// (add_old_style_options) and words their refusal on its own.
constexpr uint32_t kMaxConvertSources = 64;
struct ConvertConfig {
  uint32_t flags;           // kConvert*
  uint32_t source_count;    // 1 .. kMaxConvertSources
  uint32_t source_format;   // an instar::ImageFormat from -f, or 0 to probe
  uint32_t min_sparse;      // -S in 512-byte sectors (default 8; 0: none)
  char target_format[16];   // NUL-terminated -O (default "raw")
  char options[1024];       // NUL-terminated -o text (every -o joined with ','), as typed
  uint32_t snapshot_kind;   // a MeasureSnapshotKind (-l), for source 1
  uint32_t snapshot_flags;  // kSnapshotHas*
  char snapshot[256];       // NUL-terminated: -l TEXT, or snapshot.name
  char snapshot_id[128];    // NUL-terminated: snapshot.id
  uint64_t now_seconds;     // WriterEntropy::now_seconds (and CreateRequest's)
  uint8_t random[64];       // WriterEntropy::random (and CreateRequest's)
  char source_names[1024];  // the sources' names, each NUL-terminated
  char backing_file[496];   // NUL-terminated -B, as typed (kConvertHasBacking)
  char backing_format[16];  // NUL-terminated -F (kConvertHasBackingFormat)
};
static_assert(sizeof(ConvertConfig) <= 3072);
constexpr uint32_t kConvertCompress = 1u << 0;          // -c
constexpr uint32_t kConvertSkipCreate = 1u << 1;        // -n: device 0 is the existing target
constexpr uint32_t kConvertNoOutput = 1u << 2;          // the host could not create DST
constexpr uint32_t kConvertHasBacking = 1u << 3;        // -B was given
constexpr uint32_t kConvertHasBackingFormat = 1u << 4;  // -F was given
constexpr uint32_t kConvertProgress = 1u << 5;          // -p on a terminal: report kProgress

struct OperationConfig {
  uint32_t magic;         // kConfigMagic
  uint32_t abi_version;   // kAbiVersion
  uint32_t operation;     // an Operation
  uint32_t size;          // sizeof(OperationConfig)
  uint16_t compat_major;  // the qemu-img version to behave as
  uint16_t compat_minor;
  uint16_t compat_micro;
  uint16_t reserved0;
  uint32_t format_hint;  // an instar::ImageFormat from -f, or 0 to probe
  uint32_t reserved1;
  char filename[512];  // NUL-terminated name the user gave for device 0
  union {
    InfoConfig info;
    MeasureConfig measure;
    MapConfig map;
    CompareConfig compare;
    CreateConfig create;
    ResizeConfig resize;
    AmendConfig amend;
    DdConfig dd;
    ConvertConfig convert;
    uint8_t pad[3072];
  };
};
static_assert(sizeof(OperationConfig) == 3616);
static_assert(offsetof(OperationConfig, filename) == 32);
static_assert(offsetof(OperationConfig, info) == 544);
static_assert(sizeof(CompareConfig) <= 3072);

// ---------------------------------------------------------------------------
// The result stream: one ResultHeader, then records until `length` bytes.
// The host decodes it as untrusted input (result_codec.h).

constexpr uint32_t kResultMagic = 0x53455249;  // "IRES"

struct ResultHeader {
  uint32_t magic;      // kResultMagic
  uint32_t operation;  // the Operation this answers
  uint32_t length;     // bytes of records after this header
  uint32_t reserved;
};
static_assert(sizeof(ResultHeader) == 16);

enum class RecordType : uint8_t {
  kU64 = 1,    // 8-byte payload
  kI64 = 2,    // 8-byte payload
  kBool = 3,   // 1-byte payload, 0 or 1
  kBytes = 4,  // a string or blob; `length` bytes
  kBegin = 5,  // opens a nested object or list entry; no payload
  kEnd = 6,    // closes the innermost kBegin; no payload
};

// Each record is this header, `length` payload bytes, then zero padding to a
// multiple of 8. Tags are defined per operation (info_result.h,
// measure_result.h); tag 1 is reserved for kError in every operation.
struct RecordHeader {
  uint16_t tag;
  uint8_t type;  // a RecordType
  uint8_t reserved;
  uint32_t length;
};
static_assert(sizeof(RecordHeader) == 8);

constexpr uint16_t kTagError = 1;         // kBegin, then kTagErrorCode (u64) and kTagErrorMessage
constexpr uint16_t kTagErrorCode = 2;     // an instar::StatusCode
constexpr uint16_t kTagErrorMessage = 3;  // bytes: the one line for the user
constexpr uint32_t kMaxRecordDepth = 8;

}  // namespace instar::abi

#endif  // INSTAR_GUEST_ABI_H_
