#include <iostream>

#include "harness/builtins.h"
#include "harness/core/error.h"

namespace instar::harness {

namespace po = boost::program_options;

bool ParseOptions(const char* name, const char* usage, int argc, char** argv,
                  const po::options_description& options, po::variables_map& values) {
  return ParseOptions(name, usage, argc, argv, options, po::options_description(),
                      po::positional_options_description(), values);
}

bool ParseOptions(const char* name, const char* usage, int argc, char** argv,
                  const po::options_description& options, const po::options_description& hidden,
                  const po::positional_options_description& positional, po::variables_map& values) {
  po::options_description all;
  all.add(options).add(hidden);
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(),
              values);
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
