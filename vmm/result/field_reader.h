// FieldReader: the one way the host reads the fields of a decoded result.
//
// A view (info, measure, the error object) reads one record list at a time,
// the top level or one object, through a FieldReader. The stream comes from
// the sandbox and is untrusted, so each getter claims its tag and checks what
// it finds: the record's type, at most one record for a single field (exactly
// one when it is required), and no NUL in text (the guest cuts qemu's C
// strings at their NUL). Done() then fails on any record no getter claimed:
// a field this host does not know is refused, never skipped, so a result is
// read whole or not at all, whichever view reads it.
//
// The first failure is kept, in the words "the <where> has <what>" ("the
// result has no required size"), and every later getter is a no-op.
#ifndef INSTAR_VMM_RESULT_FIELD_READER_H_
#define INSTAR_VMM_RESULT_FIELD_READER_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "instar/guest/abi.h"
#include "vmm/result/result_decoder.h"

namespace instar::vmm {

class FieldReader {
 public:
  // `records` must outlive the reader; `where` names the list in messages.
  FieldReader(const std::vector<ResultRecord>& records, std::string where, std::string* error);

  bool ok() const { return ok_; }

  // A required field: fails when absent. *out is left alone then.
  bool U64(uint16_t tag, const char* name, uint64_t* out);
  bool Text(uint16_t tag, const char* name, std::string* out);
  // Any bytes, NULs too.
  bool Bytes(uint16_t tag, const char* name, std::string* out);
  // An optional field: *out is set only when present.
  bool U64(uint16_t tag, const char* name, std::optional<uint64_t>* out);
  bool Bool(uint16_t tag, const char* name, std::optional<bool>* out);
  bool Text(uint16_t tag, const char* name, std::optional<std::string>* out);

  // Every record `tag`, each an object.
  std::vector<const ResultRecord*> Objects(uint16_t tag, const char* name);
  // Every record `tag`, each of `type`.
  std::vector<const ResultRecord*> All(uint16_t tag, abi::RecordType type, const char* name);

  // False when a getter failed or a record's tag was claimed by none.
  bool Done();

 private:
  bool Fail(const std::string& what);
  // The one record `tag` of `type`, or null (failing when it is repeated,
  // mistyped, or absent but required).
  const ResultRecord* One(uint16_t tag, abi::RecordType type, const char* name, bool required);
  bool CheckText(const ResultRecord& record, const char* name);

  const std::vector<ResultRecord>& records_;
  std::string where_;
  std::string* error_;
  std::set<uint16_t> claimed_;
  bool ok_ = true;
};

}  // namespace instar::vmm

#endif  // INSTAR_VMM_RESULT_FIELD_READER_H_
