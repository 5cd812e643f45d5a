// The initial process stack, laid out exactly as Linux's create_elf_tables() does:
// argc, argv[], NULL, envp[], NULL, auxv pairs, AT_NULL; strings and AT_RANDOM bytes above.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "linux/elf_loader.h"
#include "mem/address_space.h"

namespace vireo {

// The size of the main stack mapping: RLIMIT_STACK, as Linux lets the stack grow to it.
uint64_t main_stack_size();

// Maps the stack and writes the initial image. Returns the initial RSP.
uint64_t build_initial_stack(AddressSpace& as, const LoadedElf& elf,
                             const std::vector<std::string>& argv,
                             const std::vector<std::string>& envp, const std::string& execfn);

}  // namespace vireo
