// vireo: an x86-64 virtual machine. `vireo run` (user mode) and `vireo boot` (system mode).
#include <CLI/CLI.hpp>

#include <cstring>
#include <vector>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Vireo: an x86-64 virtual machine"};
  app.require_subcommand(1);
  vireo::cli::add_run_command(app);
  // `vireo run`, which every guest process starts with (and every execve that re-executes
  // vireo), has no use for `boot`'s options: building them was part of each start (issue 22).
  // (`vireo run --help` shows run's options only either way.)
  if (argc < 2 || std::strcmp(argv[1], "run") != 0) vireo::cli::add_boot_command(app);
  // `vireo run [opts] -- PROGRAM ...`: `run` parses in CLI11's prefix mode (the first
  // positional ends option parsing), where a literal "--" would instead turn PROGRAM into an
  // unexpected positional; drop the first "--" after `run`, it means nothing more here.
  std::vector<char*> args(argv, argv + argc);
  for (size_t i = 1; i + 1 < args.size(); ++i) {
    if (std::strcmp(args[i], "run") != 0) continue;
    for (size_t j = i + 1; j < args.size(); ++j) {
      if (std::strcmp(args[j], "--") == 0) {
        args.erase(args.begin() + long(j));
        break;
      }
      bool takes_value = !std::strcmp(args[j], "-E") || !std::strcmp(args[j], "-U") ||
                         !std::strcmp(args[j], "--engine") || !std::strcmp(args[j], "--argv0") ||
                         !std::strcmp(args[j], "--tc-size") || !std::strcmp(args[j], "-d") ||
                         !std::strcmp(args[j], "-D") || !std::strcmp(args[j], "--translate-after");
      if (takes_value) ++j;
      else if (args[j][0] != '-') break;  // PROGRAM: a later "--" is the guest's
    }
    break;
  }
  CLI11_PARSE(app, int(args.size()), args.data());
  return 0;
}
