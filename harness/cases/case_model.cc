#include "harness/cases/case_model.h"

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

}  // namespace instar::harness
