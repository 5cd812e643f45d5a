// The `vireo` subcommands; each file in src/cli/ adds one.
#pragma once

#include <CLI/CLI.hpp>

namespace vireo::cli {

void add_run_command(CLI::App& app);   // run_command.cpp: user mode
void add_boot_command(CLI::App& app);  // boot_command.cpp: system mode

}  // namespace vireo::cli
