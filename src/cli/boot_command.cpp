// Placeholder until system mode lands (owned by the system-mode work).
#include "cli/commands.h"

namespace vireo::cli {
void add_boot_command(CLI::App&) {}
}  // namespace vireo::cli
