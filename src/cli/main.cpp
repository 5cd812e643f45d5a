// vireo: an x86-64 virtual machine. `vireo run` (user mode) and `vireo boot` (system mode).
#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Vireo: an x86-64 virtual machine"};
  app.require_subcommand(1);
  vireo::cli::add_run_command(app);
  vireo::cli::add_boot_command(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
