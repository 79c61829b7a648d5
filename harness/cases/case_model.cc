#include "harness/cases/case_model.h"

#include <fnmatch.h>

namespace instar::harness {

namespace {

bool AnyArgumentContains(const CaseSpec& spec, std::string_view word) {
  for (const auto& step : spec.steps) {
    for (const auto& argument : step.argv) {
      if (argument.find(word) != std::string::npos) return true;
    }
  }
  return false;
}

}  // namespace

bool CaseSpec::UsesCorpus() const { return AnyArgumentContains(*this, kTestdataPlaceholder); }

bool CaseSpec::UsesScratchFile() const { return AnyArgumentContains(*this, kFilenamePlaceholder); }

bool CaseSpec::MatchesAnyGlob(const std::vector<std::string>& globs) const {
  if (globs.empty()) return true;
  const std::string id = Id();
  for (const auto& glob : globs) {
    if (::fnmatch(glob.c_str(), name.c_str(), 0) == 0) return true;
    if (::fnmatch(glob.c_str(), id.c_str(), 0) == 0) return true;
  }
  return false;
}

}  // namespace instar::harness
