// vireo: an x86-64 virtual machine. `vireo run` (user mode) and `vireo boot` (system mode).
#include <CLI/CLI.hpp>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"

int main(int argc, char** argv) {
  if (argc > 2 && std::strcmp(argv[1], "run") == 0) vireo::cli::run_if_plain(argc, argv);
  CLI::App app{"Vireo: an x86-64 virtual machine"};
  app.require_subcommand(1);
  vireo::cli::add_run_command(app);
  // `vireo run`, which every guest process starts with (and every execve that re-executes
  // vireo), has no use for `boot`'s options: building them was part of each start (issue 22).
  // (`vireo run --help` shows run's options only either way.)
  if (argc < 2 || std::strcmp(argv[1], "run") != 0) vireo::cli::add_boot_command(app);
  // `vireo run [opts] -- PROGRAM ...`: `run` parses in CLI11's prefix mode (the first
  // positional ends option parsing), where a literal "--" would instead turn PROGRAM into an
  // unexpected positional; drop the first "--" after `run`, it means nothing more here. Which
  // options take a value (`--engine jit`, `-d in_asm`) is asked of run's own option table, so an
  // option added later needs no list here.
  std::vector<char*> args(argv, argv + argc);
  if (args.size() > 2 && std::strcmp(args[1], "run") == 0) {
    const CLI::App* run = app.get_subcommand("run");
    for (size_t j = 2; j < args.size(); ++j) {
      if (std::strcmp(args[j], "--") == 0) {
        args.erase(args.begin() + long(j));
        break;
      }
      if (args[j][0] != '-') break;  // PROGRAM: a later "--" is the guest's
      // (`--name=value` and `-dvalue` carry their value)
      const std::string_view arg = args[j];
      const std::string name(arg.starts_with("--") ? arg.substr(0, arg.find('=')) : arg.substr(0, 2));
      const CLI::Option* opt = run->get_option_no_throw(name);
      // (prefix mode would take an unknown option for the program to run)
      if (!opt) return app.exit(CLI::ExtrasError({std::string(arg)}));
      if (name.size() == arg.size() && opt->get_type_size() > 0 && opt->get_expected_min() > 0) ++j;
    }
  }
  CLI11_PARSE(app, int(args.size()), args.data());
  return 0;
}
