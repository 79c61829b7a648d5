// The subcommands of instar-harness, in the manner of kvmtool's builtin-*.c:
// one file each (builtin_<name>.cc), registered in kBuiltins. Each takes the
// arguments after its name (argv[0] is the subcommand) and returns the exit
// status; HarnessError thrown out of one is printed by main().
#ifndef INSTAR_HARNESS_BUILTINS_H_
#define INSTAR_HARNESS_BUILTINS_H_

#include <boost/program_options.hpp>

namespace instar::harness {

struct Builtin {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);
};

int RunCommands(int argc, char** argv);
int RunMatrix(int argc, char** argv);
int RunGenerate(int argc, char** argv);
int RunProfiles(int argc, char** argv);
int RunConform(int argc, char** argv);
int RunMerge(int argc, char** argv);
int RunRepro(int argc, char** argv);
int RunDifffuzz(int argc, char** argv);
int RunReportCommand(int argc, char** argv);  // `report`

// Shared by the builtins: parses argv with Boost.Program_options. Returns
// false when --help was asked for (the help is printed on stdout); a bad
// option throws HarnessError("<name>: <what is wrong>").
bool ParseOptions(const char* name, const char* usage, int argc, char** argv,
                  const boost::program_options::options_description& options,
                  boost::program_options::variables_map& values);
// The same with positional arguments (`merge DIR...`, `repro CASE`): they
// fill the options `positional` names, which --help does not list.
bool ParseOptions(const char* name, const char* usage, int argc, char** argv,
                  const boost::program_options::options_description& options,
                  const boost::program_options::options_description& hidden,
                  const boost::program_options::positional_options_description& positional,
                  boost::program_options::variables_map& values);

}  // namespace instar::harness

#endif  // INSTAR_HARNESS_BUILTINS_H_
