// vireo: an x86-64 virtual machine. `vireo run` (user mode) and `vireo boot` (system mode).
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.h"

int main(int argc, char** argv) {
  if (argc > 2 && std::strcmp(argv[1], "run") == 0) vireo::cli::run_if_plain(argc, argv);
  vireo::init_iostreams();  // (CLI11 prints help and errors on them: support/lazy_iostreams.h)
  CLI::App app{"Vireo: an x86-64 virtual machine"};
  app.require_subcommand(1);
  std::vector<char*> args(argv, argv + argc);
  const bool run = argc >= 2 && std::strcmp(argv[1], "run") == 0;
  try {
    // (`vireo run`: only the options its command line names, src/cli/run_command.cpp)
    vireo::cli::add_run_command(app, run ? &args : nullptr);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // `vireo run`, which every guest process starts with (and every execve that re-executes
  // vireo), has no use for `boot`'s options: building them was part of each start (issue 22).
  // (`vireo run --help` shows run's options only either way.)
  if (!run) vireo::cli::add_boot_command(app);
  CLI11_PARSE(app, int(args.size()), args.data());
  return 0;
}
