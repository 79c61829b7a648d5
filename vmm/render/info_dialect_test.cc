// Where each of info's version rules turns, on both sides of the sandbox.
// The outputs themselves are held to the baselines by conform and by
// vmm/cli/info_baseline_test.cc; this pins the boundaries between the
// versions of the matrix, which the baselines cannot name.
#include "vmm/render/info_dialect.h"

#include <gtest/gtest.h>

#include "instar/engine/info_dialect.h"
#include "vmm/render/cli_dialect.h"

namespace instar::vmm {
namespace {

TEST(InfoDialectTest, TenPrintsTheBlockGraph) {
  for (const QemuVersion& v : {QemuVersion{5, 2, 0}, QemuVersion{7, 2, 22}}) {
    const InfoDialect d = InfoDialectFor(v);
    EXPECT_FALSE(d.json_has_children);
    EXPECT_FALSE(d.prints_child_nodes);
    EXPECT_FALSE(d.hides_empty_format_specific);
    EXPECT_TRUE(CliDialectFor(v).qemu_img_words_getopt_errors);
    EXPECT_FALSE(CliDialectFor(v).error_exit_hint_names_command);
  }
  for (const QemuVersion& v : {QemuVersion{10, 0, 2}, QemuVersion{11, 1, 3}}) {
    const InfoDialect d = InfoDialectFor(v);
    EXPECT_TRUE(d.json_has_children);
    EXPECT_TRUE(d.prints_child_nodes);
    EXPECT_TRUE(d.hides_empty_format_specific);
    EXPECT_FALSE(CliDialectFor(v).qemu_img_words_getopt_errors);
    EXPECT_TRUE(CliDialectFor(v).error_exit_hint_names_command);
  }
}

TEST(InfoDialectTest, SnapshotTablePerFamily) {
  EXPECT_EQ(InfoDialectFor({5, 2, 0}).snapshot_table, SnapshotTableStyle::k52);
  EXPECT_EQ(InfoDialectFor({7, 2, 18}).snapshot_table, SnapshotTableStyle::k72);
  EXPECT_EQ(InfoDialectFor({10, 0, 13}).snapshot_table, SnapshotTableStyle::k100);
  EXPECT_EQ(InfoDialectFor({11, 1, 2}).snapshot_table, SnapshotTableStyle::k100);
}

TEST(InfoDialectTest, ShortBackingChainOptionOnlyInTen) {
  EXPECT_FALSE(InfoDialectFor({7, 2, 22}).short_b_backing_chain);
  EXPECT_TRUE(InfoDialectFor({10, 0, 13}).short_b_backing_chain);
  EXPECT_FALSE(InfoDialectFor({11, 1, 3}).short_b_backing_chain);
}

TEST(InfoOpenDialectTest, DataFileStaysClosedFromEachStableFix) {
  EXPECT_FALSE(InfoOpenDialectFor({5, 2, 0}).no_io_skips_data_file);
  EXPECT_FALSE(InfoOpenDialectFor({7, 2, 12}).no_io_skips_data_file);
  EXPECT_TRUE(InfoOpenDialectFor({7, 2, 13}).no_io_skips_data_file);
  EXPECT_FALSE(InfoOpenDialectFor({8, 2, 5}).no_io_skips_data_file);
  EXPECT_TRUE(InfoOpenDialectFor({8, 2, 6}).no_io_skips_data_file);
  EXPECT_FALSE(InfoOpenDialectFor({9, 0, 1}).no_io_skips_data_file);
  EXPECT_TRUE(InfoOpenDialectFor({9, 0, 2}).no_io_skips_data_file);
  EXPECT_TRUE(InfoOpenDialectFor({9, 1, 0}).no_io_skips_data_file);
}

TEST(InfoOpenDialectTest, SevenReportsDirtyAndRefusesHugeClusters) {
  EXPECT_FALSE(InfoOpenDialectFor({5, 2, 0}).reports_dirty_flag);
  EXPECT_FALSE(InfoOpenDialectFor({5, 2, 0}).refuses_cluster_above_max_alignment);
  EXPECT_TRUE(InfoOpenDialectFor({7, 2, 18}).reports_dirty_flag);
  EXPECT_TRUE(InfoOpenDialectFor({7, 2, 18}).refuses_cluster_above_max_alignment);
  EXPECT_FALSE(InfoOpenDialectFor({9, 0, 2}).no_io_checks_crypto_header);
  EXPECT_TRUE(InfoOpenDialectFor({9, 1, 0}).no_io_checks_crypto_header);
}

// The open dialect is constexpr so the freestanding guest can use it.
static_assert(!InfoOpenDialectFor(QemuVersion{5, 2, 0}).reports_dirty_flag);

TEST(CliDialectTest, WordingPerRelease) {
  EXPECT_EQ(CliDialectFor({7, 2, 22}).try_help, TryHelpStyle::kProgram);
  EXPECT_EQ(CliDialectFor({10, 0, 2}).try_help, TryHelpStyle::kCommandMoreInfo);
  EXPECT_EQ(CliDialectFor({11, 1, 3}).try_help, TryHelpStyle::kCommandMoreInformation);
  EXPECT_EQ(CliDialectFor({5, 2, 0}).output_error, OutputErrorStyle::kMustBeUsed);
  EXPECT_EQ(CliDialectFor({10, 0, 13}).output_error, OutputErrorStyle::kExpectsNot);
  EXPECT_EQ(CliDialectFor({11, 1, 2}).output_error, OutputErrorStyle::kExpectsCommaNot);
  EXPECT_FALSE(CliDialectFor({7, 2, 22}).getopt_names_program);
  EXPECT_TRUE(CliDialectFor({10, 0, 2}).getopt_names_program);
  EXPECT_FALSE(CliDialectFor({5, 2, 0}).file_driver_names_path);
  EXPECT_TRUE(CliDialectFor({7, 2, 18}).file_driver_names_path);
}

}  // namespace
}  // namespace instar::vmm
