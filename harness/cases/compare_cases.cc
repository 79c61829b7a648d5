// compare's part of the harness: cases/compare.json and the cases it plans.
//
//   {"command": "compare",
//    "cases": [{"case", "a", "b", "args", "flatten"?}...]}
//
// A case is `qemu-img compare ARGS A B`, in the bucket of A's format
// (compare-human only: compare has no JSON form). A and B name corpus
// images by id, which the case turns into $TESTDATA_ROOT/<file>, or are
// "$FILENAME": the scratch copy that "flatten" makes first,
//
//   qemu-img convert -O raw $TESTDATA_ROOT/<flatten's image> $FILENAME
//
// (a step of its own, "flatten"): a backing chain against its flattened
// copy. ARGS are compare's options as typed (-s, -f F, -F F). qemu-img's
// exit status is the answer (0 identical, 1 different, 2 an error) and is
// recorded like any output.
#include <set>
#include <string>
#include <vector>

#include "harness/cases/case_file.h"

namespace instar::harness {

namespace {

struct ComparePair {
  std::string name;
  std::string a;  // an image id, or $FILENAME
  std::string b;
  std::vector<std::string> args;
  std::string flatten;  // an image id; empty: no flatten step
};

void CheckImageId(const Entry& entry, const Manifest& manifest, const std::string& id,
                  bool scratch_allowed) {
  if (scratch_allowed && id == kFilenamePlaceholder) return;
  if (manifest.Find(id) == nullptr) {
    entry.Fail("\"" + id + "\" is not an image of the manifest" +
               (scratch_allowed ? " (nor $FILENAME, made by \"flatten\")" : ""));
  }
}

ComparePair ParsePair(const Entry& entry, const boost::json::object& object,
                      const Manifest& manifest) {
  entry.CheckKeys(object, {"case", "a", "b", "args"}, {"flatten"});
  ComparePair pair;
  pair.name = entry.String(object, "case");
  CheckCaseName(entry, pair.name);
  if (object.contains("flatten")) pair.flatten = entry.String(object, "flatten");
  const bool has_scratch = !pair.flatten.empty();
  if (has_scratch) CheckImageId(entry, manifest, pair.flatten, false);
  pair.a = entry.String(object, "a");
  CheckImageId(entry, manifest, pair.a, has_scratch);
  pair.b = entry.String(object, "b");
  CheckImageId(entry, manifest, pair.b, has_scratch);
  if (has_scratch && pair.a != kFilenamePlaceholder && pair.b != kFilenamePlaceholder) {
    entry.Fail("\"flatten\" makes $FILENAME, which neither \"a\" nor \"b\" compares");
  }
  if (pair.a == kFilenamePlaceholder) entry.Fail("\"a\" names the bucket: make it a corpus image");
  pair.args = entry.StringArray(object, "args");
  return pair;
}

void ReadCompareFile(const CaseFileJson& json, CaseFile& file) {
  json.top.CheckKeys(json.root, {"command", "cases"}, {"description"});
  file.own = ReadCaseList(
      json, "cases",
      [&](const Entry& entry, const boost::json::object& object) {
        return ParsePair(entry, object, json.manifest);
      },
      [](const ComparePair&) { return std::string(); });
}

std::string Operand(const Manifest& manifest, const std::string& id) {
  if (id == kFilenamePlaceholder) return id;
  return ImagePath(*manifest.Find(id));
}

void PlanCompare(const CaseFile& file, const Manifest& manifest, const OutputTypeSpec& type,
                 std::vector<CaseSpec>& out) {
  for (const auto& pair : std::any_cast<const std::vector<ComparePair>&>(file.own)) {
    const ManifestImage* a = manifest.Find(pair.a);
    CaseSpec spec{file.command, type.name, a->format, pair.name, {}, {}, {}};
    spec.parameters["a"] = pair.a;
    spec.parameters["b"] = pair.b;
    spec.parameters["args"] = ToJsonArray(pair.args);
    if (!pair.flatten.empty()) {
      spec.parameters["flatten"] = pair.flatten;
      spec.steps.push_back({"flatten",
                            {std::string(kBinaryWord), "convert", "-O", "raw",
                             Operand(manifest, pair.flatten), std::string(kFilenamePlaceholder)}});
    }
    std::vector<std::string> compare = {std::string(kBinaryWord), "compare"};
    AppendAll(compare, pair.args);
    compare.push_back(Operand(manifest, pair.a));
    compare.push_back(Operand(manifest, pair.b));
    spec.steps.push_back({"compare", std::move(compare)});
    out.push_back(std::move(spec));
  }
}

void CheckCompareParameters(const Entry& entry, const boost::json::object& parameters) {
  CheckParameterFields(entry, parameters,
                       {{"a"},
                        {"b"},
                        {"args", ParameterKind::kStrings},
                        {"flatten", ParameterKind::kString, /*optional=*/true}});
}

}  // namespace

CommandSpec CompareCases() {
  CommandSpec spec;
  spec.output_types = {{"compare-human", {}}};
  spec.steps = {"flatten", "compare"};
  spec.read_case_file = ReadCompareFile;
  spec.plan = PlanCompare;
  spec.check_parameters = CheckCompareParameters;
  return spec;
}

}  // namespace instar::harness
