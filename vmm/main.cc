// instar: a qemu-img compatible disk-image tool whose image parsing happens
// only inside a sandbox.
//
//   instar [--sandbox=kvm|process|emulated] [--compat X.Y.Z] <command> ...
//
// Global options come before the command. --compat picks the qemu-img
// version whose output and messages to reproduce (default: the newest
// known). Exit codes: 0 and 1 as qemu-img; 70-75 for the sandbox's own
// failures (vmm/sandbox/exit_codes.h).
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "instar/engine/version.h"
#include "vmm/cli/cli.h"

namespace instar::vmm {
namespace {

void PrintUsage(const GlobalOptions& global) {
  std::printf(
      "Usage: %s [--sandbox=kvm|process|emulated] [--compat X.Y.Z] COMMAND [ARGS...]\n"
      "\n"
      "A qemu-img compatible disk-image tool: every byte of an image is parsed\n"
      "inside a sandbox (an unprivileged KVM guest where /dev/kvm is usable,\n"
      "else a seccomp-strict helper process).\n"
      "\n"
      "Commands:\n",
      global.argv0.c_str());
  for (const Command& command : Commands()) std::printf("  %s\n", command.synopsis);
  std::printf(
      "\n"
      "  --sandbox=KIND   auto, kvm, process or emulated (default auto: kvm where a\n"
      "                   VM starts, else process; --version says which)\n"
      "  --compat X.Y.Z   behave as this qemu-img version (default %d.%d.%d)\n"
      "  -V, --version    print the version\n"
      "\n"
      "'%s COMMAND --help' describes one command.\n",
      kNewestKnownVersion.major, kNewestKnownVersion.minor, kNewestKnownVersion.micro,
      global.argv0.c_str());
}

// "--name=value" or "--name value"; advances *i past what it used.
bool TakeValue(const std::vector<std::string>& args, size_t* i, const std::string& name,
               std::string* value) {
  const std::string& arg = args[*i];
  if (arg.rfind(name + "=", 0) == 0) {
    *value = arg.substr(name.size() + 1);
    return true;
  }
  if (arg == name && *i + 1 < args.size()) {
    *value = args[++*i];
    return true;
  }
  return false;
}

int Main(int argc, char** argv) {
  GlobalOptions global;
  global.argv0 = argc > 0 && argv[0] != nullptr ? argv[0] : "instar";
  const size_t slash = global.argv0.rfind('/');
  global.program = slash == std::string::npos ? global.argv0 : global.argv0.substr(slash + 1);

  const std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  size_t i = 0;
  for (; i < args.size() && args[i].size() > 1 && args[i][0] == '-'; ++i) {
    const std::string& arg = args[i];
    std::string value;
    if (arg == "-h" || arg == "--help") {
      PrintUsage(global);
      return kExitOk;
    }
    if (arg == "-V" || arg == "--version") {
      std::printf("instar version 0.1.0 (qemu-img %d.%d.%d compatible)\n",
                  kNewestKnownVersion.major, kNewestKnownVersion.minor, kNewestKnownVersion.micro);
      std::printf("sandbox: %s\n", DescribeAutoSandbox().c_str());
      return kExitOk;
    }
    if (TakeValue(args, &i, "--sandbox", &value)) {
      if (value == "auto") {
        global.sandbox.reset();
      } else if (value == "kvm") {
        global.sandbox = SandboxKind::kKvm;
      } else if (value == "process") {
        global.sandbox = SandboxKind::kProcess;
      } else if (value == "emulated") {
        global.sandbox = SandboxKind::kEmulated;
      } else {
        return ReportError(
            global,
            "--sandbox expects 'auto', 'kvm', 'process' or 'emulated', not '" + value + "'");
      }
      continue;
    }
    if (TakeValue(args, &i, "--compat", &value)) {
      const Result<QemuVersion> version = ParseQemuVersion(value.data(), value.size());
      if (!version.ok()) {
        return ReportError(global,
                           "--compat expects a qemu-img version X.Y.Z, not '" + value + "'");
      }
      global.compat = *version;
      continue;
    }
    return ReportError(global,
                       CliError{{"unrecognized option '" + arg + "'"}, {TryHelpLine(global, "")}});
  }
  if (i >= args.size()) {
    return ReportError(global, CliError{{"Not enough arguments"}, {TryHelpLine(global, "")}});
  }
  const std::string& name = args[i];
  for (const Command& command : Commands()) {
    if (name == command.name) {
      return command.run(
          global, std::vector<std::string>(args.begin() + static_cast<long>(i) + 1, args.end()));
    }
  }
  return ReportError(global, CliError{{"Command not found: " + name}, {TryHelpLine(global, "")}});
}

}  // namespace
}  // namespace instar::vmm

int main(int argc, char** argv) {
  try {
    const int code = instar::vmm::Main(argc, argv);
    // A failed fwrite of the output leaves the error flag even when the
    // final flush has nothing left to write.
    if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
      (void)std::fprintf(stderr, "instar: cannot write the output: %s\n", std::strerror(errno));
      return instar::vmm::kExitError;
    }
    return code;
  } catch (const std::exception& e) {
    (void)std::fprintf(stderr, "instar: %s\n", e.what());
    return instar::vmm::kExitError;
  } catch (...) {
    (void)std::fprintf(stderr, "instar: unexpected internal error\n");
    return instar::vmm::kExitError;
  }
}
