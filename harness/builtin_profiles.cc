// instar-harness profiles: groups the versions of each output type whose
// baselines are equal, writes profiles/ and prints profile -> versions.

#include <cstdio>

#include "harness/builtins.h"
#include "harness/profiles/profiles.h"

namespace instar::harness {

namespace po = boost::program_options;

int RunProfiles(int argc, char** argv) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")("output-type", po::value<std::string>(),
                                                    "only this output type (default: every one)")(
      "baselines", po::value<std::string>()->default_value("baselines"), "baseline tree to read")(
      "out", po::value<std::string>()->default_value("profiles"), "profile tree to write");
  po::variables_map values;
  if (!ParseOptions("profiles",
                    "instar-harness profiles [--output-type T] [--baselines DIR] [--out DIR]", argc,
                    argv, options, values)) {
    return 0;
  }
  const std::string baselines = values["baselines"].as<std::string>();
  const std::string out = values["out"].as<std::string>();
  std::vector<std::string> types;
  if (values.count("output-type") > 0) {
    types.push_back(values["output-type"].as<std::string>());
  } else {
    types = ListOutputTypes(baselines);
  }
  std::vector<OutputTypeProfiles> all;
  for (const auto& type : types) all.push_back(WriteProfiles(baselines, out, type));
  (void)std::fputs(FormatProfileTable(all).c_str(), stdout);
  return 0;
}

}  // namespace instar::harness
