// The check view over a decoded result (check_result.h), read like every
// other view through FieldReader.
#include "vmm/result/check_view.h"

#include "instar/guest/check_result.h"
#include "vmm/result/field_reader.h"

namespace instar::vmm {

namespace {

using namespace check_result;

struct Counter {
  uint16_t tag;
  const char* name;
  uint64_t CheckCounters::*field;
};

constexpr Counter kCounters[] = {
    {kTagCorruptions, "corruptions", &CheckCounters::corruptions},
    {kTagLeaks, "leaks", &CheckCounters::leaks},
    {kTagCheckErrors, "check errors", &CheckCounters::check_errors},
    {kTagImageEndOffset, "image end offset", &CheckCounters::image_end_offset},
    {kTagTotalClusters, "total clusters", &CheckCounters::total_clusters},
    {kTagAllocatedClusters, "allocated clusters", &CheckCounters::allocated_clusters},
    {kTagFragmentedClusters, "fragmented clusters", &CheckCounters::fragmented_clusters},
    {kTagCompressedClusters, "compressed clusters", &CheckCounters::compressed_clusters},
};

}  // namespace

bool ReadCheckView(const DecodedResult& result, CheckView* out, std::string* error) {
  FieldReader f(result.records, "result", error);
  f.Text(kTagFormat, "format", &out->format);
  std::optional<std::string> log;
  f.Text(kTagLog, "log", &log);
  std::optional<bool> not_supported;
  f.Bool(kTagNotSupported, "not-supported mark", &not_supported);
  std::optional<std::string> failure;
  f.Text(kTagFailure, "failure", &failure);
  std::optional<uint64_t> counters[sizeof(kCounters) / sizeof(kCounters[0])];
  size_t present = 0;
  for (size_t i = 0; i < sizeof(kCounters) / sizeof(kCounters[0]); ++i) {
    f.U64(kCounters[i].tag, kCounters[i].name, &counters[i]);
    if (counters[i]) ++present;
  }
  if (!f.Done()) return false;

  const auto fail = [&](const char* what) {
    *error = std::string("the result has ") + what;
    return false;
  };
  if (log) {
    if (log->empty() || log->back() != '\n') return fail("a log that does not end a line");
    out->log = *log;
  }
  const int outcomes = (not_supported ? 1 : 0) + (failure ? 1 : 0) + (present > 0 ? 1 : 0);
  if (outcomes != 1) return fail("not exactly one outcome");
  if (not_supported) {
    if (!*not_supported) return fail("a false not-supported mark");
    out->outcome = CheckView::Outcome::kNotSupported;
    return true;
  }
  if (failure) {
    if (failure->empty() || failure->find('\n') != std::string::npos) {
      return fail("a malformed failure");
    }
    out->outcome = CheckView::Outcome::kFailed;
    out->failure = *failure;
    return true;
  }
  if (present != sizeof(kCounters) / sizeof(kCounters[0])) return fail("a counter missing");
  for (size_t i = 0; i < sizeof(kCounters) / sizeof(kCounters[0]); ++i) {
    if (*counters[i] > static_cast<uint64_t>(INT64_MAX)) return fail("a counter past INT64_MAX");
    out->counters.*kCounters[i].field = *counters[i];
  }
  out->outcome = CheckView::Outcome::kChecked;
  return true;
}

}  // namespace instar::vmm
