// The initial process stack, laid out exactly as Linux's create_elf_tables() does:
// argc, argv[], NULL, envp[], NULL, auxv pairs, AT_NULL; strings and AT_RANDOM bytes above.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "linux/elf_loader.h"
#include "mem/address_space.h"

namespace vireo {

// Where the initial image put things, for /proc/self/{stat,cmdline,environ,auxv} (procfs.cpp).
// One per Vireo process, as there is one guest program per Vireo process (execve re-executes
// Vireo); set by build_initial_stack().
struct GuestLayout {
  uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
  uint64_t start_stack = 0;             // the initial RSP (argc)
  uint64_t stack_start = 0, stack_end = 0;  // the main stack mapping
  std::vector<uint64_t> auxv;           // the auxiliary vector, AT_NULL pair included
  LoadedElf elf{};
};
const GuestLayout& guest_layout();

// The size of the main stack mapping: RLIMIT_STACK, as Linux lets the stack grow to it.
uint64_t main_stack_size();

// Maps the stack and writes the initial image. Returns the initial RSP.
uint64_t build_initial_stack(AddressSpace& as, const LoadedElf& elf,
                             const std::vector<std::string>& argv,
                             const std::vector<std::string>& envp, const std::string& execfn);

}  // namespace vireo
