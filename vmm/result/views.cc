// The measure view over a decoded result (info's is in info_view.cc). Each
// field is looked up once and checked for its type; a tag given twice is a
// malformed result, since the guest writes each field once.
#include "instar/guest/measure_result.h"
#include "vmm/result/measure_view.h"

namespace instar::vmm {

namespace {

int Count(const std::vector<ResultRecord>& records, uint16_t tag) {
  int n = 0;
  for (const ResultRecord& r : records) n += r.tag == tag ? 1 : 0;
  return n;
}

// The one record `tag` of `type`; nullptr with *error set otherwise.
const ResultRecord* One(const DecodedResult& result, uint16_t tag, abi::RecordType type,
                        const char* name, bool optional, std::string* error) {
  const int n = Count(result.records, tag);
  if (n == 0) {
    if (!optional) *error = std::string("the result has no ") + name;
    return nullptr;
  }
  const ResultRecord* r = FindRecord(result.records, tag);
  if (n > 1 || r->type != type) {
    *error = std::string("the result has a malformed ") + name;
    return nullptr;
  }
  return r;
}

}  // namespace

bool ReadMeasureView(const DecodedResult& result, MeasureView* out, std::string* error) {
  using namespace measure_result;
  const ResultRecord* required =
      One(result, kTagRequired, abi::RecordType::kU64, "required size", false, error);
  const ResultRecord* full =
      One(result, kTagFullyAllocated, abi::RecordType::kU64, "fully allocated size", false, error);
  if (required == nullptr || full == nullptr) return false;
  error->clear();
  const ResultRecord* bitmaps =
      One(result, kTagBitmaps, abi::RecordType::kU64, "bitmaps size", true, error);
  if (!error->empty()) return false;
  out->required = required->number;
  out->fully_allocated = full->number;
  if (bitmaps != nullptr) out->bitmaps = bitmaps->number;
  return true;
}

}  // namespace instar::vmm
