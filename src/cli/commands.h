// The `vireo` subcommands; each file in src/cli/ adds one.
#pragma once

#include <vector>

#include "cli/cli11.h"

namespace vireo::cli {

// run_command.cpp: user mode. `words`: the command line of a `vireo run`, whose options before
// PROGRAM decide which of run's options CLI11 is given (all of them without `words`); the
// first "--" there is dropped. Throws CLI::ExtrasError for a word there that is no option.
void add_run_command(CLI::App& app, std::vector<char*>* words = nullptr);
void add_boot_command(CLI::App& app);  // boot_command.cpp: system mode
// `vireo run [--] PROGRAM ARGS...` without options runs the program without building CLI11's
// option table, and does not return; otherwise it returns, and CLI11 parses the command line
// (issue 22).
void run_if_plain(int argc, char** argv);

}  // namespace vireo::cli
