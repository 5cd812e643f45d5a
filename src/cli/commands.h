// The `vireo` subcommands; each file in src/cli/ adds one.
#pragma once

#include <CLI/CLI.hpp>

namespace vireo::cli {

void add_run_command(CLI::App& app);   // run_command.cpp: user mode
void add_boot_command(CLI::App& app);  // boot_command.cpp: system mode
// `vireo run [--] PROGRAM ARGS...` with no option runs PROGRAM without CLI11 (and does not
// return); with options it returns, and CLI11 parses them.
void run_if_without_options(int argc, char** argv);

}  // namespace vireo::cli
