#include "harness/conform/divergences.h"

#include <fnmatch.h>

#include <algorithm>
#include <set>

#include "harness/cases/case_file.h"
#include "harness/cases/names.h"
#include "harness/core/files.h"
#include "harness/core/json_schema.h"
#include "harness/core/words.h"
#include "harness/matrix/matrix.h"

namespace instar::harness {

namespace {

const std::vector<std::string>& KnownFormats() {
  static const std::vector<std::string> formats = {"raw", "qcow2", "vmdk",  "vpc",
                                                   "vhd", "vhdx",  "_size", "_cli"};
  return formats;
}

std::vector<std::string> KnownOutputTypes() {
  std::vector<std::string> types;
  for (const auto& command : Commands()) {
    for (const auto& type : command.output_types) types.push_back(type.name);
  }
  return types;
}

bool MatchesAnyGlob(const std::vector<std::string>& globs, const CaseScope& scope) {
  const std::string id = scope.bucket + "/" + scope.name;
  for (const auto& glob : globs) {
    if (::fnmatch(glob.c_str(), scope.name.c_str(), 0) == 0) return true;
    if (::fnmatch(glob.c_str(), id.c_str(), 0) == 0) return true;
  }
  return false;
}

// A narrowing list: present means non-empty.
std::vector<std::string> OptionalList(const Entry& entry, const boost::json::object& object,
                                      std::string_view key) {
  if (!object.contains(boost::json::string_view(key.data(), key.size()))) return {};
  std::vector<std::string> list = entry.StringArray(object, key);
  if (list.empty()) {
    entry.Fail("\"" + std::string(key) + "\" is empty (leave it out to cover every one)");
  }
  return list;
}

Divergence ParseEntry(const Entry& entry, const boost::json::value& value,
                      const std::vector<std::string>& output_types) {
  const auto& object = entry.AsObject(value);
  entry.CheckKeys(object, {"name", "output-types", "reason"},
                  {"filter", "skip", "stderr", "difffuzz", "formats", "versions", "cases"});
  Divergence d;
  d.name = entry.String(object, "name");
  if (!IsSafeName(d.name)) entry.Fail("bad name (it must match [A-Za-z0-9_][A-Za-z0-9._-]*)");
  d.reason = entry.String(object, "reason");
  const bool has_filter = object.contains("filter");
  const bool has_skip = object.contains("skip");
  const bool has_stderr = object.contains("stderr");
  const bool has_difffuzz = object.contains("difffuzz");
  if (int{has_filter} + int{has_skip} + int{has_stderr} + int{has_difffuzz} != 1) {
    entry.Fail(
        "needs exactly one of \"filter\" (a filter name), \"skip\" (case globs), "
        "\"stderr\" (case globs) and \"difffuzz\" (script globs)");
  }

  d.output_types = entry.StringArray(object, "output-types");
  if (d.output_types.empty()) entry.Fail("\"output-types\" is empty");
  for (const auto& type : d.output_types) {
    if (!Contains(output_types, type)) {
      entry.Fail("unknown output type \"" + type + "\" (known: " + JoinWords(output_types) + ")");
    }
  }
  d.formats = OptionalList(entry, object, "formats");
  for (const auto& format : d.formats) {
    if (!Contains(KnownFormats(), format)) {
      entry.Fail("unknown format \"" + format + "\" (known: " + JoinWords(KnownFormats()) + ")");
    }
  }
  d.versions = OptionalList(entry, object, "versions");
  for (const auto& version : d.versions) {
    if (!ParseVersionText(version)) entry.Fail("bad version \"" + version + "\" (X.Y.Z)");
  }

  if (has_filter) {
    const std::string name = entry.String(object, "filter");
    d.filter = FindFilter(name);
    if (d.filter == nullptr) {
      std::vector<std::string> names;
      for (const auto& filter : Filters()) names.emplace_back(filter.name);
      entry.Fail("unknown filter \"" + name + "\" (known: " + JoinWords(names) + ")");
    }
    for (const auto& type : d.output_types) {
      if (SyntaxOfOutputType(type) != d.filter->syntax) {
        entry.Fail("filter \"" + name + "\" reads " + SyntaxName(d.filter->syntax) +
                   " output, but \"" + type + "\" is " + SyntaxName(SyntaxOfOutputType(type)));
      }
    }
    d.cases = OptionalList(entry, object, "cases");
  } else {
    if (object.contains("cases")) {
      entry.Fail(
          "\"cases\" narrows a filter entry; a skip entry lists its cases in \"skip\", a "
          "stderr entry in \"stderr\", a difffuzz entry its scripts in \"difffuzz\"");
    }
    if (has_skip) {
      d.skip = entry.StringArray(object, "skip");
      if (d.skip.empty()) entry.Fail("\"skip\" is empty (it lists the cases to skip)");
    } else if (has_stderr) {
      d.stderr_cases = entry.StringArray(object, "stderr");
      if (d.stderr_cases.empty()) {
        entry.Fail("\"stderr\" is empty (it lists the cases whose stderr differs)");
      }
    } else {
      d.difffuzz = entry.StringArray(object, "difffuzz");
      if (d.difffuzz.empty()) {
        entry.Fail("\"difffuzz\" is empty (it lists the scripts it explains)");
      }
    }
  }
  return d;
}

}  // namespace

Divergences ParseDivergencesText(std::string_view text, const std::string& origin) {
  const boost::json::value document = ParseJsonText(text, origin);
  Entry top(origin, "");
  const auto& root = top.AsObject(document);
  top.CheckKeys(root, {"divergences"}, {"description"});
  if (root.contains("description") && !root.at("description").is_string()) {
    top.Fail("\"description\" must be a string");
  }
  const auto& array = top.Array(root, "divergences");
  const std::vector<std::string> output_types = KnownOutputTypes();
  Divergences divergences;
  std::set<std::string> names;
  for (size_t i = 0; i < array.size(); ++i) {
    std::string where = "divergences[" + std::to_string(i) + "]";
    if (array[i].is_object()) {
      auto it = array[i].get_object().find("name");
      if (it != array[i].get_object().end() && it->value().is_string()) {
        where += " \"" + std::string(it->value().get_string()) + "\"";
      }
    }
    Entry entry(origin, where);
    Divergence d = ParseEntry(entry, array[i], output_types);
    if (!names.insert(d.name).second) entry.Fail("duplicate name \"" + d.name + "\"");
    divergences.entries.push_back(std::move(d));
  }
  return divergences;
}

Divergences ParseDivergencesFile(const std::filesystem::path& path) {
  return ParseDivergencesText(ReadFile(path), path.string());
}

bool Covers(const Divergence& entry, const CaseScope& scope) {
  if (!Contains(entry.output_types, scope.output_type)) return false;
  if (!entry.formats.empty() && !Contains(entry.formats, scope.bucket)) return false;
  if (!entry.versions.empty()) {
    bool any = std::any_of(scope.versions.begin(), scope.versions.end(),
                           [&](const std::string& v) { return Contains(entry.versions, v); });
    if (!any) return false;
  }
  if (entry.is_skip()) return MatchesAnyGlob(entry.skip, scope);
  if (entry.is_stderr()) return MatchesAnyGlob(entry.stderr_cases, scope);
  if (entry.is_difffuzz()) return true;  // the script is matched by difffuzz itself
  return entry.cases.empty() || MatchesAnyGlob(entry.cases, scope);
}

const Divergence* FindSkip(const Divergences& divergences, const CaseScope& scope) {
  for (const auto& entry : divergences.entries) {
    if (entry.is_skip() && Covers(entry, scope)) return &entry;
  }
  return nullptr;
}

const Divergence* FindStderrDivergence(const Divergences& divergences, const CaseScope& scope) {
  for (const auto& entry : divergences.entries) {
    if (entry.is_stderr() && Covers(entry, scope)) return &entry;
  }
  return nullptr;
}

std::string Normalise(std::string_view text, const Divergences& divergences, const CaseScope& scope,
                      std::vector<std::string>* applied) {
  std::string out(text);
  for (const auto& entry : divergences.entries) {
    if (entry.filter == nullptr || !Covers(entry, scope)) continue;
    std::string filtered = entry.filter->apply(out);
    if (applied != nullptr && filtered != out) applied->push_back(entry.name);
    out = std::move(filtered);
  }
  return out;
}

}  // namespace instar::harness
