#include <iostream>

#include "harness/builtins.h"
#include "harness/core/error.h"

namespace instar::harness {

namespace po = boost::program_options;

bool ParseOptions(const char* name, const char* usage, int argc, char** argv,
                  const po::options_description& options, po::variables_map& values) {
  try {
    po::store(po::command_line_parser(argc, argv).options(options).run(), values);
    po::notify(values);
  } catch (const po::error& error) {
    throw HarnessError(std::string(name) + ": " + error.what() + " (see --help)");
  }
  if (values.count("help") > 0) {
    std::cout << "usage: " << usage << "\n\n" << options;
    return false;
  }
  return true;
}

}  // namespace instar::harness
