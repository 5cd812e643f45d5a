// The `vireo` subcommands; each file in src/cli/ adds one.
#pragma once

#include <CLI/CLI.hpp>

namespace vireo::cli {

void add_run_command(CLI::App& app);   // run_command.cpp: user mode
void add_boot_command(CLI::App& app);  // boot_command.cpp: system mode
// `vireo run` in its plain forms (no option, or the one-word options a re-executing execve
// writes) runs the program without CLI11, and does not return; otherwise it returns, and
// CLI11 parses the command line.
void run_if_plain(int argc, char** argv);

}  // namespace vireo::cli
