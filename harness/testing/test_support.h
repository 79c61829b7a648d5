// Helpers for the harness tests: a temporary directory that removes itself,
// file helpers, the message of an expected error, and where the tree and
// the system qemu-img are.
#ifndef INSTAR_HARNESS_TESTING_TEST_SUPPORT_H_
#define INSTAR_HARNESS_TESTING_TEST_SUPPORT_H_

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>

#include "harness/core/error.h"

namespace instar::harness::testing {

inline const std::filesystem::path kSourceRoot = INSTAR_SOURCE_ROOT;
// ci/setup always installs qemu-utils; the tests use it as a matrix of one.
inline const std::filesystem::path kSystemQemuImg = "/usr/bin/qemu-img";

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "harness-test.XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void WriteText(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

inline std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Every regular file under `root`, by relative path, with its bytes.
inline std::map<std::string, std::string> ReadTree(const std::filesystem::path& root) {
  std::map<std::string, std::string> tree;
  for (const auto& item : std::filesystem::recursive_directory_iterator(root)) {
    if (item.is_regular_file()) {
      tree[std::filesystem::relative(item.path(), root).string()] = ReadText(item.path());
    }
  }
  return tree;
}

// The message of the HarnessError that `action` throws; "(no error)" when
// it throws none.
inline std::string ErrorOf(const std::function<void()>& action) {
  try {
    action();
  } catch (const HarnessError& error) {
    return error.what();
  }
  return "(no error)";
}

}  // namespace instar::harness::testing

#endif  // INSTAR_HARNESS_TESTING_TEST_SUPPORT_H_
