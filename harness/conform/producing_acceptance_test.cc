// Independent acceptance of what instar writes (issue 12 item 5): for every
// case of every producing command instar implements (a command whose
// judged step is the info of what it made: create, dd, resize, amend;
// convert has its own, convert_acceptance_test.cc), instar runs the
// case's steps up to that info, and then every qemu-img of the matrix (the
// system's alone on a clean clone) must accept the file: `qemu-img check`
// finds no errors and no leaks (or says the format has no checks: raw), and
// `qemu-img info --output=json` prints what `instar --compat <its version>
// info --output=json` prints for the same file, byte for byte. Generic over
// formats: a case whose format has no writer in instar yet is counted and
// named, and joins by itself when the writer lands.
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/cases/case_file.h"
#include "harness/cases/commands.h"
#include "harness/cases/manifest.h"
#include "harness/difffuzz/runner.h"
#include "harness/matrix/matrix.h"
#include "harness/run/child.h"
#include "harness/run/normalise.h"
#include "harness/testing/acceptance.h"

namespace instar::harness {
namespace {

namespace fs = std::filesystem;

const fs::path kSourceRoot = INSTAR_SOURCE_ROOT;
const std::string kInstar = INSTAR_BINARY_PATH;

using testing::CheckIsClean;
using testing::RunChild;
using testing::TheMatrix;

TEST(ProducingAcceptanceTest, QemuImgAcceptsWhatInstarWrites) {
  ChildRunner runner;
  const Matrix matrix = TheMatrix(runner);
  ASSERT_FALSE(matrix.entries.empty());
  const Manifest manifest = LoadManifest(kSourceRoot / "cases" / "images" / "manifest.json");
  const fs::path dir =
      fs::temp_directory_path() / ("instar-acceptance-" + std::to_string(::getpid()));
  size_t accepted = 0;  // images every version made and accepted
  size_t checks = 0;    // (image, version) pairs checked
  size_t compared = 0;  // (image, version) pairs compared with qemu-img's own output
  std::vector<std::string> without_writer;
  for (const CommandSpec& command : Commands()) {
    if (!command.implemented() || ReadsImages(command) || command.steps.back() != "info") continue;
    // convert's outputs are judged against their sources, a share of the
    // cases per version (convert_acceptance_test.cc): all of its cases by
    // every version would not fit this test's time.
    if (command.name == "convert") continue;
    const CaseFile file = ParseCaseFile(kSourceRoot / "cases" / (command.name + ".json"), manifest);
    for (const CaseSpec& spec : PlanCases(file, manifest, {command.output_types.front().name})) {
      // Each version's qemu-img judges what instar writes when it behaves
      // as that version (--compat): a release may refuse an option a later
      // one writes (5.2's qcow2 has no zstd), and then reads no such image.
      bool accepted_by_all = true;
      for (const MatrixEntry& qemu : matrix.entries) {
        SCOPED_TRACE(command.name + " " + spec.Id() + " with qemu-img " + qemu.version_text);
        fs::remove_all(dir);
        fs::create_directories(dir);
        const std::string image = (dir / "image").string();
        // Every step but the judged info, with instar.
        bool made = true;
        for (size_t i = 0; i + 1 < spec.steps.size() && made; ++i) {
          std::vector<std::string> args = {"--sandbox=process", "--compat", qemu.version_text};
          for (size_t w = 1; w < spec.steps[i].argv.size(); ++w) {
            args.push_back(testing::ReplaceAll(spec.steps[i].argv[w],
                                               std::string(kFilenamePlaceholder), image));
          }
          const ChildResult r = RunChild(runner, kInstar, args);
          if (r.exit_code != 0) {
            made = false;
            const bool no_writer =
                r.err.find("does not support image creation") != std::string::npos ||
                r.err.find("cannot write guest data") != std::string::npos;
            if (no_writer && (without_writer.empty() || without_writer.back() != spec.Id())) {
              without_writer.push_back(spec.Id());
            }
            // qemu-img may refuse the case too (its baseline says); nothing
            // was made, nothing to accept.
          }
        }
        if (!made) {
          accepted_by_all = false;
          continue;
        }
        const ChildResult check =
            RunChild(runner, qemu.qemu_img, {"check", "--output=json", image});
        std::string why;
        EXPECT_TRUE(CheckIsClean(check, &why)) << why;
        const ChildResult expected =
            RunChild(runner, qemu.qemu_img, {"info", "--output=json", image});
        const ChildResult actual = RunChild(
            runner, kInstar,
            {"--sandbox=process", "--compat", qemu.version_text, "info", "--output=json", image});
        EXPECT_EQ(actual.exit_code, expected.exit_code) << actual.err;
        EXPECT_EQ(actual.out, expected.out);
        ++checks;
        // A copy of guest data: the same steps with qemu-img, and the two
        // outputs must hold the same guest bytes.
        if (spec.steps.size() > 2) {
          const fs::path qemu_dir = dir / "qemu";
          fs::create_directories(qemu_dir);
          const std::string qemu_image = (qemu_dir / "image").string();
          bool qemu_made = true;
          for (size_t i = 0; i + 1 < spec.steps.size() && qemu_made; ++i) {
            std::vector<std::string> args;
            for (size_t w = 1; w < spec.steps[i].argv.size(); ++w) {
              args.push_back(testing::ReplaceAll(spec.steps[i].argv[w],
                                                 std::string(kFilenamePlaceholder), qemu_image));
            }
            qemu_made = RunChild(runner, qemu.qemu_img, args).exit_code == 0;
          }
          EXPECT_TRUE(qemu_made) << "qemu-img failed a case instar ran";
          if (qemu_made) {
            const ChildResult same =
                RunChild(runner, qemu.qemu_img, {"compare", image, qemu_image});
            EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
            EXPECT_EQ(same.out, "Images are identical.\n");
            ++compared;
          }
        }
      }
      if (accepted_by_all) ++accepted;
    }
  }
  fs::remove_all(dir);
  // Some case must have been made: raw has a writer.
  EXPECT_GT(accepted, 0u);
  std::string missing;
  for (const std::string& id : without_writer) missing += " " + id;
  std::cout << "acceptance: " << checks << " images checked, each by the qemu-img of the version"
            << " instar wrote it as (" << compared
            << " of them also compared with that qemu-img's own output); " << accepted
            << " cases accepted by all " << matrix.entries.size()
            << " qemu-img; no writer in instar yet for" << (missing.empty() ? " none" : missing)
            << "\n";
}

}  // namespace
}  // namespace instar::harness
