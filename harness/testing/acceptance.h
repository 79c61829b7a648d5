// Helpers of the acceptance tests (harness/conform/*_acceptance_test.cc,
// measure_round_trip_test.cc): the matrix as the tree has it, a child run
// in the harness's environment, and qemu-img check's verdict.
#ifndef INSTAR_HARNESS_TESTING_ACCEPTANCE_H_
#define INSTAR_HARNESS_TESTING_ACCEPTANCE_H_

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "harness/matrix/matrix.h"
#include "harness/run/child.h"

namespace instar::harness::testing {

// `text` with every `from` replaced by `to`.
inline std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// `program` with `args`, in the environment every harness child gets,
// within two minutes.
inline ChildResult RunChild(ChildRunner& runner, const std::filesystem::path& program,
                            const std::vector<std::string>& args) {
  ChildRequest request;
  request.executable = program;
  request.arguments = args;
  request.environment = MinimalEnvironment();
  request.timeout = std::chrono::seconds(120);
  return runner.Run(request);
}

// The tree's matrix (qemu-img-binaries/x86_64), or the system's qemu-img
// alone where it has none.
inline Matrix TheMatrix(ChildRunner& runner) {
  MatrixOptions options;
  const std::filesystem::path in_tree =
      std::filesystem::path(INSTAR_SOURCE_ROOT) / "qemu-img-binaries" / "x86_64";
  std::error_code ec;
  if (std::filesystem::is_directory(in_tree, ec)) options.binaries = in_tree;
  return DiscoverMatrix(options, runner);
}

// Whether `qemu-img check --output=json` found the image clean: exit 0
// with no error or leak counts, or qemu-img's own "does not support
// checks" (exit 63) for a format without a check.
inline bool CheckIsClean(const ChildResult& check, std::string* why) {
  if (check.exit_code == 63 && check.err.find("does not support checks") != std::string::npos) {
    return true;
  }
  if (check.exit_code != 0) {
    *why = "exit " + std::to_string(check.exit_code) + ": " + check.out + check.err;
    return false;
  }
  boost::system::error_code ec;
  const boost::json::value report = boost::json::parse(check.out, ec);
  if (ec || !report.is_object()) {
    *why = "not JSON: " + check.out;
    return false;
  }
  for (const char* key : {"corruptions", "leaks", "check-errors"}) {
    const boost::json::value* count = report.as_object().if_contains(key);
    if (count != nullptr && !(count->is_int64() && count->as_int64() == 0)) {
      *why = std::string(key) + " in " + check.out;
      return false;
    }
  }
  return true;
}

}  // namespace instar::harness::testing

#endif  // INSTAR_HARNESS_TESTING_ACCEPTANCE_H_
