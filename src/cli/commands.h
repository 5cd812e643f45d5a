// The `vireo` subcommands; each file in src/cli/ adds one.
#pragma once

#include <CLI/CLI.hpp>

namespace vireo::cli {

void add_run_command(CLI::App& app);   // run_command.cpp: user mode
void add_boot_command(CLI::App& app);  // boot_command.cpp: system mode
// `vireo run [--] PROGRAM ARGS...` without options runs the program without building CLI11's
// option table, and does not return; otherwise it returns, and CLI11 parses the command line
// (issue 22).
void run_if_plain(int argc, char** argv);

}  // namespace vireo::cli
