// The command table: every qemu-img command this project knows, one line
// each, in the order of `qemu-img --help`. Every list of commands is expanded
// from it: the ABI's Operation numbers (abi.h), the guest's dispatch
// (guest/ops/run_operation.cc), instar's commands (vmm/cli/commands.cc), the
// harness's planner and conform (harness/cases/commands.cc), and through
// `instar-harness commands` the Makefile's baselines and conform targets and
// ci/nightly. docs/commands.md describes it.
//
// The guest includes it, so it is macros and constexpr data only.
//
// INSTAR_COMMAND_TABLE(IMPLEMENTED, BASELINES_ONLY) expands
//
//   IMPLEMENTED(name, Name, operation)  for a command instar runs
//   BASELINES_ONLY(name, Name)          for one the harness records from
//                                       qemu-img that instar does not run yet
//
//   name       the command as typed, and its case file cases/<name>.json
//   Name       the stem of the names of the command's own parts, each in its
//              own file:
//                guest/ops/<name>_operation.cc  Status <Name>Operation(OperationContext&)
//                vmm/cli/builtin_<name>.cc      int Run<Name>Command(...) and
//                                               const char k<Name>Synopsis[]
//                harness/cases/<name>_cases.cc  CommandSpec <Name>Cases()
//              (the first two only for an IMPLEMENTED command)
//   operation  abi::Operation::k<Name>, the number in the OperationConfig
//              and the ResultHeader: ABI, so a number is never reused
//
// One entry per line: harness/CMakeLists.txt reads the IMPLEMENTED lines for
// its conformance tests. Implementing a command moves its line from
// BASELINES_ONLY to IMPLEMENTED with the next free operation number.
#ifndef INSTAR_GUEST_COMMAND_TABLE_H_
#define INSTAR_GUEST_COMMAND_TABLE_H_

#include <cstddef>
#include <cstdint>

#define INSTAR_COMMAND_TABLE(IMPLEMENTED, BASELINES_ONLY) \
  IMPLEMENTED(amend, Amend, 8)                            \
  IMPLEMENTED(check, Check, 4)                            \
  IMPLEMENTED(compare, Compare, 5)                        \
  IMPLEMENTED(convert, Convert, 10)                       \
  IMPLEMENTED(create, Create, 6)                          \
  IMPLEMENTED(dd, Dd, 9)                                  \
  IMPLEMENTED(info, Info, 1)                              \
  IMPLEMENTED(map, Map, 3)                                \
  IMPLEMENTED(measure, Measure, 2)                        \
  IMPLEMENTED(resize, Resize, 7)

// For the kind of entry a use of the table passes over.
#define INSTAR_COMMAND_SKIPPED(...)

namespace instar {

// Operation numbers start at 1.
inline constexpr uint32_t kNoOperation = 0;

// The table as data, for code that wants a plain list.
struct CommandTableEntry {
  const char* name;
  uint32_t operation;  // kNoOperation while instar does not implement the command
};

#define INSTAR_COMMAND_TABLE_ENTRY(name, Name, operation) {#name, operation},
#define INSTAR_COMMAND_TABLE_ENTRY_WITHOUT_OPERATION(name, Name) {#name, kNoOperation},
inline constexpr CommandTableEntry kCommandTable[] = {
    INSTAR_COMMAND_TABLE(INSTAR_COMMAND_TABLE_ENTRY, INSTAR_COMMAND_TABLE_ENTRY_WITHOUT_OPERATION)};
#undef INSTAR_COMMAND_TABLE_ENTRY
#undef INSTAR_COMMAND_TABLE_ENTRY_WITHOUT_OPERATION

inline constexpr size_t kCommandCount = sizeof(kCommandTable) / sizeof(kCommandTable[0]);

namespace command_table_internal {

constexpr bool SameName(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

// No two entries share a name, and no two operations a number.
constexpr bool EntriesAreDistinct() {
  for (size_t i = 0; i < kCommandCount; ++i) {
    for (size_t j = i + 1; j < kCommandCount; ++j) {
      if (SameName(kCommandTable[i].name, kCommandTable[j].name)) return false;
      if (kCommandTable[i].operation != kNoOperation &&
          kCommandTable[i].operation == kCommandTable[j].operation) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace command_table_internal

static_assert(command_table_internal::EntriesAreDistinct(),
              "two commands share a name or an operation number");

}  // namespace instar

#endif  // INSTAR_GUEST_COMMAND_TABLE_H_
