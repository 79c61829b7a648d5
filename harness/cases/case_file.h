// Case files: cases/<command>.json, one per command of the command table
// (commands.h).
//
// They are data with a strict schema (docs/harness.md, "Case files"): an
// unknown key, a missing field, a value of the wrong type, a bad case name,
// size or option string, a duplicate case or an unknown target or tier is
// one HarnessError line naming the file and the entry. ParseCaseFile checks;
// PlanCases turns a checked file into CaseSpecs, one per case and output type.
// What a file holds beside "command" (and an optional "description") is its
// command's: the command's read_case_file hook checks and reads it with the
// helpers below, and its plan hook plans the cases
// (cases/<command>_cases.cc).
#ifndef INSTAR_HARNESS_CASES_CASE_FILE_H_
#define INSTAR_HARNESS_CASES_CASE_FILE_H_

#include <any>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "harness/cases/case_model.h"
#include "harness/cases/commands.h"
#include "harness/cases/manifest.h"
#include "harness/core/json_schema.h"

namespace instar::harness {

// The -f word qemu-img wants for a target: the bucket "vhd" is qemu's "vpc".
std::string QemuFormatName(std::string_view target);

struct SizedCase {
  std::string name;
  std::string size;
  std::string target;
  std::vector<std::string> options;  // each passed as one -o
};

// An image a command leaves out of its selection, and why (a qemu-img that
// runs for minutes on it: docs/corpus.md, "Time").
struct ExcludedImage {
  std::string image;
  std::string reason;
};

struct ImageSelection {
  std::optional<std::vector<std::string>> tiers;  // nullopt: every image
  std::vector<std::string> targets;               // measure only
  std::vector<ExcludedImage> excluded;            // "exclude"
};

// A case given by its command line: the arguments after the command, as
// typed (measure "cli-cases").
struct CliCase {
  std::string name;
  std::vector<std::string> args;
};

struct CaseFile {
  std::string command;
  std::vector<SizedCase> sized_cases;  // measure "size-cases", create "cases"
  std::vector<CliCase> cli_cases;      // measure "cli-cases"
  std::optional<ImageSelection> images;
  // A command whose cases have a shape of their own keeps them here, as its
  // read_case_file hook parsed them, for its plan hook: resize's
  // std::vector<ResizeCase>.
  std::any own;
};

CaseFile ParseCaseFile(const std::filesystem::path& path, const Manifest& manifest);

// Plans every case of `file` for each of `output_types` (names from the
// command's CommandSpec; all of them when empty), output type by output
// type, in file order.
std::vector<CaseSpec> PlanCases(const CaseFile& file, const Manifest& manifest,
                                const std::vector<std::string>& output_types);

// For a command's own part (cases/<command>_cases.cc) -------------------------

// A case file's top-level object, as a command's read_case_file hook gets it.
struct CaseFileJson {
  const std::string& file;  // the path, for messages
  const Entry& top;
  const boost::json::object& root;
  const Manifest& manifest;
};

// The array `key` of sized cases: {"case", "size", "target", "options"}, all
// required. A case's bucket is `fixed_bucket`, or its target when that is
// empty; a name appears once per bucket.
std::vector<SizedCase> ReadSizedCases(const CaseFileJson& json, const char* key,
                                      const std::string& fixed_bucket);
// The array `key` of cases given by their command line: {"case", "args"},
// both required; "args" a non-empty array of strings (an empty string is an
// argument like any other) that does not choose the output format itself
// (no --output: the output type does). Names and argument lists appear once.
std::vector<CliCase> ReadCliCases(const CaseFileJson& json, const char* key);
// "image-cases": {"tiers": [...]} (optional), and with `with_targets` a
// required "targets": [...] as well. "exclude" (optional): [{"image": ID,
// "reason": TEXT}, ...], images of the selected tiers the command leaves
// out, each once, each with a reason.
ImageSelection ReadImageSelection(const CaseFileJson& json, bool with_targets);

// Checks a case's own string fields as ParseSizedCase does: a name that is
// a plain file name, a target of the known ones, options each of the form
// key=value[,key=value...]. Fails `entry` otherwise.
void CheckCaseName(const Entry& entry, const std::string& name);
// A size string as ParseSizeString reads it.
void CheckSize(const Entry& entry, const std::string& size);
void CheckTarget(const Entry& entry, const std::string& target);
void CheckOptions(const Entry& entry, const std::vector<std::string>& options);
// Each entry of the array `key` of the case file, as an object, with its
// Entry ("cases[3] \"name\""), for a command's own reader.
void ForEachListEntry(const CaseFileJson& json, const char* key,
                      const std::function<void(const Entry&, const boost::json::object&)>& read);

// "duplicate case \"NAME\"", and ` in bucket "BUCKET"` when there is one.
std::string DuplicateCase(const std::string& name, const std::string& bucket);

// A command's own list of cases: each object of the array `key` read by
// parse(entry, object) -> Case, no two with one name in one bucket
// (bucket_of(case); "" for a list whose names are unique outright).
template <typename Parse, typename BucketOf>
auto ReadCaseList(const CaseFileJson& json, const char* key, Parse parse, BucketOf bucket_of) {
  using Case =
      decltype(parse(std::declval<const Entry&>(), std::declval<const boost::json::object&>()));
  std::vector<Case> cases;
  std::set<std::string> seen;  // bucket/name
  ForEachListEntry(json, key, [&](const Entry& entry, const boost::json::object& object) {
    Case read = parse(entry, object);
    const std::string bucket = bucket_of(read);
    if (!seen.insert(bucket + "/" + read.name).second) {
      entry.Fail(DuplicateCase(read.name, bucket));
    }
    cases.push_back(std::move(read));
  });
  return cases;
}

// qemu-img create -f FORMAT [-o O]... PATH SIZE, as a step's argv.
std::vector<std::string> CreateArgv(const std::string& format,
                                    const std::vector<std::string>& options,
                                    const std::string& path, const std::string& size);

// qemu-img info [the output type's flags] PATH: the last step of a
// producing command's pipeline.
std::vector<std::string> InfoArgv(const OutputTypeSpec& type, const std::string& path);

// What a value of meta.json's "parameters" may be.
enum class ParameterKind {
  kString,     // a non-empty string
  kStrings,    // an array of non-empty strings: "options"
  kArguments,  // a non-empty array of strings, any of them empty: "args"
  kBool,
  kUnsigned,
};
struct ParameterField {
  std::string_view key;
  ParameterKind kind = ParameterKind::kString;
  bool optional = false;  // a key the planner leaves out for some cases
};
// Every field present (unless optional) with its kind, and no other key: a
// command's check_parameters hook.
void CheckParameterFields(const Entry& entry, const boost::json::object& parameters,
                          std::initializer_list<ParameterField> fields);

// A command whose every case is `<command> [flags of the output type]
// $TESTDATA_ROOT/<image>` for each selected corpus image (info, check,
// map): its case file is {"command", "image-cases": {"tiers"?}}, its case
// is named by the image's id in the bucket of the image's format, its
// parameters are "image" and "format". The returned spec has every hook
// and a single step named after the command; the caller sets the output
// types.
CommandSpec ImageCommandCases(const std::string& step);

// The manifest's images `selection` picks (its tiers, less its excluded
// images), in manifest order.
std::vector<const ManifestImage*> SelectImages(const Manifest& manifest,
                                               const ImageSelection& selection);
// "$TESTDATA_ROOT/<the image's first file>": how a step names a corpus image.
std::string ImagePath(const ManifestImage& image);
boost::json::array ToJsonArray(const std::vector<std::string>& strings);
void AppendAll(std::vector<std::string>& to, const std::vector<std::string>& from);
// Each option as "-o" and the option.
void AppendOptions(std::vector<std::string>& argv, const std::vector<std::string>& options);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_CASES_CASE_FILE_H_
